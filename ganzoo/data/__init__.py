"""Datasets: the registry's entries, in-memory tensors, and the batch stream the trainer uses."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path

from ..errors import DataError
from .memory import BatchStream, InMemoryData
from .photos import load_photo_folder
from .sources import fit_images, load_folder
from .spec import Dataset
from .types import Batch, DataInfo, DataKind, DataRequest

__all__ = ["Batch", "BatchStream", "DataInfo", "DataKind", "DataRequest", "Dataset", "InMemoryData", "fit_images", "load_data"]


def load_data(name_or_path: str, request: DataRequest, datasets: Mapping[str, Dataset], *, strict: bool = False,
              image_column: str = "", label_column: str = "") -> InMemoryData:
    """A dataset of ``datasets`` (the registry's) by name, a Hub dataset repo (``hf-hub:owner/name``;
    ``image_column`` / ``label_column`` pick its columns when it has several), or a folder of images
    by path (anything with a '/' or that exists). A folder's unreadable files are skipped with a
    warning; ``strict`` refuses the folder instead."""
    from .hub import is_hub, load_hub_dataset

    if is_hub(name_or_path):
        if request.kind not in (None, "image") or request.domains != 1 or request.crop:
            raise DataError(f"a Hub dataset serves one domain of resized images; the variant asks for {_asked(request)}")
        data = load_hub_dataset(name_or_path, request, strict=strict, image_column=image_column, label_column=label_column)
        return _served_as_asked(data, request, f"Hub dataset '{name_or_path}'")
    if name_or_path in datasets:
        ds = datasets[name_or_path]
        if request.kind is not None and ds.kind != request.kind:
            raise DataError(f"dataset '{ds.name}' holds {ds.kind} data, but the variant trains on {request.kind} data")
        if ds.domains != request.domains:
            raise DataError(f"dataset '{ds.name}' has {ds.domains} image domain(s), but the variant trains on {request.domains}")
        return _served_as_asked(ds.load(request), request, f"dataset '{ds.name}'")
    looks_like_path = any(sep in name_or_path for sep in ("/", "\\")) or name_or_path.startswith(".")
    if looks_like_path or Path(name_or_path).exists():
        if request.kind not in (None, "image"):
            raise DataError(f"a folder of images cannot serve {request.kind} data")
        if request.domains == 2:
            return load_unpaired_folder(name_or_path, request, strict=strict)
        if request.crop:
            return load_photo_folder(name_or_path, request, strict=strict)
        from .prepared import cached_folder, is_prepared, load_prepared

        if is_prepared(Path(name_or_path).expanduser()):
            return _served_as_asked(load_prepared(name_or_path, request), request, f"prepared dataset '{name_or_path}'")
        if not Path(name_or_path).expanduser().is_dir():
            return load_folder(name_or_path, request, strict=strict)  # says what is wrong with the path
        return cached_folder(name_or_path, request, strict=strict)
    hint = difflib.get_close_matches(name_or_path, list(datasets), n=1)
    raise DataError(f"unknown dataset '{name_or_path}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                    + f" Known datasets: {', '.join(sorted(datasets)) or '(none)'}. Or give a path to a folder of images.")


def _asked(request: DataRequest) -> str:
    return f"{request.kind} data" if request.kind not in (None, "image") else "two image domains" if request.domains != 1 else "crops of whole photos"


def _served_as_asked(data: InMemoryData, request: DataRequest, what: str) -> InMemoryData:
    """A loader (a plugin's, say) that ignored the request would train at one size while the
    export claims another: refuse it, naming the dataset."""
    info = data.info
    if info.kind == "image" and not request.crop:
        c, h, w = info.shape
        if request.size is not None and (h, w) != (request.size, request.size):
            raise DataError(f"{what} served {w}x{h} images, but {request.size}x{request.size} were asked for; "
                            "its loader must resize to DataRequest.size (ganzoo.data.fit_images does)")
        if request.channels is not None and c != request.channels:
            raise DataError(f"{what} served {c}-channel images, but {request.channels} were asked for; "
                            "its loader must convert to DataRequest.channels (ganzoo.data.fit_images does)")
    if request.labels and data.y is None:
        raise DataError(f"{what} served no labels, but the variant needs them")
    return data


def load_unpaired_folder(path: str, request: DataRequest, *, strict: bool = False) -> InMemoryData:
    """Two domains in the official CycleGAN layout: ``path/trainA/`` and ``path/trainB/``."""
    root = Path(path).expanduser()
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise DataError(f"dataset folder '{path}' needs trainA/ and trainB/ sub-folders (CycleGAN layout); missing {', '.join(missing)}")
    a, b = load_folder(root / "trainA", request, strict=strict), load_folder(root / "trainB", request, strict=strict)
    if a.x.shape[1:] != b.x.shape[1:]:
        raise DataError(f"trainA and trainB images differ in shape ({tuple(a.x.shape[1:])} vs {tuple(b.x.shape[1:])}); set channels")
    return InMemoryData(str(path), a.x, x_b=b.x)
