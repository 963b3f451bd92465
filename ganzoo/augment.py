"""DiffAugment (Zhao, Liu, Lin, Zhu & Han, "Differentiable Augmentation for Data-Efficient GAN
Training", NeurIPS 2020, arXiv 2006.10738): random colour, translation and cutout transforms applied
to every image the discriminator sees, real and fake alike, and differentiable, so G learns through
them. On small datasets (ganzoo's 1,797 embedded digits) D otherwise memorises the real images and
G's samples degrade; with the same transforms on both sides D cannot tell real from fake by the
transforms, and G is never pushed to produce them.

The transforms and their ranges are the paper's (its reference DiffAugment_pytorch.py):
- color: brightness + U(-0.5, 0.5), saturation x U(0, 2) around the per-pixel channel mean,
  contrast x U(0.5, 1.5) around the image mean;
- translation: an integer shift of up to 1/8 of the side along each axis, zero-filled;
- cutout: a zeroed square of half the side at a uniformly random centre.
Each image of the batch draws its own parameters from the global RNG, which the trainer seeds, so
a run stays reproducible. Images are in [-1, 1], so zero-fill is mid-grey, as in the reference.

`recolor` is not DiffAugment: a random colour remapping (channels permuted, each channel inverted at
random, then DiffAugment's colour transform) for losses that must not depend on an image's colours,
such as CycleGAN's cycle back from a domain whose images come in every colour (see `recolor`).
"""

from __future__ import annotations

import torch

POLICIES = ("color", "translation", "cutout")


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], image_channels: int | None = None) -> torch.Tensor:
    """``x`` (B, C, H, W) with ``policy``'s transforms applied, in the paper's order (color,
    translation, cutout). Colour transforms touch only the first ``image_channels`` channels (all by
    default): the rest (a conditional D's label planes) move with the spatial transforms only, so
    they stay aligned with their image."""
    unknown = [p for p in policy if p not in POLICIES]
    if unknown:
        raise ValueError(f"unknown DiffAugment policy {unknown[0]!r} (known: {', '.join(POLICIES)})")
    if x.ndim != 4:
        raise ValueError(f"DiffAugment takes image batches (B, C, H, W), got shape {tuple(x.shape)}")
    if "color" in policy:
        c = x.shape[1] if image_channels is None else image_channels
        x = torch.cat([_color(x[:, :c]), x[:, c:]], dim=1) if c < x.shape[1] else _color(x)
    if "translation" in policy:
        x = _translation(x)
    if "cutout" in policy:
        x = _cutout(x)
    return x


def _uniform(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device)


def _color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_uniform(x) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x) * 2) + mean  # saturation (a no-op on one channel, as in the reference)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x) + 0.5) + mean  # contrast


def _translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Each image shifted by its own (dy, dx), |d| <= ratio * side, zero-filled, as two batched
    products with one-hot shift matrices: out[i, k] = x[i + dy, k + dx]. Exact (ones and zeros), no
    Python loop over the batch, and its backward is a matmul too, so it stays bit-reproducible (an
    indexing gather's backward accumulates in an order that need not be)."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (b, 1, 1), device=x.device)
    rows, cols = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    shift_y = (rows.view(1, 1, h) == rows.view(1, h, 1) + dy).to(x.dtype)  # [b, i, j] = 1 where j = i + dy
    shift_x = (cols.view(1, 1, w) == cols.view(1, w, 1) + dx).to(x.dtype)  # [b, k, l] = 1 where l = k + dx
    return shift_y.unsqueeze(1) @ x @ shift_x.transpose(1, 2).unsqueeze(1)


def _cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), device=x.device)  # the square's centre
    cx = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= cy - ch // 2) & (rows < cy - ch // 2 + ch) & (cols >= cx - cw // 2) & (cols < cx - cw // 2 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def recolor(x: torch.Tensor) -> torch.Tensor:
    """``x`` (B, C, H, W) in [-1, 1] with each image's colours remapped at random: its channels in
    a random order, each channel inverted (negated) with probability 1/2, then DiffAugment's colour
    transform (brightness, saturation, contrast). Shapes stay where they are; only colours change.

    Why: a translator trained to undo another's output (CycleGAN's A -> B -> A) learns to read that
    output's one colour scheme, and fails on real images of B in other colours (on digits-m the
    shipped G_ba reads 99.8 % of G_ab's digits but 3 % once their channels are permuted). Undoing
    every recolouring of G_ab(a) asks it to read the shape. Each image draws from the global RNG,
    which the trainer seeds; differentiable, so G_ab learns through it."""
    if x.ndim != 4:
        raise ValueError(f"recolor takes image batches (B, C, H, W), got shape {tuple(x.shape)}")
    b, c = x.shape[:2]
    order = torch.rand(b, c, device=x.device).argsort(dim=1)  # a uniform random permutation per image
    x = x.gather(1, order.view(b, c, 1, 1).expand_as(x))
    sign = torch.where(torch.rand(b, c, 1, 1, device=x.device) < 0.5, -1.0, 1.0).to(x.dtype)
    return _color(x * sign)
