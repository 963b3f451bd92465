"""How much periodic texture a super-resolution model paints on the held-out photos: the hatching a person sees.

    python benchmarks/sr_artifacts.py [srgan-photos | EXPORT_DIR | LABEL=EXPORT_DIR ...]

PSNR does not see it: a x4 stack of two PixelShuffle(2) stages can repeat a pattern every 2 or 4
output pixels, which shows on flat areas as a grid or diagonal hatching. This takes each held-out
photo (the `photos` dataset's, as `sr-psnr-ssim-y-heldout` scores them), downscales it by bicubic,
upscales it with the model and with bicubic (uint8, as the metric scores them), and measures the residual r = SR - bicubic (mean over
RGB): the share of r's power (|FFT|^2, its mean removed) at the frequencies (k/4, j/4) cycles per
pixel, k, j in 0..3 and not both 0 — 15 of the image's H x W frequency bins. A residual without a
period-2 or period-4 pattern puts about 15 / (H x W) of its power there (0.005 % at 512 x 512).
Writes benchmarks/results/sr_artifacts.md.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import torch

import ganzoo
from ganzoo._io import atomic_write_text
from ganzoo._plugins import registry
from ganzoo.data import load_data
from ganzoo.data.photos import HELD_OUT
from ganzoo.eval.sr import upscaled

RESULTS = Path(__file__).parent / "results" / "sr_artifacts.md"


def periodic_share(residual: torch.Tensor, period: int = 4) -> float:
    """Share of a 2-D residual's power at the multiples of 1/period cycles per pixel (DC excluded)."""
    power = torch.fft.fft2(residual - residual.mean()).abs() ** 2
    h, w = power.shape
    mask = torch.zeros_like(power, dtype=torch.bool)
    for k in range(period):
        for j in range(period):
            if k or j:
                mask[round(k * h / period) % h, round(j * w / period) % w] = True
    return (power[mask].sum() / power.sum()).item()


@torch.no_grad()
def shares(name: str) -> list[float]:
    model = ganzoo.load(name)
    scale = type(model.variant).scale
    if not scale:
        sys.exit(f"sr_artifacts: {name} does not upscale images")
    data = load_data("photos", ganzoo.DataRequest(size=96, channels=3, crop=True), registry().datasets)
    out = []
    for img in data.held_out:
        _, sr, bicubic = upscaled(model, img, scale)  # as sr-psnr-ssim-y-heldout makes them
        out.append(periodic_share((sr.float() - bicubic.float()).mean(0)))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", default=["srgan-photos"], help="pretrained names or export folders, each optionally LABEL=...")
    args = parser.parse_args(argv)
    names = [f[1] for f in HELD_OUT]
    lines = ["# Periodic texture of the super-resolution models", "",
             "Written by `python benchmarks/sr_artifacts.py " + shlex.join(args.models) + "`. " + __doc__.split("\n\n")[2].replace("\n", " "),
             "", "| model | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for model in args.models:
        label, _, name = model.rpartition("=")
        values = shares(name)
        print(label or name, [f"{100 * v:.3f} %" for v in values])
        lines.append(f"| {label or f'`{name}`'} | " + " | ".join(f"{100 * v:.3f} %" for v in values) + " |")
    atomic_write_text(RESULTS, "\n".join(lines) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
