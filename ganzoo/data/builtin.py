"""The datasets that come with ganzoo, registered through the same hook a plugin uses."""

from __future__ import annotations

import functools

from ..hookspecs import hookimpl
from .sources import TORCHVISION, load_digits, load_torchvision
from .spec import Dataset


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
