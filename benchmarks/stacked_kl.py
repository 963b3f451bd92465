"""Where a stacked-digits model's KL comes from: malformed channels the judges misread, or digits G draws unevenly.

    python benchmarks/stacked_kl.py [dcgan-stacked-digits | EXPORT_DIR | LABEL=EXPORT_DIR ...]

The modes metric (modes-stacked-digits-n26000 and its LeNet twin) reads every channel of 26,000
samples with a digit judge; most of its triple KL is kl_digits, the three channels' digit
frequencies against the data's. A channel the judge cannot read confidently still gets a digit
(its argmax), so one reading of a high kl_digits is malformed channels piling up on the digits
they look least unlike; the other is G drawing some digits too often. This splits the channel
readings by legibility (softmax >= 0.9, the legibility metric's bar) and scores kl_digits on each
part, beside fresh real triples' legible readings, and lists the digits each part lands on: if the
legible readings are as skewed as the rest, G itself draws the digits unevenly. Same samples
(Model.generate(26000, seed=0)), judges and reference histogram as the metric. Writes
benchmarks/results/stacked_kl.md.
"""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

import torch

import ganzoo
from ganzoo._io import atomic_write_text
from ganzoo._plugins import registry
from ganzoo.data import load_data
from ganzoo.data.synthetic import SEED, stacked_digits
from ganzoo.eval import math as M
from ganzoo.eval.builtin import LEGIBLE  # the legibility bar and sample count the metrics use
from ganzoo.eval.builtin import STACKED_N as N
from ganzoo.eval.digits_cnn import LENET_WEIGHTS, WEIGHTS, load

RESULTS = Path(__file__).parent / "results" / "stacked_kl.md"
JUDGES = {"digits CNN": WEIGHTS, "LeNet": LENET_WEIGHTS}


@torch.no_grad()
def read(judge, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3, H, W) in [-1, 1] -> the digit read in each channel and whether it was read legibly, both (N, 3)."""
    probs = torch.stack([torch.cat([judge(x[i : i + 1000, c : c + 1]).softmax(1) for i in range(0, len(x), 1000)]) for c in range(3)], 1)
    return probs.argmax(2), probs.amax(2) >= LEGIBLE


def kl_digits(digits: torch.Tensor, legible: torch.Tensor, which: bool | None, reference: list[torch.Tensor]) -> float:
    """The metric's kl_digits (the three channels' digit-frequency KLs, summed) over the channel
    readings that were legible (which=True), not legible (False), or all of them (None)."""
    return sum(M.histogram_kl(torch.bincount(digits[:, c][legible[:, c] == which if which is not None else slice(None)], minlength=10),
                              reference[c]) for c in range(3))


def measure(name: str) -> list[tuple]:
    """Per judge: (judge, share of channels legible, kl_digits over all / legible / illegible readings,
    the same over legible fresh real readings, the three digits illegible readings land on most)."""
    model = ganzoo.load(name)
    fake = model.generate(N, seed=0).float().cpu()
    data = load_data("stacked-digits", ganzoo.DataRequest(size=fake.shape[-1], channels=3), registry().datasets)
    truth = data.y.cpu()
    reference = [torch.bincount(truth // 10 ** (2 - c) % 10, minlength=10).double() for c in range(3)]
    fresh = stacked_digits(ganzoo.DataRequest(size=fake.shape[-1], channels=1), n=N, seed=SEED + 1)
    real = fresh.as_model_input(fresh.x).cpu()
    rows = []
    for label, weights in JUDGES.items():
        judge = load("cpu", weights)
        digits, legible = read(judge, fake)
        real_digits, real_legible = read(judge, real)
        shares = torch.bincount(digits[~legible], minlength=10).double() / max(int((~legible).sum()), 1)
        top = ", ".join(f"{d} ({shares[d]:.0%})" for d in shares.argsort(descending=True)[:3].tolist())
        drawn = torch.bincount(digits[legible], minlength=10).double() / max(int(legible.sum()), 1)
        order = drawn.argsort().tolist()
        skew = "most " + ", ".join(f"{d} ({drawn[d]:.0%})" for d in order[::-1][:3]) + "; least " + ", ".join(f"{d} ({drawn[d]:.0%})" for d in order[:3])
        rows.append((label, legible.double().mean().item(), kl_digits(digits, legible, None, reference),
                     kl_digits(digits, legible, True, reference), kl_digits(digits, legible, False, reference),
                     kl_digits(real_digits, real_legible, True, reference), top, skew))
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["dcgan-stacked-digits"], help="pretrained names or export folders, each optionally LABEL=...")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    lines = ["# Where the stacked-digits KL comes from", "",
             "Written by `python benchmarks/stacked_kl.py " + shlex.join(args.models) + "`. " + " ".join(__doc__.split("\n\n")[2].split()), "",
             "| model | judge | channels legible | kl_digits, all readings | legible readings | the rest | legible real readings | the rest read as | legible readings, by digit |",
             "|---|---|---|---|---|---|---|---|---|"]
    for model in args.models:
        label, _, name = model.rpartition("=")
        for judge, share, all_, good, bad, floor, top, skew in measure(name):
            row = f"| {label or f'`{name}`'} | {judge} | {share:.1%} | {all_:.3f} | {good:.3f} | {bad:.3f} | {floor:.3f} | {top} | {skew} |"
            print(row)
            lines.append(row)
    atomic_write_text(RESULTS, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
