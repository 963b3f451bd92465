"""Super-resolution scoring: PSNR and SSIM on the Y channel, beside bicubic upscaling.

SR papers differ in how they score, so the convention is stated in every result: images are
cropped to a multiple of the scale; LR inputs are made by the same bicubic x1/scale (antialiased)
that training uses and stored as 8-bit; scores are computed on the luma Y of ITU-R BT.601 in
[16, 235] (MATLAB's rgb2ycbcr, as the SRGAN/EDSR evaluation code) with ``scale`` pixels cropped
from each border; PSNR with peak 255, SSIM as Wang et al. 2004 (Gaussian window sigma 1.5,
population covariances), both from scikit-image's reference implementations.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CONVENTION = ("Y channel (BT.601, [16, 235]), border of `scale` px cropped, 8-bit LR from antialiased bicubic x1/scale, "
              "PSNR peak 255, SSIM Gaussian sigma 1.5 (skimage); psnr_rgb*: PSNR over the three RGB channels "
              "instead of Y, same crop and peak (colour errors that Y hides count there)")


def bicubic_downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, H, W) in [-1, 1] -> bicubic x1/scale with antialiasing (as PIL and MATLAB's imresize)."""
    h, w = hr.shape[-2] // scale, hr.shape[-1] // scale
    return F.interpolate(hr, size=(h, w), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    return F.interpolate(lr, scale_factor=scale, mode="bicubic", align_corners=False).clamp(-1, 1)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """uint8 or [0, 255] float (3, H, W) -> Y in [16, 235] as float64 (BT.601, MATLAB rgb2ycbcr)."""
    r, g, b = rgb.double() / 255
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def psnr_ssim_y(output: torch.Tensor, reference: torch.Tensor, border: int) -> tuple[float, float]:
    """PSNR (dB) and SSIM of two uint8 (3, H, W) images on Y, ``border`` pixels cropped."""
    import numpy as np
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    a, b = luma(output), luma(reference)
    if border:
        a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    an, bn = a.numpy(), b.numpy()
    with np.errstate(divide="ignore"):  # identical images: PSNR is +inf, not a warning
        psnr = peak_signal_noise_ratio(bn, an, data_range=255)
    ssim = structural_similarity(bn, an, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return float(psnr), float(ssim)


def psnr_rgb(output: torch.Tensor, reference: torch.Tensor, border: int) -> float:
    """PSNR (dB, peak 255) of two uint8 (3, H, W) images over all three channels, ``border`` cropped."""
    a, b = output.double(), reference.double()
    if border:
        a, b = a[:, border:-border, border:-border], b[:, border:-border, border:-border]
    mse = (a - b).pow(2).mean().item()
    return float("inf") if mse == 0 else 10 * torch.log10(torch.tensor(255.0**2 / mse)).item()


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> uint8, rounded as an image file would store it."""
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


@torch.no_grad()
def upscaled(model, img: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(hr, sr, bicubic), uint8 (3, H, W): a whole uint8 image cropped to a multiple of ``scale``, and
    its bicubic downscale (stored as uint8, as a low-resolution file would be) upscaled back by the
    model and by bicubic."""
    h, w = img.shape[-2] - img.shape[-2] % scale, img.shape[-1] - img.shape[-1] % scale
    hr = img[:, :h, :w]
    lr = to_uint8(bicubic_downscale(hr[None].float() / 127.5 - 1, scale))[0]
    sr = (model.upscale(lr.float() / 255) * 255).round().to(torch.uint8).cpu()
    return hr, sr, to_uint8(bicubic_upscale(lr[None].float() / 127.5 - 1, scale))[0]


@torch.no_grad()
def score(model, images: list[torch.Tensor], scale: int) -> dict[str, float]:
    """Mean PSNR/SSIM of ``model.upscale`` and of bicubic over whole uint8 (3, H, W) images, with
    each one's sample std over the images (``KEY_std``): a gain read beside how much it varies."""
    rows = []
    for img in images:
        hr, sr, bicubic = upscaled(model, img, scale)
        rows.append((*psnr_ssim_y(sr, hr, scale), *psnr_ssim_y(bicubic, hr, scale), psnr_rgb(sr, hr, scale), psnr_rgb(bicubic, hr, scale)))
    t = torch.tensor([(*r, r[0] - r[2], r[1] - r[3], r[4] - r[5]) for r in rows], dtype=torch.float64)
    names = ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic", "psnr_rgb", "psnr_rgb_bicubic", "psnr_gain", "ssim_gain", "psnr_rgb_gain")
    out = {}
    for i, name in enumerate(names):  # mean over the images, and the spread between them
        out[name] = t[:, i].mean().item()
        if len(rows) > 1:
            out[f"{name}_std"] = t[:, i].std().item()
    return {**out, "images": float(len(rows))}
