"""The datasets that come with ganzoo, registered through the same hook a plugin uses."""

from __future__ import annotations

import functools

from ..hookspecs import hookimpl
from .digits_m import load_digits_m
from .photos import load_photos
from .sources import TORCHVISION, load_digits, load_torchvision
from .spec import Dataset
from .synthetic import load_mixture, stacked_digits
from .typeset import load_digits_typeset


@hookimpl
def register_datasets(register):
    register(
        Dataset(
            name="digits",
            summary="1,797 handwritten digits 0-9 (8x8, shipped with scikit-learn), with labels; works offline",
            load=load_digits,
            labels=True,
        )
    )
    summaries = {
        "mnist": "MNIST handwritten digits, 60,000 training images (downloaded by torchvision)",
        "fashion-mnist": "Fashion-MNIST clothing, 60,000 training images (downloaded by torchvision)",
        "cifar10": "CIFAR-10 32x32 colour photos in 10 classes, 50,000 training images (downloaded by torchvision)",
    }
    for name in TORCHVISION:
        register(
            Dataset(
                name=name,
                summary=summaries[name],
                load=functools.partial(load_torchvision, name),
                labels=True,
                offline=False,
            )
        )
    register(
        Dataset(
            name="ring8",
            summary="8 Gaussians on the unit circle, sigma 0.01, 100,000 2-D points (PacGAN protocol)",
            load=functools.partial(load_mixture, "ring8"),
            kind="points",
            labels=True,
        )
    )
    register(
        Dataset(
            name="grid25",
            summary="25 Gaussians on a 5x5 grid with spacing 2, sigma 0.05, 100,000 2-D points (PacGAN protocol)",
            load=functools.partial(load_mixture, "grid25"),
            kind="points",
            labels=True,
        )
    )
    register(
        Dataset(
            name="stacked-digits",
            summary="3 independent digits stacked as RGB channels: 1,000 modes (Stacked MNIST on the embedded digits)",
            load=stacked_digits,
            labels=True,
        )
    )
    register(
        Dataset(
            name="digits-typeset",
            summary="2 unpaired domains: the handwritten digits (A) and digits typeset in 18 bundled fonts (B); for CycleGAN",
            load=load_digits_typeset,
            labels=True,
            domains=2,
        )
    )
    register(
        Dataset(
            name="digits-m",
            summary="2 unpaired domains: the handwritten digits (A) and the same digits blended with photo crops, "
                    "MNIST-M's construction (B); for CycleGAN",
            load=load_digits_m,
            labels=True,
            domains=2,
        )
    )
    register(
        Dataset(
            name="photos",
            summary="random 96x96 crops of 14 photos bundled with scikit-image/scikit-learn, 3 more held out; for SRGAN",
            load=load_photos,
        )
    )
