"""Hugging Face Hub dataset repos (``--data hf-hub:owner/name[@revision]``) as prepared datasets.

Two layouts are read, the two the Hub's dataset viewer reads for images:

- **parquet**, as ``datasets``' ``push_to_hub`` writes it: ``data/train-00000-of-00001.parquet``
  and so on, an image column of {bytes, path} structs (the ``Image`` feature) and, usually, a
  ``ClassLabel`` column whose names become the class names. The schema's "huggingface" metadata
  says which column is which; without it, the column of {bytes, ...} structs is the image and an
  integer column named label/labels is the label. Several candidates: name them with
  ``--set image_column=`` / ``--set label_column=`` (``none``: no labels).
- **an image folder**: ``train/<class>/<file>.png`` (or without the split folder); class folders
  become labels, as for a local folder.

Only the train split's files are downloaded (files named or foldered ``train``; all of them when
no file says), into the ordinary Hugging Face cache, so HF_HOME, HF_TOKEN and HF_HUB_OFFLINE work
as for models; pickles and scripts are never fetched. The images are decoded once, in parallel,
into a prepared dataset under the data root, keyed on the repo's commit, the size and the columns:
a second run, or an offline one, decodes nothing. The dataset is recorded as
``hf-hub:owner/name@<commit>``, so an export says exactly which revision it was trained on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .._hub_ids import PREFIX, explain, parse
from .._version import __version__
from ..errors import DataError, GanzooError
from .images import IMAGE_SUFFIXES, hidden
from .prepared import Manifest, _fresh, _square_side, is_prepared, load_prepared, prepare_folder, prepare_images, publish
from .types import DataRequest

log = logging.getLogger(__name__)

TRAIN = re.compile(r"(^|[/_.-])train([/_.-]|$)")  # a train-split file: data/train-0000-of-0001.parquet, train/cat/1.png
IMAGE_PATTERNS = sorted({f"*{s}" for s in IMAGE_SUFFIXES} | {f"*{s.upper()}" for s in IMAGE_SUFFIXES})
TRAIN_PATTERNS = ["*train*.parquet", "train/*", "*/train/*"]  # fnmatch: "*" crosses folders
DATA_PATTERNS = ["*.parquet", *IMAGE_PATTERNS]
NEVER = ["*.py", "*.pkl", "*.pickle", "*.pt", "*.pth", "*.bin", "*.npy", "*.npz"]  # scripts and pickles are never fetched
GREY_PEEK = 64  # images looked at to decide grey or colour when no channel count is asked for
LABEL_NAMES = ("label", "labels")  # integer columns taken as the label when no ClassLabel says so


@dataclasses.dataclass(frozen=True)
class Columns:
    """Which parquet columns hold the images and the labels (None: no labels), and the label names."""

    image: str
    label: str | None
    class_names: tuple[str, ...] | None


def is_hub(source: str) -> bool:
    return source.startswith(PREFIX)


def load_hub_dataset(source: str, request: DataRequest, *, strict: bool = False, image_column: str = "", label_column: str = ""):
    """``source`` (hf-hub:owner/name[@revision]) as a mapped ``InMemoryData``, prepared on first use."""
    repo, sha, folder = download(source)
    pinned = f"{PREFIX}{repo}@{sha}"
    key = hashlib.sha256(f"{pinned}|{request.size}|{request.channels}|{image_column}|{label_column}".encode()).hexdigest()[:20]
    from .sources import data_root

    cache = data_root() / "prepared" / key
    if is_prepared(cache):
        try:
            if not (strict and Manifest.read(cache).skipped):
                return dataclasses.replace(load_prepared(cache, request), name=pinned)
        except DataError as exc:
            log.warning("the prepared copy of '%s' cannot be used (%s); preparing it again", source, exc)
    prepare_hub(folder, cache, source=pinned, size=request.size, channels=request.channels, strict=strict,
                image_column=image_column, label_column=label_column)
    return dataclasses.replace(load_prepared(cache, request), name=pinned)


def download(source: str, *, token: str | None = None) -> tuple[str, str, Path]:
    """The train split's files of a dataset repo, from the Hub or (offline) the cache: (repo id,
    commit, local snapshot folder). The split is chosen by file name, so the same patterns find the
    same files online and in the cache: first the files named or foldered "train", and only when a
    repo has none, every parquet file or image."""
    repo, revision = parse(source, "dataset")
    folder = _snapshot(repo, revision, token, TRAIN_PATTERNS)
    if not train_files(_listing(folder)):
        folder = _snapshot(repo, revision, token, DATA_PATTERNS)
    return repo, folder.name, folder


def _snapshot(repo: str, revision: str | None, token: str | None, patterns: list[str]) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo, repo_type="dataset", revision=revision, token=token, allow_patterns=patterns,
                                      ignore_patterns=NEVER, library_name="ganzoo", library_version=__version__))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub and httpx raise many types; each becomes one sentence
        raise GanzooError(explain(exc, repo, revision, "dataset")) from None


def _listing(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in sorted(folder.rglob("*")) if p.is_file()] if folder.is_dir() else []


def train_files(files: list[str]) -> list[str]:
    """The files a dataset repo's train split is read from: its parquet files, else its images;
    those named or foldered "train" when any is."""
    parquet = [f for f in files if f.endswith(".parquet")]
    images = [f for f in files if Path(f).suffix.lower() in IMAGE_SUFFIXES and not hidden(Path(f), Path())]
    pool = parquet or images
    return [f for f in pool if TRAIN.search(f)] or pool


def prepare_hub(folder: Path, out: Path, *, source: str, size: int | None, channels: int | None, strict: bool = False,
                image_column: str = "", label_column: str = "", workers: int | None = None, progress: bool | None = None) -> Manifest:
    """A downloaded dataset repo (``folder``) decoded into the prepared dataset ``out``."""
    parquet = [f for f in train_files(_listing(folder)) if f.endswith(".parquet")]
    if not parquet:
        return _prepare_image_folder(folder, out, source=source, size=size, channels=channels, strict=strict, workers=workers, progress=progress)
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"'{source}' is stored as parquet, which needs pyarrow: pip install 'torch-ganzoo[hf-datasets]'") from None
    files = [folder / f for f in parquet]
    columns = find_columns(pq.read_schema(files[0]), source, image_column, label_column)
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    starts = np.cumsum([0, *counts])

    def name(i: int) -> str:
        f = int(np.searchsorted(starts, i, side="right")) - 1
        return f"{parquet[f]} row {i - starts[f]}"

    labels = None
    if columns.label is not None:
        labels = np.concatenate([pq.read_table(f, columns=[columns.label]).column(0).to_numpy(zero_copy_only=False) for f in files])
        _check_labels(labels, columns, source)
    channels = channels or _channels(_rows(files, columns.image), source)
    size = size or _square_side([next(_rows(files, columns.image))], channels, None, source)
    tmp = _fresh(out)
    try:
        kept, skipped = prepare_images(_rows(files, columns.image), sum(counts), name, tmp, source=source, size=size, channels=channels,
                                       strict=strict, workers=workers, progress=progress)
        class_names = columns.class_names
        if labels is not None and class_names is None:
            class_names = tuple(str(i) for i in range(int(labels.max()) + 1))
        return publish(tmp, out, source=source, shape=(len(kept), channels, size, size),
                       labels=None if labels is None else labels[kept].astype(np.int64), class_names=class_names,
                       fingerprint=source, skipped=skipped)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def find_columns(schema, source: str, image_column: str, label_column: str) -> Columns:
    """The image and label columns of a parquet schema (see the module's docstring for the rules)."""
    import pyarrow as pa

    meta = (schema.metadata or {}).get(b"huggingface")
    try:
        features = json.loads(meta)["info"]["features"] if meta else {}
        features = features if isinstance(features, dict) else {}
    except (ValueError, KeyError, TypeError):
        features = {}

    def is_image(field) -> bool:
        feature = features.get(field.name)
        if isinstance(feature, dict) and feature.get("_type") == "Image":
            return True
        return not features and pa.types.is_struct(field.type) and field.type.get_field_index("bytes") >= 0

    def kind(name: str) -> dict:
        feature = features.get(name)
        return feature if isinstance(feature, dict) else {}

    names = [f.name for f in schema]
    images = [f.name for f in schema if is_image(f)]
    if image_column:
        if image_column not in names:
            raise DataError(f"'{source}' has no column '{image_column}' (image_column); its columns: {', '.join(names)}")
        if image_column not in images:
            raise DataError(f"'{source}': column '{image_column}' does not hold images; image columns: {', '.join(images) or 'none'}")
        images = [image_column]
    if len(images) != 1:
        raise DataError(f"'{source}' has {'no image column' if not images else 'several image columns: ' + ', '.join(images)}"
                        + ("; name one with --set image_column=NAME" if images else f" (columns: {', '.join(names)})"))
    integer = [f.name for f in schema if pa.types.is_integer(f.type)]
    class_labels = [n for n in integer if kind(n).get("_type") == "ClassLabel"]
    if label_column == "none":
        return Columns(images[0], None, None)
    if label_column:
        if label_column not in integer:
            raise DataError(f"'{source}' has no integer column '{label_column}' (label_column); integer columns: {', '.join(integer) or 'none'}")
        labels = [label_column]
    else:
        labels = class_labels or [n for n in integer if n.lower() in LABEL_NAMES]
    if len(labels) > 1:
        raise DataError(f"'{source}' has several label columns ({', '.join(labels)}); name one with --set label_column=NAME, or none")
    if not labels:
        return Columns(images[0], None, None)
    class_names = kind(labels[0]).get("names")
    if not (isinstance(class_names, list) and class_names and all(isinstance(n, str) for n in class_names)):
        class_names = None
    return Columns(images[0], labels[0], tuple(class_names) if class_names else None)


def _check_labels(labels: np.ndarray, columns: Columns, source: str) -> None:
    top = len(columns.class_names) if columns.class_names else None
    bad = int(((labels < 0) | (labels >= top)).sum()) if top else int((labels < 0).sum())
    if bad:
        raise DataError(f"'{source}': {bad:,} rows of column '{columns.label}' hold no class (-1 or out of range); "
                        "train without labels with --set label_column=none")


def _rows(files: list[Path], column: str) -> Iterator[bytes]:
    """The encoded bytes of every row's image, in order, read a batch of rows at a time; a row
    without bytes (an image stored elsewhere) comes as b"", which the decoder reports as unreadable."""
    import pyarrow.parquet as pq

    for f in files:
        for batch in pq.ParquetFile(f).iter_batches(batch_size=256, columns=[column]):
            for cell in batch.column(0).to_pylist():
                data = cell.get("bytes") if isinstance(cell, dict) else cell
                yield data if isinstance(data, bytes) else b""


def _channels(rows: Iterator[bytes], source: str) -> int:
    """1 when the first images are all grey, else 3."""
    import io
    import itertools

    from .images import is_grey

    peek = list(itertools.islice(rows, GREY_PEEK))
    try:
        return 1 if all(is_grey(io.BytesIO(b)) for b in peek) else 3  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - a damaged image is reported when it is decoded; here it votes for colour
        return 3


def _prepare_image_folder(folder: Path, out: Path, *, source: str, size: int | None, channels: int | None, strict: bool,
                          workers: int | None, progress: bool | None) -> Manifest:
    """An image-folder repo: its train folder (or the repo's root) prepared as a local folder is."""
    images = train_files(_listing(folder))
    if not images:
        raise DataError(f"'{source}' holds neither parquet files nor images")
    parts = Path(images[0]).parts
    root = folder / Path(*parts[: parts.index("train") + 1]) if "train" in parts[:-1] else folder
    return prepare_folder(root, out, size=size, channels=channels, strict=strict, workers=workers, progress=progress, name=source)
