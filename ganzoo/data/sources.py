"""Loaders for the datasets ganzoo knows: embedded digits, torchvision's downloads, image folders.

Each returns an :class:`InMemoryData` already at the size and channel count the variant asked for,
so the training loop never resizes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ..errors import DataError
from .types import DataRequest
from .memory import InMemoryData

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def data_root() -> Path:
    """Where downloaded datasets live: $GANZOO_DATA_DIR, else ~/.cache/ganzoo/datasets."""
    env = os.environ.get("GANZOO_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "ganzoo" / "datasets"


def fit_images(x: torch.Tensor, request: DataRequest, chunk: int = 4096) -> torch.Tensor:
    """uint8 (N, C, H, W) -> the request's channels and square size (centre crop, then resize)."""
    from torchvision.transforms.v2 import functional as TF  # imported here: torchvision takes ~1.5 s to import

    if x.dtype != torch.uint8 or x.ndim != 4:
        raise ValueError("fit_images expects uint8 images shaped (N, C, H, W)")
    if request.channels == 3 and x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    elif request.channels == 1 and x.shape[1] == 3:
        x = TF.rgb_to_grayscale(x)
    elif request.channels not in (None, x.shape[1]):
        raise DataError(f"cannot serve {x.shape[1]}-channel images with {request.channels} channels")
    h, w = x.shape[-2:]
    if h != w:
        side = min(h, w)
        x = TF.center_crop(x, [side, side])
    if request.size is not None and request.size != x.shape[-1]:
        parts = [
            TF.resize(x[i : i + chunk], [request.size, request.size], interpolation=TF.InterpolationMode.BICUBIC, antialias=True)
            for i in range(0, len(x), chunk)
        ]
        x = torch.cat(parts)
    return x.contiguous()


def load_digits(request: DataRequest) -> InMemoryData:
    """scikit-learn's 1,797 handwritten 8x8 digits (UCI ML hand-written digits), with labels."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = torch.from_numpy(bunch.images).float()  # (N, 8, 8), ink in 0..16
    x = (images * (255.0 / 16.0)).round().clamp(0, 255).to(torch.uint8).unsqueeze(1)
    y = torch.from_numpy(bunch.target).long()
    return InMemoryData("digits", fit_images(x, request), y, 10)


TORCHVISION = {
    # name: (torchvision class name, number of classes)
    "mnist": ("MNIST", 10),
    "fashion-mnist": ("FashionMNIST", 10),
    "cifar10": ("CIFAR10", 10),
}


def load_torchvision(name: str, request: DataRequest, root: Path | None = None, download: bool = True) -> InMemoryData:
    """A torchvision dataset's training split, downloaded into ``root`` on first use."""
    import torchvision.datasets as tvd

    cls_name, num_classes = TORCHVISION[name]
    root = Path(root) if root is not None else data_root()
    cls = getattr(tvd, cls_name)
    # torchvision checks each file's md5 (CIFAR) or the download's before it reads it; CIFAR's own
    # files are pickles, unpickled by torchvision only after that check against the official sums.
    try:
        ds = cls(str(root), train=True, download=download)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; torchvision raises RuntimeError when files are missing
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__  # torchvision lists every mirror; the last line says why
        raise DataError(
            f"dataset '{name}' is not in {root} and could not be downloaded ({reason}); "
            f"connect to the internet once, set GANZOO_DATA_DIR to a folder that holds it, or use --data digits"
        ) from None
    data = ds.data
    x = torch.as_tensor(data)
    if x.ndim == 3:  # (N, H, W) grayscale
        x = x.unsqueeze(1)
    else:  # (N, H, W, C) numpy arrays from CIFAR
        x = x.permute(0, 3, 1, 2)
    y = torch.as_tensor(ds.targets).long()
    names = tuple(str(c) for c in getattr(ds, "classes", ())) or None
    return InMemoryData(name, fit_images(x.to(torch.uint8), request), y, num_classes, class_names=names)


def load_folder(path: str | os.PathLike, request: DataRequest) -> InMemoryData:
    """Every image below ``path``; with class sub-folders (ImageFolder layout) they become labels."""
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2 import functional as TF

    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"dataset path '{path}' does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path '{path}' is not a folder of images")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"dataset folder '{path}' holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    top = {p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1}
    loose = [p for p in files if len(p.relative_to(root).parts) == 1]
    classes = sorted(top) if top and not loose else None
    size = request.size
    images, labels = [], []
    mode = None
    if request.channels is not None:
        mode = "L" if request.channels == 1 else "RGB"
    else:  # keep grayscale only if every image is grayscale
        mode = "L"
        for p in files:
            with Image.open(p) as im:
                if im.mode not in ("L", "1", "I", "I;16"):
                    mode = "RGB"
                    break
    for p in files:
        try:
            with Image.open(p) as im:
                im = im.convert(mode)
                if size is not None:
                    w, h = im.size
                    side = min(w, h)
                    left, top_ = (w - side) // 2, (h - side) // 2
                    im = im.crop((left, top_, left + side, top_ + side)).resize((size, size), Image.Resampling.BICUBIC)
                t = TF.pil_to_tensor(im)
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"cannot read image '{p}': {exc}") from None
        images.append(t)
        if classes is not None:
            labels.append(classes.index(p.relative_to(root).parts[0]))
    shapes = {tuple(t.shape) for t in images}
    if len(shapes) > 1:
        raise DataError(f"images in '{path}' have different sizes {sorted(shapes)[:3]}; give the variant an image_size")
    x = torch.stack(images)
    y = torch.tensor(labels, dtype=torch.long) if classes is not None else None
    return InMemoryData(str(path), x, y, len(classes) if classes else None, class_names=tuple(classes) if classes else None)
