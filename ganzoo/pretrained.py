"""Pretrained models as typed data, in the style of torchvision's ``Weights``.

A plugin ships export folders inside its package and registers a :class:`Pretrained` for each
through the ``register_pretrained`` hook; its metadata (dataset, resolution, the harness's
metrics with their protocols, the command that reproduces it, size and sha256 of the weights)
lives in ``pretrained.json`` beside the weights, written by ``benchmarks/pretrained.py``.
``ganzoo.load("dcgan-digits")`` checks the sha256 before it loads anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from ._text import number
from .errors import ExportError

METADATA = "pretrained.json"


@dataclasses.dataclass(frozen=True)
class Pretrained:
    name: str  # what ganzoo.load() and `ganzoo sample` take, e.g. "dcgan-digits"
    variant: str  # the variant that loads it
    dataset: str  # what it was trained on
    resolution: tuple[int, ...]  # shape of one sample, (C, H, W)
    folder: Path  # the export folder inside the plugin's package
    sha256: str  # of model.safetensors, checked before loading
    file_size: int  # bytes of model.safetensors
    metrics: dict[str, dict[str, Any]]  # metric id -> {"values": ..., "protocol": ...} from the harness
    command: str  # reproduces the weights
    recipe: dict[str, Any]  # the settings it was trained with (beyond the variant's defaults)
    # (metric, key, ...) that listings show: one key, or the keys a reader needs side by side
    # (both directions of a translation; modes and high quality on a mixture)
    headline: tuple[str, ...] | None = None

    @classmethod
    def from_folder(cls, folder: str | Path) -> "Pretrained":
        """The entry described by ``folder/pretrained.json``."""
        folder = Path(folder)
        doc = json.loads((folder / METADATA).read_text())
        return cls(
            name=doc["name"], variant=doc["variant"], dataset=doc["dataset"], resolution=tuple(doc["resolution"]),
            folder=folder, sha256=doc["sha256"], file_size=doc["file_size"], metrics=doc["metrics"],
            command=doc["command"], recipe=doc["recipe"], headline=tuple(doc["headline"]) if doc.get("headline") else None,
        )

    def verified_folder(self) -> Path:
        """The folder, after checking that its weights are the recorded ones."""
        weights = self.folder / "model.safetensors"
        if not weights.is_file():
            raise ExportError(f"pretrained model '{self.name}' is missing its weights ({weights})")
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise ExportError(f"pretrained model '{self.name}': {weights} has sha256 {digest[:12]}..., expected {self.sha256[:12]}...")
        return self.folder

    def summary(self) -> str:
        """The headline's values for listings (else the first key of the first metric), each with
        its spread over evaluation draws (``KEY_std``) and, beside an FID, the real-vs-real floor
        it should be read against."""
        metric, keys = (self.headline[0], self.headline[1:]) if self.headline and self.headline[0] in self.metrics else (None, ())
        if metric is None:
            for name, result in self.metrics.items():
                metric, keys = name, tuple(result["values"])[:1]
                break
        if metric is None or not keys:
            return "-"
        values = self.metrics[metric]["values"]

        def show(k):
            v = values.get(k)
            if not isinstance(v, (int, float)):
                return f"{v}"
            spread = values.get(f"{k}_std")
            return number(v, 4) + (f" ± {number(spread, 2)}" if isinstance(spread, (int, float)) else "")

        def shown(key):
            floor = f"{key}_real_floor"
            return f"{key} {show(key)}" + (f" (real-vs-real {show(floor)})" if floor in values else "")

        return f"{metric} " + ", ".join(shown(key) for key in keys)


def register_shipped(register, package_file: str) -> None:
    """Register every ``pretrained/*/`` export folder shipped beside ``package_file`` (a plugin's
    ``__init__.py``): what a plugin's ``register_pretrained`` hook usually does."""
    for meta in sorted((Path(package_file).parent / "pretrained").glob(f"*/{METADATA}")):
        register(Pretrained.from_folder(meta.parent))
