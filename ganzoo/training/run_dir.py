"""The run directory's bookkeeping: where each file of a run lives, who may write there, and the
two records that outlive the process (the run's config.json and metrics.jsonl).

    runs/dcgan-digits-20261122-091500/
      .lock              the one writer's pid, host and start (lock.py)
      config.json        the fully resolved variant and trainer config: what --resume rebuilds the run from
      metrics.jsonl      one JSON line per log step: losses, images/s, evaluations
      loss.png           the loss curves so far
      samples/           step-XXXXXXXX.png grids from the fixed noise batch
      checkpoints/       step-XXXXXXXX.safetensors, newest kept (checkpoint.py)
      export/            the trained generator as a Hugging Face model repo (ganzoo.export)

Only the process that writes (rank 0) touches files; the other ranks of a multi-process run hold
a RunDir that writes nothing.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

from .._files import Damaged, read_json_object
from .._io import TMP_PREFIX, atomic_write_bytes, atomic_write_json, atomic_write_text
from ..errors import GanzooError
from ..export.format import RUN_EXPORT
from .checkpoint import PATTERN
from .lock import RunLock, process_alive

log = logging.getLogger(__name__)

CONFIG = "config.json"
METRICS = "metrics.jsonl"


class RunDir:
    """One run's folder, as its writer (``writer=True``, rank 0) or as a reader that writes nothing."""

    def __init__(self, path: str | Path, *, writer: bool = True):
        self.path = Path(path)
        self.writer = writer
        self.lock = RunLock(self.path)  # taken by the writer before anything is written

    config = property(lambda self: self.path / CONFIG)
    metrics = property(lambda self: self.path / METRICS)
    checkpoints = property(lambda self: self.path / "checkpoints")
    samples = property(lambda self: self.path / "samples")
    export = property(lambda self: self.path / RUN_EXPORT)
    loss_plot = property(lambda self: self.path / "loss.png")

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step-{step:08d}.png"

    # -- claiming the folder -----------------------------------------------------------------------

    def create(self) -> None:
        """Create the folder now, before any data is loaded, so a --out that can never hold a run (a
        file, /proc/x, a read-only place) is refused at once; and refuse a folder named like a
        checkpoint where checkpoints go. :meth:`abandon` removes what this created if the run
        never starts."""
        if self.path.exists() and not self.path.is_dir():
            raise GanzooError(f"--out '{self.path}' is a file; give a folder (new or empty) for the run")
        if self.writer:
            missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GanzooError(f"--out '{self.path}' cannot be created: {exc.strerror or type(exc).__name__}") from None
            self._created = missing
        self.check_checkpoint_names()

    def abandon(self) -> None:
        """Remove the folders :meth:`create` made, when they are still empty (the run never started)."""
        for path in getattr(self, "_created", []):
            try:
                path.rmdir()
            except OSError:
                break
        self._created = []

    def check_checkpoint_names(self) -> None:
        """A folder (or anything but a file) named like a checkpoint would make every checkpoint
        write at that step fail, and be skipped on resume: refuse it by name before training."""
        if not self.checkpoints.is_dir():
            return
        for path in sorted(self.checkpoints.iterdir()):
            if (PATTERN.match(path.name) or path.name == "best.safetensors") and not path.is_file():
                raise GanzooError(f"'{path}' is not a file but is named like a checkpoint; ganzoo writes checkpoints there. "
                                  "Move it away, then run again")

    def claim(self, *, resumed: bool) -> None:
        """Take the lock (writer only) and clear what a killed writer left; a new run refuses a
        folder that already holds one."""
        if not self.writer:
            return
        self.lock.acquire()
        self.clean_temp_files()
        if not resumed and self.config.exists():
            self.lock.release()
            raise GanzooError(f"'{self.path}' already holds a run; continue it with --resume {self.path} or choose another --out")

    def release(self) -> None:
        self.lock.release()

    def clean_temp_files(self) -> None:
        """Remove what a killed writer left: ``.tmp-<pid>-<name>`` files (up to whole checkpoints)
        whose process no longer runs. Called with the run's lock held, so no live writer owns them."""
        for folder in (self.path, self.checkpoints, self.export, self.samples):
            if not folder.is_dir():
                continue
            for path in folder.glob(f"{TMP_PREFIX}*"):
                pid = path.name[len(TMP_PREFIX):].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                    log.info("removing %s, left by a writer that was killed", path)
                    path.unlink(missing_ok=True)

    # -- the records -------------------------------------------------------------------------------

    def write_config(self, doc: dict[str, Any]) -> None:
        if self.writer:
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.config, doc)

    def append_metrics(self, row: dict[str, Any]) -> None:
        if not self.writer:
            return
        try:
            with open(self.metrics, "a") as f:
                f.write(json.dumps(strict_row(row), allow_nan=False) + "\n")
        except OSError as exc:  # a full disk says so without a file name: name it
            if exc.filename is None:
                raise OSError(exc.errno, exc.strerror or str(exc), str(self.metrics)) from exc
            raise

    def read_metrics(self) -> list[dict[str, Any]]:
        return read_metrics(self.metrics)

    def rewrite_metrics(self, rows: list[dict[str, Any]]) -> None:
        """Keep only ``rows`` (a resumed run drops the lines of steps it will train again)."""
        if self.writer and (rows or self.metrics.exists()):
            atomic_write_text(self.metrics, "".join(json.dumps(strict_row(r), allow_nan=False) + "\n" for r in rows))

    def write_file(self, path: Path, data: bytes) -> None:
        if self.writer:
            atomic_write_bytes(path, data)


def strict_row(row: dict[str, Any]) -> dict[str, Any]:
    """A metrics row as strict JSON: a NaN or infinite value becomes null, and the row's
    "nonfinite" list names those keys (JSON has no NaN; most parsers reject the bare token)."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if not bad:
        return row
    return {**{k: (None if k in bad else v) for k, v in row.items()}, "nonfinite": bad}


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl; a torn last line (the process was killed mid-append) is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def default_run_dir(variant: str, dataset: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{variant}-{Path(dataset).name or 'data'}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def read_run_doc(run_dir: Path) -> dict[str, Any]:
    """A run directory's config.json, checked: a one-line GanzooError for a folder that is not a
    run (an export, say) or a config.json that is damaged."""
    doc_path = run_dir / CONFIG
    if not run_dir.is_dir():
        raise GanzooError(f"run directory '{run_dir}' does not exist" if not run_dir.exists() else f"'{run_dir}' is not a run directory")
    if not doc_path.exists():
        raise GanzooError(f"'{run_dir}' is not a run directory (no config.json)")
    try:
        doc = read_json_object(doc_path)
    except Damaged as exc:
        raise GanzooError(f"'{doc_path}' {exc}") from None
    if "generator" in doc or "format_version" in doc:
        parent = run_dir.resolve().parent
        hint = f"; its run is '{parent}'" if (parent / "checkpoints").is_dir() else ""
        raise GanzooError(f"'{run_dir}' is an export folder, not a run directory: --resume takes the folder with checkpoints/{hint}")
    for key, kind in (("variant", str), ("dataset", str), ("config", dict), ("train", dict)):
        if not isinstance(doc.get(key), kind):
            raise GanzooError(f"'{doc_path}' is not a run's config: entry '{key}' must be {'a string' if kind is str else 'an object'}")
    return doc
