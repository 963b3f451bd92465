"""Prepared datasets: a folder of images decoded once, in parallel, into one memory-mappable array.

    DIR/
      images.u8       uint8 (N, C, H, W), C-order, nothing else: np.memmap / torch.from_file read it in place
      labels.npy      int64 (N,) class indices (np.save; read with allow_pickle=False), when the folder has classes
      manifest.json   the source, the shape, the class names, the file list's fingerprint, the array's sha256,
                      the files left out and why

`ganzoo prepare FOLDER -o DIR` writes one; `--data DIR` trains from it. `--data FOLDER` prepares
the folder into a cache under the data root on first use (keyed on the folder and the size asked
for), and reuses it while the folder's file list, sizes and modification times are unchanged, so a
second run decodes nothing; a changed folder is prepared again, with a line saying so. Nothing is
unpickled: the array is raw bytes, the labels an .npy of int64, the rest JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_json
from .._version import __version__
from ..errors import DataError
from .images import folder_files

log = logging.getLogger(__name__)

FORMAT = "ganzoo-prepared"
VERSION = 1
IMAGES, LABELS, MANIFEST = "images.u8", "labels.npy", "manifest.json"
SERIAL_BELOW = 256  # files decoded in this process below this many: a pool's start-up costs more
CHUNK = 4096  # images handed to the pool at once (two chunks in flight): bounds the encoded bytes held in memory


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a prepared dataset holds and where it came from."""

    source: str  # the folder it was decoded from, as given
    shape: tuple[int, ...]  # (N, C, H, W) of images.u8
    class_names: tuple[str, ...] | None  # the class folders' names, index order; None: no labels
    fingerprint: str  # sha256 over the source's file list (relative path, size, mtime) when it was read
    sha256: str  # of images.u8
    skipped: tuple[str, ...] = ()  # files left out: "relative/path (why)"
    ganzoo_version: str = __version__

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, **dataclasses.asdict(self),
                "shape": list(self.shape), "class_names": list(self.class_names) if self.class_names else None, "skipped": list(self.skipped)}

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        from .._files import Damaged, read_json_object

        try:
            doc = read_json_object(folder / MANIFEST)
        except Damaged as exc:
            raise DataError(f"'{folder / MANIFEST}' {exc}") from None
        if doc.get("format") != FORMAT or doc.get("version") != VERSION:
            raise DataError(f"'{folder}' is not a prepared dataset of this ganzoo (format {doc.get('format')!r} version {doc.get('version')!r}); "
                            "prepare it again with `ganzoo prepare`")
        try:
            shape = tuple(int(s) for s in doc["shape"])
            if len(shape) != 4 or min(shape) < 1:
                raise ValueError("shape")
            names = tuple(str(n) for n in doc["class_names"]) if doc.get("class_names") else None
            return cls(str(doc["source"]), shape, names, str(doc["fingerprint"]), str(doc["sha256"]), tuple(doc.get("skipped") or ()),
                       str(doc.get("ganzoo_version", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"'{folder / MANIFEST}' is not a valid manifest ({exc})") from None


def is_prepared(path: Path) -> bool:
    return (path / MANIFEST).is_file() and (path / IMAGES).is_file()


def fingerprint(root: Path, files: list[Path]) -> str:
    """sha256 over each file's path below ``root``, size and modification time: what says the folder is unchanged."""
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(root).as_posix()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


Box = tuple[int, int, int, int]  # (left, top, right, bottom) in pixels: a dataset's fixed crop (CelebA's faces)


def _decode(job: tuple[str | bytes, int | None, int, Box | None]) -> tuple[np.ndarray | None, str, tuple[int, int]]:
    """One image (a path or encoded bytes) -> uint8 (C, H, W): cut to ``box`` when given,
    centre-cropped to a square and resized to ``size`` (None: as it is), or None and why not.
    Runs in worker processes: Pillow and numpy only."""
    import io

    from PIL import Image, UnidentifiedImageError

    from .images import load_image

    source, size, channels, box = job
    try:
        im = load_image(Path(source) if isinstance(source, str) else io.BytesIO(source), channels)
        original = im.size
        if box is not None:
            im = im.crop(box)
        if size is not None:
            w, h = im.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)
        array = np.array(im, dtype=np.uint8)
        return (array[None] if array.ndim == 2 else array.transpose(2, 0, 1)), "", original
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:  # Pillow raises all of these for damaged files
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:100] if str(exc) else ''}", (0, 0)


_target: np.memmap | None = None  # in a worker: the array being written, opened once by _open_target


def _open_target(path: str, shape: tuple[int, ...]) -> None:
    global _target
    _target = np.memmap(path, dtype=np.uint8, mode="r+", shape=shape)


def _decode_into(job: tuple[int, str | bytes, int, int, Box | None]) -> tuple[int, str, tuple[int, int]]:
    """Decode one image straight into row ``index`` of the shared array; only (index, why, original
    size) travel back, so the parent does no copying and its core stays free for decoding."""
    index, source, size, channels, box = job
    image, why, original = _decode((source, size, channels, box))
    if image is not None:
        assert _target is not None
        _target[index] = image
    return index, why, original


def _decode_all(sources: Iterable[str | bytes], count: int, path: Path, shape: tuple[int, int, int], *, box: Box | None,
                workers: int | None, progress: bool | None) -> tuple[list[int], list[tuple[int, str]], list[tuple[int, int]]]:
    """Decode ``count`` images into a new (count, *shape) array file at ``path``, on ``workers``
    processes; the kept images are then moved to its first rows (in order) and the file cut to
    them. Returns the kept indices, the (index, why) of those left out, and the kept originals' sizes."""
    from tqdm.auto import tqdm

    channels, size, _ = shape
    np.memmap(path, dtype=np.uint8, mode="w+", shape=(max(count, 1), *shape)).flush()
    jobs = ((i, src, size, channels, box) for i, src in enumerate(sources))
    results: dict[int, tuple[str, tuple[int, int]]] = {}
    bar = tqdm(total=count, unit="image", desc="prepare", disable=None if progress is None else not progress, file=sys.stderr)
    with bar:
        for index, why, original in _run(jobs, count, str(path), (max(count, 1), *shape), workers):
            results[index] = (why, original)
            bar.update()
    kept = [i for i in range(count) if not results[i][0]]
    array = np.memmap(path, dtype=np.uint8, mode="r+", shape=(max(count, 1), *shape))
    for row, i in enumerate(kept):  # close the gaps damaged files left (rare: most runs move nothing)
        if row != i:
            array[row] = array[i]
    array.flush()
    del array
    os.truncate(path, len(kept) * channels * size * size)
    return kept, [(i, results[i][0]) for i in range(count) if results[i][0]], [results[i][1] for i in kept]


def _run(jobs: Iterator[tuple], count: int, path: str, shape: tuple[int, ...], workers: int | None) -> Iterator[tuple[int, str, tuple[int, int]]]:
    """``_decode_into`` over ``jobs``, in this process when there are few of them (a pool's start-up
    costs more), else on a pool of processes fed in chunks, so that at most two chunks of encoded
    images (a Hub dataset's bytes) are in memory at once."""
    workers = workers or os.cpu_count() or 1
    if workers == 1 or count < SERIAL_BELOW:
        _open_target(path, shape)
        try:
            yield from map(_decode_into, jobs)
        finally:
            global _target
            _target = None
        return
    import itertools
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # fork on Linux: the workers run Pillow and numpy only, never torch, and start at once.
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_open_target, initargs=(path, shape)) as pool:
        pending = None
        while chunk := list(itertools.islice(jobs, CHUNK)):
            submitted = pool.map(_decode_into, chunk, chunksize=32)
            if pending is not None:
                yield from pending
            pending = submitted
        if pending is not None:
            yield from pending


def _fresh(out: Path) -> Path:
    """The temporary folder ``out`` is built in (renamed into place when complete: a kill leaves no half dataset)."""
    tmp = out.with_name(f".tmp-{os.getpid()}-{out.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return tmp


def prepare_images(sources: Iterable[str | bytes], count: int, name: Callable[[int], str], tmp: Path, *, source: str, size: int, channels: int,
                   strict: bool = False, workers: int | None = None, progress: bool | None = None,
                   box: Box | None = None, files: bool = False) -> tuple[list[int], list[str]]:
    """Decode ``count`` images (paths or encoded bytes; ``name(i)`` says which is which in messages)
    into ``tmp``'s images.u8 at ``size`` x ``size`` and ``channels``; the indices kept, and
    "name (why)" for each image left out. Damaged images are skipped with a warning (``strict``, or
    none readable: a DataError); ``files``: the sources are a folder's files, and messages say so."""
    from .images import warn_if_small

    kept, bad, sizes = _decode_all(sources, count, tmp / IMAGES, (channels, size, size), box=box, workers=workers, progress=progress)
    reasons = [f"{name(i)} ({why})" for i, why in bad]
    if bad and (strict or not kept):
        what = "no image could be read" if not kept else f"{len(bad)} of {count} {'files' if files else 'images'} could not be read"
        raise DataError(f"'{source}': {what}: {'; '.join(reasons[:3])}" + ("" if not kept else "; without --strict they are skipped"))
    if bad:
        log.warning("'%s': skipping %d of %d %s that cannot be read: %s", source, len(bad), count, "image files" if files else "images",
                    "; ".join(reasons[:3]))
    warn_if_small(sizes, size, source)
    return kept, reasons


def publish(tmp: Path, out: Path, *, source: str, shape: tuple[int, int, int, int], labels: np.ndarray | None,
            class_names: tuple[str, ...] | None, fingerprint: str, skipped: Iterable[str] = ()) -> Manifest:
    """Finish the prepared dataset ``prepare_images`` (or another writer) left in ``tmp``: its
    labels, then the manifest last, then the move into place (replacing a prepared dataset, never
    anything else)."""
    if labels is not None:
        np.save(tmp / LABELS, labels.astype(np.int64), allow_pickle=False)
    manifest = Manifest(source, shape, class_names if labels is not None else None, fingerprint, _sha256(tmp / IMAGES), tuple(skipped))
    atomic_write_json(tmp / MANIFEST, manifest.to_json())
    if out.exists():
        if not is_prepared(out) and any(out.iterdir()):
            raise DataError(f"'{out}' exists and is not a prepared dataset; give an empty or new folder")
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    return manifest


def _square_side(sources: list[str | bytes], channels: int, box: Box | None, where: str) -> int:
    """The side of the first image, when no --size was given: it must be square (nothing to crop to)."""
    first = _decode((sources[0], None, channels, box))[0]
    if first is None or first.shape[1] != first.shape[2]:
        raise DataError(f"'{where}': give --size N (images are centre-cropped to a square of N pixels); its images are not all square")
    return int(first.shape[1])


def prepare_folder(source: str | Path, out: str | Path, *, size: int | None = None, channels: int | None = None,
                   strict: bool = False, workers: int | None = None, progress: bool | None = None, box: Box | None = None,
                   name: str | None = None) -> Manifest:
    """Decode every image of ``source`` once, on ``workers`` processes (default: every core), into
    the prepared dataset ``out`` (written to a temporary folder and renamed: a kill leaves no half
    dataset). Damaged files are skipped and listed in the manifest (``strict``: refused). ``name``:
    what the manifest and messages call the source (a Hub repo's id), when not the folder."""
    from .images import is_grey
    from .sources import _grey_or_unreadable

    root, out = Path(source).expanduser(), Path(out).expanduser()
    if not root.is_dir():
        raise DataError(f"dataset path '{source}' does not exist" if not root.exists() else f"dataset path '{source}' is not a folder of images")
    files, classes = folder_files(root)
    listed = fingerprint(root, files)
    channels = channels or (1 if all(_grey_or_unreadable(p, is_grey) for p in files) else 3)
    size = size or _square_side([str(files[0])], channels, box, str(source))
    tmp = _fresh(out)
    try:
        names = [p.relative_to(root).as_posix() for p in files]
        kept, skipped = prepare_images((str(p) for p in files), len(files), names.__getitem__, tmp, source=name or str(source), size=size,
                                       channels=channels, strict=strict, workers=workers, progress=progress, box=box, files=True)
        labels = np.array([classes.index(names[i].split("/")[0]) for i in kept], dtype=np.int64) if classes else None
        return publish(tmp, out, source=name or str(source), shape=(len(kept), channels, size, size), labels=labels,
                       class_names=tuple(classes) if classes else None, fingerprint=listed, skipped=skipped)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prepare_data(data, source: str, out: str | Path) -> Manifest:
    """A dataset already decoded (a registered one: torchvision's, a plugin's) written as a prepared
    dataset, so that later runs map it instead of loading it again."""
    import torch

    out = Path(out).expanduser()
    if data.kind != "image" or data.x_b is not None or data.x.dtype != torch.uint8:
        raise DataError(f"'{source}' is not one domain of uint8 images; only such datasets can be prepared")
    tmp = _fresh(out)
    try:
        data.x.cpu().contiguous().numpy().tofile(tmp / IMAGES)
        labels = data.y.cpu().numpy() if data.y is not None else None
        names = data.info.class_names if data.y is not None else None
        return publish(tmp, out, source=source, shape=tuple(data.x.shape), labels=labels, class_names=tuple(names) if names else None,
                       fingerprint=f"dataset:{source}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_prepared(folder: str | Path, request, *, verify: bool = False):
    """A prepared dataset as ``InMemoryData`` over a memory map of its array (``mapped``): the
    trainer streams batches from it, or reads it whole when it is small (TrainConfig.stream). At
    another size or channel count than prepared, it is converted in memory. ``verify`` checks the
    array's sha256 first."""
    import torch

    from .memory import InMemoryData
    from .sources import fit_images

    folder = Path(folder).expanduser()
    manifest = Manifest.read(folder)
    n, c, h, w = manifest.shape
    expected = n * c * h * w
    actual = (folder / IMAGES).stat().st_size
    if actual != expected:
        raise DataError(f"'{folder / IMAGES}' holds {actual:,} bytes, the manifest's shape {list(manifest.shape)} needs {expected:,}; prepare it again")
    if verify and _sha256(folder / IMAGES) != manifest.sha256:
        raise DataError(f"'{folder / IMAGES}' does not match the sha256 in its manifest (the file changed); prepare it again")
    # Copy-on-write: a tensor over the file's pages, read as batches touch them (nothing is ever written back).
    mapped = np.memmap(folder / IMAGES, dtype=np.uint8, mode="c", shape=manifest.shape)
    _random_access(mapped)
    x = torch.from_numpy(mapped)
    resized = (request.size is not None and (h, w) != (request.size, request.size)) or (request.channels is not None and c != request.channels)
    y = None
    if manifest.class_names:
        labels = np.load(folder / LABELS, allow_pickle=False)
        if labels.shape != (n,) or labels.dtype != np.int64:
            raise DataError(f"'{folder / LABELS}' must hold {n} int64 labels; prepare it again")
        y = torch.from_numpy(labels.copy())
    if resized:
        x = fit_images(x, request)  # a prepared dataset of another size: converted, in memory
    names = manifest.class_names
    return InMemoryData(manifest.source, x, y, len(names) if names else None, class_names=names, mapped=not resized,
                        file=None if resized else str(folder / IMAGES))


def _random_access(mapped: np.memmap) -> None:
    """Tell the kernel the map is read in random order: batches gather scattered images, and its
    default read-ahead would pull in the neighbours of each, filling memory with pages never used."""
    import mmap

    handle = getattr(mapped, "_mmap", None)
    if handle is not None and hasattr(handle, "madvise") and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)


def cached_folder(source: str | Path, request, *, strict: bool = False, box: Box | None = None):
    """``source`` through its prepared copy in the cache: decoded on first use, reused while its
    file list, sizes and modification times are unchanged, prepared again (saying so) when not."""
    from .sources import data_root

    root = Path(source).expanduser()  # messages name the folder as the user gave it; the key, as it is
    key = hashlib.sha256(f"{root.resolve()}|{request.size}|{request.channels}|{box}".encode()).hexdigest()[:20]
    cache = data_root() / "prepared" / key
    if is_prepared(cache):
        try:
            manifest = Manifest.read(cache)
            files, _ = folder_files(root)
            if manifest.fingerprint == fingerprint(root, files) and not (strict and manifest.skipped):
                log.debug("'%s': using its prepared copy %s", source, cache)
                return dataclasses.replace(load_prepared(cache, request), name=str(source))
            log.warning("'%s' changed since it was prepared (files added, removed or modified); preparing it again", source)
        except DataError as exc:
            log.warning("the prepared copy of '%s' cannot be used (%s); preparing it again", source, exc)
    prepare_folder(root, cache, size=request.size, channels=request.channels, strict=strict, box=box)
    return dataclasses.replace(load_prepared(cache, request), name=str(source))
