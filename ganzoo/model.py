"""A trained model: the generator half of a variant, and the typed description it was exported with.

``ganzoo.load`` and ``ganzoo.create`` return a :class:`Model`, and so does the trainer for its
periodic evaluation. A model holds only generators: no discriminator, optimizer or loss network is
built to sample. :class:`ExportInfo` is config.json (export format 2, ``docs/export-format.md``) as
typed data; ``ganzoo.export`` reads and writes it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .data.types import DataInfo
from .errors import GanzooError
from .variant import Task, Variant, unwrap

FORMAT_VERSION = 2  # of config.json; format 1 is what ganzoo 0.1 wrote (read, never written)
GENERATE_BATCH = 500  # samples per generator call: memory stays bounded whatever n is


@dataclasses.dataclass(frozen=True)
class PluginRef:
    """The installed distribution that provides a variant: what to ``pip install`` to load it."""

    distribution: str | None  # e.g. "ganzoo" or "ganzoo-tinygan"; None when registered in-process
    version: str | None  # the distribution's version when the model was exported


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """How to rebuild the generators: ``cls(**args)`` once per module name."""

    cls: str  # the generator class's name (its source is in the model card)
    modules: tuple[str, ...]  # the attribute names, which prefix the tensor names ("G", or "G_ab", "G_ba")
    args: dict[str, Any]  # flat constructor arguments, JSON values only


@dataclasses.dataclass(frozen=True)
class TrainingRecord:
    """How the weights were made; nothing here is needed to load them."""

    dataset: str  # registered name or folder path
    steps: int  # training steps done
    ema: bool  # whether the weights are the EMA average
    config: dict[str, Any]  # the variant's full config (hyper-parameters, schedule)
    train: dict[str, Any]  # the trainer's config (seed, amp, pack, ...); empty for format-1 exports
    command: str  # a `ganzoo run` line that reproduces the weights, with no absolute local paths


@dataclasses.dataclass(frozen=True)
class ExportInfo:
    """An export's config.json, typed."""

    variant: str  # registry name of the variant
    plugin: PluginRef  # the distribution that provides it
    task: Task
    generator: GeneratorSpec
    io: dict[str, Any]  # inputs, output range and layout, id2label, scale, directions: enough to drive G from any program
    data: DataInfo  # what the model was trained on, as served
    training: TrainingRecord
    ganzoo_version: str  # that wrote the export
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "library_name": "ganzoo",
            "ganzoo_version": self.ganzoo_version,
            "variant": self.variant,
            "plugin": dataclasses.asdict(self.plugin),
            "task": self.task.value,
            "generator": {"class": self.generator.cls, "modules": list(self.generator.modules), "args": self.generator.args},
            "io": self.io,
            "data": self.data.to_dict(),
            "training": dataclasses.asdict(self.training),
        }


class Model:
    """Generators loaded from an export (or freshly initialised), ready to sample, translate or upscale."""

    def __init__(self, variant: Variant, info: ExportInfo, path: Path | None = None):
        self.variant = variant  # the variant's generator half, holding the weights
        self.info = info  # the typed config.json
        self.path = path  # the folder it came from; None for a model that was never exported

    def __repr__(self) -> str:
        return f"Model({self.name!r}, dataset={self.dataset!r}, parameters={self.num_parameters():,}, path={str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.info.variant

    @property
    def task(self) -> Task:
        return self.info.task

    @property
    def data(self) -> DataInfo:
        return self.info.data

    @property
    def dataset(self) -> str:
        return self.info.training.dataset

    @property
    def device(self) -> torch.device:
        return self.variant.device

    @property
    def class_names(self) -> tuple[str, ...] | None:
        return self.info.data.class_names

    def generators(self) -> dict[str, nn.Module]:
        return {name: unwrap(m) for name, m in self.variant.generators().items()}

    def num_parameters(self) -> int:
        return sum(p.numel() for g in self.generators().values() for p in g.parameters())

    def label_index(self, label: int | str) -> int:
        """A class index from an index or a class name (``io.id2label``)."""
        names = self.class_names or ()
        if isinstance(label, str):
            if label in names:
                return names.index(label)
            if label.lstrip("-").isdigit():
                return int(label)
            raise GanzooError(f"no class named {label!r}; classes: {', '.join(names) or '(none recorded)'}")
        return int(label)

    def _eval(self) -> None:
        for g in self.variant.generators().values():
            g.eval()

    @torch.no_grad()
    def sample(self, n: int = 64, seed: int = 0, labels: torch.Tensor | list[int] | int | str | None = None) -> torch.Tensor:
        """``n`` samples on the model's device, the same for the same seed: images in [0, 1],
        points as they are. ``labels`` (conditional models): one class for all, or one per sample,
        as indices or class names."""
        out = self.generate(n, seed=seed, labels=labels).float()
        return out if self.data.kind == "points" else out.add(1).div(2).clamp(0, 1)

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0, labels: torch.Tensor | list[int] | int | str | None = None) -> torch.Tensor:
        """``n`` samples in the variant's own range ([-1, 1] for images), as the trainer sees them."""
        if isinstance(labels, (int, str)):
            labels = [self.label_index(labels)] * n
        if labels is not None:
            if self.task != Task.CONDITIONAL:
                raise GanzooError(f"variant '{self.name}' is unconditional and takes no labels")
            labels = torch.as_tensor([self.label_index(v) for v in labels] if isinstance(labels, list) else labels,
                                     dtype=torch.long, device=self.device)
            nc = self.data.num_classes
            if len(labels) != n or bool(((labels < 0) | (labels >= nc)).any()):
                raise GanzooError(f"labels must be {n} class indices in 0..{nc - 1}")
        rng = torch.Generator().manual_seed(seed)
        inputs = self.variant.sample_inputs(n, rng, labels)  # all of n's inputs at once: the same draws for any batching
        self._eval()
        if n <= GENERATE_BATCH:
            return self.variant.generate(**inputs)
        return torch.cat([self.variant.generate(**{k: v[i : i + GENERATE_BATCH] for k, v in inputs.items()})
                          for i in range(0, n, GENERATE_BATCH)])

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Unpaired translation (CycleGAN): images in [0, 1], (N, C, H, W) or (C, H, W), any size, of
        domain A ("a2b") or B ("b2a") -> the other domain's, in [0, 1], on the model's device."""
        if direction not in ("a2b", "b2a"):
            raise GanzooError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        return self._image_to_image(images, lambda x: self.variant.translate(x, direction))

    @torch.no_grad()
    def upscale(self, images: torch.Tensor, tile: int | None = None) -> torch.Tensor:
        """Super-resolution: images in [0, 1], (N, C, h, w) or (C, h, w) -> ``scale`` times larger, in
        [0, 1]. ``tile`` (LR pixels) processes large images in overlapping tiles to bound memory."""
        scale = type(self.variant).scale
        fn = self.variant.upscale if tile is None else lambda x: _tiled(self.variant.upscale, x, tile, scale)
        return self._image_to_image(images, fn)

    def _image_to_image(self, images: torch.Tensor, fn) -> torch.Tensor:
        single = images.ndim == 3
        x = images.unsqueeze(0) if single else images
        channels = self.data.shape[0]
        if x.ndim != 4 or x.shape[1] != channels:
            raise GanzooError(f"expected images shaped (N, {channels}, H, W), got {tuple(images.shape)}")
        if x.dtype == torch.uint8:
            x = x.float() / 255
        self._eval()
        out = fn(x.to(self.device, torch.float32) * 2 - 1).float().add(1).div(2).clamp(0, 1)
        return out[0] if single else out


def _tiled(fn, x: torch.Tensor, tile: int, scale: int, overlap: int = 32) -> torch.Tensor:
    """``fn`` (x``scale`` upscaling) over overlapping tiles of ``x``; each tile's border of
    ``overlap`` LR pixels is computed but discarded, so seams see the same context as the interior."""
    b, c, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    out = x.new_empty(b, c, h * scale, w * scale)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(0, top - overlap), max(0, left - overlap)
            t1, l1 = min(h, top + tile + overlap), min(w, left + tile + overlap)
            y = fn(x[:, :, t0:t1, l0:l1])
            th, tw = min(tile, h - top), min(tile, w - left)
            oy, ox = (top - t0) * scale, (left - l0) * scale
            out[:, :, top * scale : (top + th) * scale, left * scale : (left + tw) * scale] = y[:, :, oy : oy + th * scale, ox : ox + tw * scale]
    return out
