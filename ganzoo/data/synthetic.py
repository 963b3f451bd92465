"""The mode-collapse benchmarks: 2-D Gaussian mixtures and stacked digits.

ring8 and grid25 follow the PacGAN protocol exactly (Lin et al. 2018, Section 5.1, after VEEGAN):
8 Gaussians with means on the unit circle and sigma 0.01, or 25 with means on {-4,-2,0,2,4}^2 and
sigma 0.05, 100,000 training samples. stacked-digits is the Stacked MNIST analogue (Metz et al.
2017; Srivastava et al. 2017; Lin et al. 2018) on the embedded digits: three digits drawn
independently, one per colour channel, so the data has 1,000 modes.
"""

from __future__ import annotations

import math

import torch

from .memory import InMemoryData
from .types import DataRequest

SAMPLES = 100_000  # PacGAN's training-set size for the 2-D mixtures
SEED = 2018  # the data are the same for everyone: seeded independently of the training seed


def ring8_means() -> torch.Tensor:
    # 2*pi*k/8 for k = 0..7. Not linspace(0, 2*pi, 8): that repeats angle 0 as 2*pi (7 modes).
    angles = 2 * math.pi * torch.arange(8, dtype=torch.float64) / 8
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def grid25_means() -> torch.Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis)


MIXTURES = {"ring8": (ring8_means, 0.01), "grid25": (grid25_means, 0.05)}


def gaussian_mixture(name: str, n: int = SAMPLES, seed: int = SEED) -> InMemoryData:
    """n points drawn uniformly over the mixture's modes; labels are the mode index."""
    means_fn, sigma = MIXTURES[name]
    means = means_fn()
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, len(means), (n,), generator=g)
    x = means[y] + sigma * torch.randn(n, 2, generator=g)
    return InMemoryData(name, x, y, len(means), kind="points")


def load_mixture(name: str, request: DataRequest) -> InMemoryData:
    return gaussian_mixture(name)


def stacked_digits(request: DataRequest, n: int = 50_000, seed: int = SEED) -> InMemoryData:
    """n 3-channel images, each channel an independently drawn digit; label = 100*r + 10*g + b."""
    from .sources import load_digits

    base = load_digits(DataRequest(size=request.size, channels=1))
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(base), (n, 3), generator=g)
    x = base.x[idx.flatten(), 0].view(n, 3, *base.x.shape[-2:])
    assert base.y is not None  # the digits come with labels
    digits = base.y[idx]
    y = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    return InMemoryData("stacked-digits", x.contiguous(), y, 1000)
