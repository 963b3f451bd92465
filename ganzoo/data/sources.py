"""Loaders for the datasets ganzoo knows: embedded digits, torchvision's downloads, image folders.

Each returns an :class:`InMemoryData` already at the size and channel count the variant asked for,
so the training loop never resizes anything.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch

from ..errors import DataError
from .memory import InMemoryData
from .types import DataRequest

log = logging.getLogger(__name__)


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


TORCHVISION: dict[str, tuple[str, int | None, dict[str, Any], str]] = {
    # name: (torchvision class, number of classes (None: unlabelled), the constructor's split argument, sub-folder of the data root)
    "mnist": ("MNIST", 10, {"train": True}, ""),
    "fashion-mnist": ("FashionMNIST", 10, {"train": True}, ""),
    "cifar10": ("CIFAR10", 10, {"train": True}, ""),
    "cifar100": ("CIFAR100", 100, {"train": True}, ""),
    "svhn": ("SVHN", 10, {"split": "train"}, "SVHN"),  # torchvision keeps SVHN's .mat files in the root itself
    "stl10": ("STL10", None, {"split": "unlabeled"}, ""),  # the 100,000 unlabelled 96x96 images GANs train on
}


def load_torchvision(name: str, request: DataRequest, root: Path | None = None, download: bool = True) -> InMemoryData:
    """A torchvision dataset's training split, downloaded into ``root`` on first use."""
    import torchvision.datasets as tvd

    cls_name, num_classes, split, folder = TORCHVISION[name]
    root = (Path(root) if root is not None else data_root()) / folder
    cls = getattr(tvd, cls_name)
    before = _folders(root)
    # torchvision checks each file's md5 (CIFAR) or the download's before it reads it; CIFAR's own
    # files are pickles, unpickled by torchvision only after that check against the official sums.
    try:
        ds = cls(str(root), download=download, **split)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; torchvision raises RuntimeError when files are missing
        _remove_empty_folders(root, before)  # a failed download leaves nothing behind
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(exc).__name__  # torchvision lists every mirror; the last line says why
        raise DataError(
            f"dataset '{name}' is not in {root} and could not be downloaded ({reason}); "
            f"connect to the internet once, set GANZOO_DATA_DIR to a folder that holds it, or use --data digits"
        ) from None
    x = torch.as_tensor(ds.data)
    if x.ndim == 3:  # (N, H, W) grayscale
        x = x.unsqueeze(1)
    elif x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):  # (N, H, W, C) numpy arrays from CIFAR
        x = x.permute(0, 3, 1, 2)  # SVHN and STL-10 come as (N, C, H, W) already
    labels = getattr(ds, "targets", None) if hasattr(ds, "targets") else getattr(ds, "labels", None)
    y = torch.as_tensor(labels).long() if num_classes and labels is not None else None
    names = tuple(str(c) for c in getattr(ds, "classes", ())) or None if y is not None else None
    return InMemoryData(name, fit_images(x.to(torch.uint8), request), y, num_classes if y is not None else None, class_names=names)


def _folders(root: Path) -> tuple[set[Path], set[Path]]:
    """What exists before a download: which of ``root`` and its parents, and ``root``'s entries."""
    return {p for p in (root, *root.parents) if p.exists()}, (set(root.iterdir()) if root.is_dir() else set())


def _remove_empty_folders(root: Path, before: tuple[set[Path], set[Path]]) -> None:
    """Remove what a failed download created and left without a file: new sub-folders of ``root``
    that hold none, then ``root`` and its parents when they are new and empty."""
    import shutil

    existed, entries = before
    if root.is_dir():
        for path in set(root.iterdir()) - entries:
            if path.is_dir() and not any(p.is_file() for p in path.rglob("*")):
                shutil.rmtree(path, ignore_errors=True)
    for path in (root, *root.parents):
        if path in existed:
            break
        try:
            path.rmdir()  # only when empty
        except OSError:
            break


def load_folder(path: str | os.PathLike, request: DataRequest, *, strict: bool = False) -> InMemoryData:
    """Every image below ``path``; with class sub-folders (ImageFolder layout) they become labels,
    named by the folders. Hidden entries are ignored; image files beside the class folders are left
    out with a warning; unreadable files are skipped with one warning (``strict``: refused)."""
    from PIL import Image
    from torchvision.transforms.v2 import functional as TF

    from .images import folder_files, is_grey, load_image, read_all, warn_if_small

    root = Path(path).expanduser()
    if not root.exists():
        raise DataError(f"dataset path '{path}' does not exist")
    if not root.is_dir():
        raise DataError(f"dataset path '{path}' is not a folder of images")
    files, classes = folder_files(root)
    size = request.size
    channels = request.channels or (1 if all(_grey_or_unreadable(p, is_grey) for p in files) else 3)
    sizes: list[tuple[int, int]] = []

    def read(p: Path) -> torch.Tensor:
        im = load_image(p, channels)
        sizes.append(im.size)
        if size is not None:
            w, h = im.size
            side = min(w, h)
            left, top_ = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top_, left + side, top_ + side)).resize((size, size), Image.Resampling.BICUBIC)
        return TF.pil_to_tensor(im)

    loaded = read_all(files, read, where=str(path), strict=strict)
    warn_if_small(sizes, size, str(path))
    shapes = {tuple(t.shape) for _, t in loaded}
    if len(shapes) > 1:
        raise DataError(f"images in '{path}' have different sizes {sorted(shapes)[:3]}; give the variant an image_size")
    x = torch.stack([t for _, t in loaded])
    y = torch.tensor([classes.index(p.relative_to(root).parts[0]) for p, _ in loaded], dtype=torch.long) if classes else None
    return InMemoryData(str(path), x, y, len(classes) if classes else None, class_names=tuple(classes) if classes else None)


def _grey_or_unreadable(path: Path, is_grey) -> bool:
    try:
        return is_grey(path)
    except Exception:  # noqa: BLE001 - read_all reports unreadable files; here they just do not vote
        return True
