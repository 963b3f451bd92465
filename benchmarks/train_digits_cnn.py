"""Train the offline digit classifiers that ship in ganzoo/eval/weights/.

    python benchmarks/train_digits_cnn.py                    # digits-cnn.safetensors (handwritten)
    python benchmarks/train_digits_cnn.py --domain typeset   # typeset-cnn.safetensors (CycleGAN's domain B judge)
    python benchmarks/train_digits_cnn.py --domain digits-m  # digits-m-cnn.safetensors (domain B of digits-m, colour)
    python benchmarks/train_digits_cnn.py --arch lenet       # digits-lenet.safetensors (the second handwritten judge)

Deterministic on CPU for its seed: the same command gives the same bytes. The handwritten network
trains on the first 80 % of a fixed permutation of scikit-learn's digits (at 32x32, as every
variant sees them), with +-2 pixel shifts as augmentation; the accuracy is measured on the
held-out 20 %. The typeset network trains on digits-typeset's domain B plus 6,000 more rendered
digits, and is tested on 2,000 digits rendered with another seed. The digits-m network trains on
the handwritten network's training digits, each blended with 4 sets of photo crops (seeds other
than the dataset's), and is tested on the held-out digits with the dataset's own crops. The second
handwritten judge (--arch lenet) is another architecture trained from another seed on the same split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save

from ganzoo import DataRequest
from ganzoo._io import atomic_write_bytes
from ganzoo.data import load_data
from ganzoo._plugins import registry
from ganzoo.data.typeset import SEED as TYPESET_SEED
from ganzoo.data.typeset import render
from ganzoo.data.digits_m import SEED as DIGITS_M_SEED
from ganzoo.data.digits_m import blend
from ganzoo.eval.digits_cnn import ARCHS, DIGITS_M_WEIGHTS, LENET_WEIGHTS, TYPESET_WEIGHTS, WEIGHTS, held_out_split

SEED, EPOCHS, BATCH, LR = 0, 40, 64, 1e-3
SEED_LENET = 1  # the second judge starts from other weights and sees other batches, not only another architecture
FOLDER = Path(__file__).resolve().parents[1] / "ganzoo" / "eval" / "weights"


def shifted(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random shifts of up to 2 pixels (pad with -1 = background, crop back)."""
    padded = F.pad(x, (2, 2, 2, 2), value=-1.0)
    dx, dy = torch.randint(0, 5, (2,), generator=g).tolist()
    return padded[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def data(domain: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x, y, train indices, held-out indices), images in [-1, 1] at 32x32."""
    if domain == "handwritten":
        d = load_data("digits", DataRequest(size=32, channels=1), registry().datasets)
        x, y = d.as_model_input(d.x), d.y
        return x, y, *held_out_split(len(x))
    if domain == "digits-m":
        d = load_data("digits", DataRequest(size=32, channels=1), registry().datasets)
        train, test = held_out_split(len(d.x))
        parts = [blend(d.x[train], DIGITS_M_SEED + 1 + k) for k in range(4)] + [blend(d.x, DIGITS_M_SEED)[test]]
        x = torch.cat(parts).float().div(127.5).sub(1)
        y = torch.cat([d.y[train]] * 4 + [d.y[test]])
        return x, y, torch.arange(4 * len(train)), torch.arange(4 * len(train), len(x))
    parts = [render(2000, TYPESET_SEED), render(6000, TYPESET_SEED + 1), render(2000, TYPESET_SEED + 2)]  # the last is held out
    x = torch.cat([p[0] for p in parts]).float().div(127.5).sub(1)
    y = torch.cat([p[1] for p in parts])
    return x, y, torch.arange(8000), torch.arange(8000, 10000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--domain", choices=["handwritten", "typeset", "digits-m"], default="handwritten")
    parser.add_argument("--arch", choices=sorted(ARCHS), default="digits-cnn", help="the network (lenet: the second handwritten judge)")
    args = parser.parse_args()
    if args.arch == "lenet" and args.domain != "handwritten":
        parser.error("--arch lenet is the second judge of handwritten digits only")
    out = FOLDER / ({"handwritten": WEIGHTS, "typeset": TYPESET_WEIGHTS, "digits-m": DIGITS_M_WEIGHTS}[args.domain] if args.arch == "digits-cnn" else LENET_WEIGHTS)
    seed = SEED if args.arch == "digits-cnn" else SEED_LENET
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    x, y, train_idx, test_idx = data(args.domain)
    net = ARCHS[args.arch](channels=3 if args.domain == "digits-m" else 1)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    g = torch.Generator().manual_seed(seed)
    t0 = time.time()
    for _epoch in range(EPOCHS):
        perm = train_idx[torch.randperm(len(train_idx), generator=g)]
        for i in range(0, len(perm), BATCH):
            idx = perm[i : i + BATCH]
            loss = F.cross_entropy(net(shifted(x[idx], g)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x[test_idx]).argmax(1) == y[test_idx]).float().mean().item()
    meta = {
        "held_out_accuracy": round(accuracy, 4),
        "held_out_samples": len(test_idx),
        "train_samples": len(train_idx),
        "arch": args.arch,
        "recipe": {"seed": seed, "epochs": EPOCHS, "batch_size": BATCH, "lr": LR, "optimizer": "Adam", "augmentation": "shift +-2 px"},
        "command": "python benchmarks/train_digits_cnn.py" + ("" if args.domain == "handwritten" else f" --domain {args.domain}")
                   + ("" if args.arch == "digits-cnn" else f" --arch {args.arch}"),
    }
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    atomic_write_bytes(out, save(state, metadata={"ganzoo": json.dumps(meta, sort_keys=True)}))
    print(f"held-out accuracy {accuracy:.4f} on {len(test_idx)} digits; {time.time() - t0:.0f} s; wrote {out}")
    return 0 if accuracy >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
