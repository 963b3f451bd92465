"""Image files as users have them: any mode Pillow reads, in folders with hidden entries and strays.

A user's folder is not a curated benchmark. It holds 16-bit PNGs (which Pillow's plain
``convert("L")`` clips to white), palette and CMYK images, transparency (whose hidden colour under
alpha 0 is often garbage), phone photos stored sideways with an EXIF rotation, notebook
checkpoints in ``.ipynb_checkpoints/``, a ``README.txt``, and now and then a file that is not an
image at all. Everything here turns such files into uint8 (C, H, W) tensors as a person looking at
them would see them, and says what it left out and why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from ..errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
BACKGROUND = 255  # transparent pixels are composited on white, as a browser or viewer shows them
GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def hidden(path: Path, root: Path) -> bool:
    """An entry a user does not think of as data: any part of its path below ``root`` starting
    with '.' (.ipynb_checkpoints, .DS_Store, .git) or '__' (__MACOSX)."""
    return any(part.startswith((".", "__")) for part in path.relative_to(root).parts)


def list_images(root: Path) -> list[Path]:
    """Image files below ``root`` by suffix, sorted, hidden entries left out."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not hidden(p, root) and p.is_file())


def is_grey(path: Path) -> bool:
    from PIL import Image

    with Image.open(path) as im:
        return im.mode in GREY_MODES or (im.mode == "P" and _palette_is_grey(im))


def _palette_is_grey(im) -> bool:
    palette = np.asarray(im.getpalette() or [], dtype=np.int32).reshape(-1, 3)
    return bool(len(palette)) and bool((palette == palette[:, :1]).all())


def load_image(path: "Path | BinaryIO", channels: int | None):
    """``path`` as a Pillow image in mode "L" (``channels`` 1, or a grey file when None) or "RGB".
    16-bit and float images are scaled to 8 bits, not clipped; palette, CMYK and other modes are
    converted to RGB; alpha is composited on white; an EXIF rotation is applied."""
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        grey = im.mode in GREY_MODES or (im.mode == "P" and _palette_is_grey(im))
        array = _to_array(im)  # (H, W) or (H, W, 3) uint8, alpha already composited
    out = Image.fromarray(array, "L" if array.ndim == 2 else "RGB")
    want = channels or (1 if grey else 3)
    return out.convert("L" if want == 1 else "RGB")


def open_image(path: Path, channels: int | None) -> torch.Tensor:
    """``load_image`` as uint8 (C, H, W)."""
    im = load_image(path, channels)
    array = np.array(im)  # a writable copy: PIL's own buffer is read-only, which torch warns about
    array = array[:, :, None] if array.ndim == 2 else array
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def _to_array(im) -> np.ndarray:
    """Any Pillow image as 8-bit grey (H, W) or RGB (H, W, 3), alpha composited on white."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I") or mode == "F":
        a = np.asarray(im, dtype=np.float64)
        peak = float(np.nanmax(a)) if a.size else 0.0
        if mode == "F":
            top = 1.0 if peak <= 1.0 else 255.0 if peak <= 255 else 65535.0
        elif mode == "I" and im.format != "PNG":  # 32-bit integers (TIFF): 8- or 16-bit data, by its range
            top = 255.0 if peak <= 255 else 65535.0 if peak <= 65535 else peak
        else:
            top = 65535.0  # 16-bit PNG/TIFF (older Pillows open 16-bit PNGs as "I")
        return (np.nan_to_num(a) / top * 255).round().clip(0, 255).astype(np.uint8)
    if mode == "1":
        return np.asarray(im.convert("L"))
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        grey = mode in ("LA", "La") or (mode == "P" and _palette_is_grey(im))
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[:, :, 3:] / 255
        rgb = (rgba[:, :, :3] * alpha + BACKGROUND * (1 - alpha)).round().clip(0, 255).astype(np.uint8)
        return rgb[:, :, 0] if grey else rgb
    if mode == "L":
        return np.asarray(im)
    if mode == "P" and _palette_is_grey(im):
        return np.asarray(im.convert("L"))
    return np.asarray(im.convert("RGB"))  # RGB, P, CMYK, YCbCr, LAB, HSV; 16-bit RGB PNGs arrive as 8-bit RGB


def read_all(files: Iterable[Path], read: Callable[[Path], torch.Tensor], *, where: str, strict: bool) -> list[tuple[Path, torch.Tensor]]:
    """``read`` every file; those that fail are skipped with one warning naming how many and the
    first few (``strict``: a DataError naming them all instead, as before a run starts)."""
    from PIL import UnidentifiedImageError

    good, bad = [], []
    for p in files:
        try:
            good.append((p, read(p)))
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:  # Pillow raises all of these for damaged files
            bad.append((p, f"{type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}"))
    if bad:
        first = "; ".join(f"{p.name} ({why})" for p, why in bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        if strict or not good:
            what = "no image could be read" if not good else f"{len(bad)} of {len(bad) + len(good)} files could not be read"
            raise DataError(f"'{where}': {what}: {first}" + ("" if not good else "; without --strict they are skipped"))
        log.warning("'%s': skipping %d of %d image files that cannot be read: %s", where, len(bad), len(bad) + len(good), first)
    return good


def warn_if_small(sizes: list[tuple[int, int]], size: int | None, where: str) -> None:
    """Say so when most images are smaller than the training size: they are upscaled, and blur."""
    if not size or not sizes:
        return
    small = [s for s in sizes if min(s) < size]
    if len(small) * 2 > len(sizes):
        w, h = sorted(sizes, key=min)[len(sizes) // 2]
        log.warning("'%s': %d of %d images are smaller than the training size %dx%d (median %dx%d); they are upscaled "
                    "and will look blurred; a smaller image_size may suit them better", where, len(small), len(sizes), size, size, w, h)


def folder_files(root: Path) -> tuple[list[Path], list[str] | None]:
    """The image files of a folder and its classes (sub-folder names), as ``load_folder`` reads them."""
    files = list_images(root)
    if not files:
        skipped = sum(1 for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and hidden(p, root))
        raise DataError(f"dataset folder '{root}' holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
                        + (f"; {skipped} in hidden folders (.*, __*) are ignored" if skipped else ""))
    top = sorted({p.relative_to(root).parts[0] for p in files if len(p.relative_to(root).parts) > 1})
    loose = [p for p in files if len(p.relative_to(root).parts) == 1]
    if top and loose:
        names = ", ".join(p.name for p in loose[:3]) + (f" and {len(loose) - 3} more" if len(loose) > 3 else "")
        log.warning("'%s': %d image file(s) lie beside the class folders (%s) and are left out; move them into a class "
                    "folder, or give a folder without class folders for unlabelled training", root, len(loose), names)
        files = [p for p in files if p not in set(loose)]
    return files, top or None
