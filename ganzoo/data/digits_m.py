"""``digits-m``: the MNIST-M construction on the embedded digits, two unpaired domains that differ in style only.

MNIST-M (Ganin et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016, Section 5.2.2)
blends each MNIST digit with a random patch of a photograph from BSDS500: per channel,
``|patch - digit|``, so the strokes show the photo inverted and the background shows it as it is.
Here the digits are scikit-learn's (at 32x32, as every variant sees them) and the photographs the
ones bundled with scikit-image and scikit-learn (the ``photos`` training set; BSDS500 would be a
download), so the dataset is the same on every machine and needs no network.

Domain A is the handwritten digits (repeated to RGB when both domains are served in colour, the
default); domain B is the same 1,797 digits, each blended with its own random 32x32 crop. The
digits' shapes are untouched: a translation that keeps the label only has to change the style, the
pair the issue of label preservation is meant to test. Labels are kept for evaluation only;
training is unpaired and shuffled.
"""

from __future__ import annotations

import functools

import torch

from .memory import InMemoryData
from .types import DataRequest

SEED = 2016  # the data are the same for everyone, whatever the training seed
CANVAS = 32  # blended at 32x32 and served at the variant's size


@functools.cache
def _photos() -> tuple[torch.Tensor, ...]:
    from .photos import TRAIN, _path, read_rgb

    return tuple(read_rgb(_path(package, name)) for package, name in TRAIN)


def blend(digits: torch.Tensor, seed: int = SEED) -> torch.Tensor:
    """uint8 (N, 1, 32, 32) white-on-black digits -> uint8 (N, 3, 32, 32): each digit blended with
    a random crop of a random bundled photo, |crop - digit| per channel (Ganin et al.)."""
    photos = _photos()
    g = torch.Generator().manual_seed(seed)
    which = torch.randint(0, len(photos), (len(digits),), generator=g).tolist()
    corner = torch.rand(len(digits), 2, generator=g).tolist()
    out = torch.empty(len(digits), 3, CANVAS, CANVAS, dtype=torch.uint8)
    for i, (p, (u, v)) in enumerate(zip(which, corner)):  # 1,797 crops, once per load: not a training loop
        photo = photos[p]
        top, left = int(u * (photo.shape[1] - CANVAS + 1)), int(v * (photo.shape[2] - CANVAS + 1))
        crop = photo[:, top : top + CANVAS, left : left + CANVAS]
        out[i] = (crop.short() - digits[i].short()).abs().to(torch.uint8)
    return out


def load_digits_m(request: DataRequest) -> InMemoryData:
    from .sources import fit_images, load_digits

    digits = load_digits(DataRequest(size=CANVAS, channels=1))
    xb = blend(digits.x)
    channels = request.channels or 3  # B is colour; A is repeated to RGB to match it
    served = DataRequest(size=request.size or CANVAS, channels=channels)
    assert digits.y is not None  # the digits come with labels
    return InMemoryData("digits-m", fit_images(digits.x, served), digits.y, 10, x_b=fit_images(xb, served), y_b=digits.y.clone())
