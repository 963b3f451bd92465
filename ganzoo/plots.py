"""Pictures a run writes: sample grids and loss curves, as PNG bytes for an atomic write."""

from __future__ import annotations

import io
import math
from typing import Sequence

import torch
from PIL import Image


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return images.detach().float().add(1.0).div(2.0).clamp(0.0, 1.0)


def image_grid_png(images: torch.Tensor, nrow: int | None = None) -> bytes:
    """Images in [-1, 1], (N, C, H, W), as one PNG grid (``nrow`` images per row, default square)."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    grid = make_grid(to_unit(images).cpu(), nrow=nrow, padding=2, pad_value=1.0)
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        array = array[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def loss_curve_png(history: Sequence[dict], title: str = "") -> bytes:
    """One line per loss key in the metrics history (keys starting with 'loss'), against the step."""
    from matplotlib.figure import Figure  # a Figure, not pyplot: the user's backend and open figures are left alone

    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot()
    keys = sorted({k for row in history for k in row if k.startswith("loss")})
    for key in keys:
        pts = [(row["step"], row[key]) for row in history if key in row]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], label=key)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    if keys:
        ax.legend(loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def points_png(samples: torch.Tensor, real: torch.Tensor, title: str = "") -> bytes:
    """Generated 2-D points over real ones: which modes are covered, and how tightly."""
    from matplotlib.figure import Figure  # a Figure, not pyplot: the user's backend and open figures are left alone

    fig = Figure(figsize=(5, 5), dpi=100)
    ax = fig.add_subplot()
    r, s = real.detach().float().cpu(), samples.detach().float().cpu()
    ax.scatter(r[:, 0], r[:, 1], s=4, c="#bbbbbb", label="real")
    ax.scatter(s[:, 0], s[:, 1], s=6, c="#d62728", alpha=0.7, label="generated")
    lo = torch.minimum(r.min(0).values, torch.tensor([-1.5, -1.5])) - 0.5
    hi = torch.maximum(r.max(0).values, torch.tensor([1.5, 1.5])) + 0.5
    ax.set_xlim(lo[0].item(), hi[0].item())
    ax.set_ylim(lo[1].item(), hi[1].item())
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
