"""``photos``: natural photographs that ship inside scikit-image and scikit-learn, for super-resolution.

Training data are random HR crops (size x size, 96 in SRGAN) drawn once, for a fixed seed, from the
training photos; the model makes the LR input itself (bicubic x1/scale). The held-out photos are
whole images that no crop is ever taken from; the harness scores PSNR/SSIM on them. A folder of
the user's own images works the same way: the last tenth of its files (by name) is held out.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import DataError
from .memory import InMemoryData
from .types import DataRequest

SEED = 2017
CROPS = 4000  # the crop bank: 4,000 x 3 x 96 x 96 bytes = 110 MB at the paper's 96x96
# (package, file): photographs bundled with scikit-image (skimage/data) and scikit-learn.
TRAIN = [
    ("skimage", "chelsea.png"), ("skimage", "hubble_deep_field.jpg"), ("skimage", "motorcycle_left.png"),
    ("skimage", "motorcycle_right.png"), ("skimage", "rocket.jpg"), ("skimage", "retina.jpg"), ("skimage", "ihc.png"),
    ("skimage", "camera.png"), ("skimage", "coins.png"), ("skimage", "moon.png"), ("skimage", "brick.png"),
    ("skimage", "grass.png"), ("skimage", "gravel.png"), ("sklearn", "china.jpg"),
]
HELD_OUT = [("skimage", "astronaut.png"), ("skimage", "coffee.png"), ("sklearn", "flower.jpg")]


def _path(package: str, name: str) -> Path:
    if package == "skimage":
        import skimage.data

        return Path(skimage.data.__file__).parent / name
    import sklearn.datasets

    return Path(sklearn.datasets.__file__).parent / "images" / name


def read_rgb(path: str | os.PathLike) -> torch.Tensor:
    """An image file as uint8 (3, H, W); grey images are repeated to RGB."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            return torch.frombuffer(bytearray(im.tobytes()), dtype=torch.uint8).view(im.height, im.width, 3).permute(2, 0, 1).contiguous()
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image '{path}': {exc}") from None


def random_crops(images: list[torch.Tensor], size: int, count: int, seed: int, min_std: float = 8.0) -> torch.Tensor:
    """``count`` crops of size x size, from photos taken in turn in a random order (each photo gives
    the same share, however large: sampling by area let one 1411x1411 photo supply a third of the
    crops), at random positions. A crop that is nearly flat (grey-level std below ``min_std`` of
    255: sky, the black surround of retina.jpg or hubble_deep_field.jpg) is drawn again, up to 10
    times: it teaches x4 super-resolution nothing that bicubic does not already do."""
    images = [im for im in images if min(im.shape[-2:]) >= size]
    if not images:
        raise DataError(f"no training image is at least {size}x{size} pixels")
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(count, 3, size, size, dtype=torch.uint8)
    order = torch.cat([torch.randperm(len(images), generator=g) for _ in range(-(-count // len(images)))])
    for i, k in enumerate(order[:count].tolist()):
        im = images[k]
        for _ in range(10):
            uy, ux = torch.rand(2, generator=g, dtype=torch.float64).tolist()
            top, left = int(uy * (im.shape[-2] - size + 1)), int(ux * (im.shape[-1] - size + 1))
            crop = im[:, top : top + size, left : left + size]
            if crop.float().mean(0).std() >= min_std:
                break
        out[i] = crop
    return out


def load_photos(request: DataRequest) -> InMemoryData:
    train = [read_rgb(_path(*f)) for f in TRAIN]
    held_out = [read_rgb(_path(*f)) for f in HELD_OUT]
    return InMemoryData("photos", random_crops(train, request.size or 96, CROPS, SEED), held_out=held_out)


def load_photo_folder(path: str | os.PathLike, request: DataRequest, *, strict: bool = False) -> InMemoryData:
    from .images import list_images, open_image, read_all

    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"dataset path '{path}' is not a folder of images")
    files = list_images(root)
    images = [t for _, t in read_all(files, lambda p: open_image(p, 3), where=str(path), strict=strict)]
    if len(images) < 2:
        raise DataError(f"dataset folder '{path}' needs at least 2 readable images (one is held out for evaluation)")
    n_held = max(1, len(images) // 10)
    return InMemoryData(str(path), random_crops(images[:-n_held], request.size or 96, CROPS, SEED), held_out=images[-n_held:])
