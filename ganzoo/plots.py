"""Pictures a run writes: sample grids and loss curves, as PNG bytes for an atomic write."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import torch
from PIL import Image


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1]."""
    return images.detach().float().add(1.0).div(2.0).clamp(0.0, 1.0)


def image_grid_png(images: torch.Tensor, nrow: int | None = None, row_labels: Sequence[str] | None = None) -> bytes:
    """Images in [-1, 1], (N, C, H, W), as one PNG grid (``nrow`` images per row, default square);
    ``row_labels`` (a class name per row) are written in a margin on the left."""
    from torchvision.utils import make_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    grid = make_grid(to_unit(images).cpu(), nrow=nrow, padding=2, pad_value=1.0)
    array = grid.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        array = array[:, :, 0]
    image = Image.fromarray(array)
    if row_labels:
        image = _label_rows(image, row_labels, images.shape[-2] + 2)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _label_rows(grid: Image.Image, labels: Sequence[str], row_height: int, padding: int = 2) -> Image.Image:
    """``grid`` with a white margin on the left holding ``labels[i]`` level with row i."""
    from PIL import ImageDraw, ImageFont

    size = max(8, min(14, row_height - 6))
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: the bitmap font, one size
        font = ImageFont.load_default()
    texts = [str(t)[:24] for t in labels]
    probe = ImageDraw.Draw(grid)
    margin = 6 + max(int(probe.textlength(t, font=font)) for t in texts)
    out = Image.new(grid.mode, (grid.width + margin, grid.height), 255 if grid.mode == "L" else (255, 255, 255))
    out.paste(grid, (margin, 0))
    draw = ImageDraw.Draw(out)
    for i, text in enumerate(texts):
        top = padding + i * row_height + row_height // 2
        draw.text((margin - 4, top), text, fill=0 if out.mode == "L" else (0, 0, 0), font=font, anchor="rm")
    return out


# Pillow refuses to open images beyond twice this as decompression bombs and warns beyond it; a
# grid a viewer cannot open is no use, so sample grids stay within it.
MAX_GRID_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def grid_geometry(n: int, shape: tuple[int, ...], nrow: int | None = None, padding: int = 2) -> tuple[int, int, int, int]:
    """(columns, rows, height, width) in pixels of make_grid's layout for ``n`` images of ``shape`` (C, H, W)."""
    cols = min(nrow or max(1, math.ceil(math.sqrt(n))), n)
    rows = math.ceil(n / cols)
    return cols, rows, rows * (shape[1] + padding) + padding, cols * (shape[2] + padding) + padding


def auto_scale(shape: tuple[int, ...], least: int = 24) -> int:
    """The whole-number enlargement that shows images of ``shape`` at least ``least`` pixels tall."""
    return max(1, math.ceil(least / max(1, min(shape[1], shape[2]))))


def streamed_grid(batches, n: int, shape: tuple[int, ...], nrow: int | None = None, padding: int = 2,
                  row_labels: Sequence[str] | None = None, scale: int = 1) -> Image.Image:
    """The grid ``image_grid_png`` draws of ``n`` images, built from ``batches`` (an iterable of
    [-1, 1] tensors) one at a time into a uint8 canvas: memory is the grid's, not the samples'.
    ``scale`` enlarges each image that many times, pixels kept square (nearest neighbour)."""
    shape = (shape[0], shape[1] * scale, shape[2] * scale)
    cols, _, height, width = grid_geometry(n, shape, nrow, padding)
    if height * width > MAX_GRID_PIXELS:
        raise ValueError(f"a grid of {n:,} images of {shape[2]}x{shape[1]} would be {width:,}x{height:,} pixels, more than the "
                         f"{MAX_GRID_PIXELS:,} image viewers open")
    canvas = torch.full((height, width, 3), 255, dtype=torch.uint8)
    i = 0
    for batch in batches:
        unit = to_unit(batch).cpu().mul_(255).round_().to(torch.uint8)
        if unit.shape[1] == 1:
            unit = unit.expand(-1, 3, -1, -1)  # as make_grid: greyscale grids are saved as RGB
        if scale > 1:
            unit = unit.repeat_interleave(scale, dim=2).repeat_interleave(scale, dim=3)
        for image in unit:
            r, c = divmod(i, cols)
            top, left = r * (shape[1] + padding) + padding, c * (shape[2] + padding) + padding
            canvas[top : top + shape[1], left : left + shape[2]] = image.permute(1, 2, 0)
            i += 1
    image = Image.fromarray(canvas.numpy())
    del canvas
    return _label_rows(image, row_labels, shape[1] + padding, padding) if row_labels else image


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
    # below the axes, where it hides no mode (inside, any corner can be one: grid25 has all four)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, frameon=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
