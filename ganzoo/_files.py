"""Reading files that may be damaged or hostile: the checks that come before any byte is trusted.

Exports come from the Hub and checkpoints from runs that were killed, so both can be truncated,
overwritten, replaced by a folder or a FIFO, or written to lie. Everything here answers with one
sentence saying what is wrong (the caller prefixes the path and picks the error type), never a
traceback from deep inside a parser, and never blocks: a FIFO or a device is refused before it is
opened.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

MAX_JSON_BYTES = 16 * 2**20  # config.json files are a few kB; a bigger one is not ours
MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the header
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


class Damaged(ValueError):
    """A file that is not what it must be; the message says why, without the path."""


class TensorEntry(NamedTuple):
    dtype: str  # safetensors dtype name: "F32", "I64", ...
    shape: tuple[int, ...]


def regular_file(path: Path) -> os.stat_result:
    """The file's stat, when it is a regular file (not a folder, FIFO, socket or device)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise Damaged("does not exist") from None
    except OSError as exc:
        raise Damaged(f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a special file"
        raise Damaged(f"is {kind}, not a file")
    return st


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file that must hold an object (a dict), checked as a file first."""
    st = regular_file(path)
    if st.st_size > MAX_JSON_BYTES:
        raise Damaged(f"is {st.st_size:,} bytes, too large for a ganzoo JSON file")
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as exc:
        raise Damaged(f"is not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:
        raise Damaged(f"cannot be read ({exc.strerror or exc})") from None
    if not isinstance(doc, dict):
        raise Damaged(f"must hold a JSON object, not {_json_kind(doc)}")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_kind(value: Any) -> str:
    return {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}.get(type(value), type(value).__name__)


def safetensors_header(path: Path) -> tuple[dict[str, TensorEntry], dict[str, str]]:
    """The tensors (name -> dtype, shape) and metadata a safetensors file declares, after checking
    that the header is what the format says: its length fits the file, it is a JSON object, every
    dtype is known, every shape is non-negative, each tensor's byte range has exactly the size its
    dtype and shape need, and the ranges tile the data section with no gap, overlap or excess."""
    size = regular_file(path).st_size
    if size < 8:
        raise Damaged(f"is truncated ({size} bytes; a safetensors file starts with an 8-byte header length)")
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n > min(size - 8, MAX_HEADER_BYTES):
                raise Damaged(f"is truncated or not safetensors (its header claims {n:,} bytes; the file has {size - 8:,} after the length)")
            raw = f.read(n)
    except OSError as exc:
        raise Damaged(f"cannot be read ({exc.strerror or exc})") from None
    try:
        header = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Damaged("is not safetensors (its header is not valid JSON)") from None
    if not isinstance(header, dict):
        raise Damaged("is not safetensors (its header is not a JSON object)")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise Damaged("has a malformed header (__metadata__ must map strings to strings)")
    data_size = size - 8 - n
    entries: dict[str, TensorEntry] = {}
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict):
            raise Damaged(f"has a malformed header (entry '{_short(name)}' is not an object)")
        dtype, shape, offsets = e.get("dtype"), e.get("shape"), e.get("data_offsets")
        if dtype not in DTYPE_BYTES:
            raise Damaged(f"has a malformed header (tensor '{_short(name)}' has unknown dtype {_short(dtype)})")
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise Damaged(f"has a malformed header (tensor '{_short(name)}' has shape {_short(shape)})")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets) or offsets[1] < offsets[0]):
            raise Damaged(f"has a malformed header (tensor '{_short(name)}' has data_offsets {_short(offsets)})")
        need = math.prod(shape) * DTYPE_BYTES[dtype]
        if offsets[1] - offsets[0] != need:
            raise Damaged(f"has a header that lies: tensor '{_short(name)}' ({dtype} {shape}) needs {need:,} bytes, its offsets span {offsets[1] - offsets[0]:,}")
        entries[name] = TensorEntry(dtype, tuple(shape))
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            what = "overlaps the one before" if begin < end else f"starts {begin - end:,} bytes after the one before"
            raise Damaged(f"has a header that lies: the data of tensor '{_short(name)}' {what}")
        end = stop
    if end != data_size:
        if end > data_size:
            raise Damaged(f"is truncated: its header describes {end:,} bytes of tensor data, the file holds {data_size:,}")
        raise Damaged(f"has {data_size - end:,} bytes after its last tensor (the file was appended to or damaged)")
    return entries, meta


def _short(value: Any, limit: int = 60) -> str:
    from ._text import escaped

    return escaped(value, limit)
