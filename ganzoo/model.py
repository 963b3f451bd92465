"""A trained model: the generator half of a variant, and the typed description it was exported with.

``ganzoo.load`` and ``ganzoo.create`` return a :class:`Model`, and so does the trainer for its
periodic evaluation. A model holds only generators: no discriminator, optimizer or loss network is
built to sample. Its ``info`` is the export's config.json as typed data (``ganzoo.export.format``).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .data.types import DataInfo
from .errors import GanzooError
from .export.format import ExportInfo
from .variant import Task, Variant, unwrap

GENERATE_BATCH = 500  # samples per generator call: memory stays bounded whatever n is


class Model:
    """Generators loaded from an export (or freshly initialised), ready to sample, translate or upscale."""

    def __init__(self, variant: Variant, info: ExportInfo, path: Path | None = None):
        self.variant = variant  # the variant's generator half, holding the weights
        self.info = info  # the typed config.json
        self.path = path  # the folder it came from; None for a model that was never exported
        self._thresholds: dict[float, float] = {}  # truncation fraction -> its Jacobian-norm threshold

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
        """The label of each class index: recorded names, else the indices themselves ("0".."9")."""
        data = self.info.data
        return data.class_names or (tuple(str(i) for i in range(data.num_classes)) if data.num_classes else None)

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
    def sample(self, n: int = 64, seed: int = 0, labels: torch.Tensor | list[int] | int | str | None = None,
               truncation: float = 0.0) -> torch.Tensor:
        """``n`` samples on the model's device, the same for the same seed: images in [0, 1],
        points as they are. ``labels`` (conditional models): one class for all, or one per sample,
        as indices or class names. ``truncation``: reject that fraction of latents, those the
        generator stretches most (Jacobian-based truncation, ``ganzoo.truncation``); 0 samples G as trained."""
        out = self.generate(n, seed=seed, labels=labels, truncation=truncation).float()
        return out if self.data.kind == "points" else out.add(1).div(2).clamp(0, 1)

    @torch.no_grad()
    def generate(self, n: int, seed: int = 0, labels: torch.Tensor | list[int] | int | str | None = None,
                 truncation: float = 0.0) -> torch.Tensor:
        """``n`` samples in the variant's own range ([-1, 1] for images), as the trainer sees them."""
        batches = list(self.generate_batches(n, seed=seed, labels=labels, truncation=truncation))
        return batches[0] if len(batches) == 1 else torch.cat(batches)

    @torch.no_grad()
    def truncation_threshold(self, truncation: float) -> float:
        """The Jacobian norm above which ``truncation`` rejects a latent (computed once per fraction)."""
        from . import truncation as jbt

        q = jbt.check_fraction(truncation)
        if q not in self._thresholds:
            self._eval()
            self._thresholds[q] = jbt.threshold(self.variant.generate, self.variant.sample_inputs, q, GENERATE_BATCH)
        return self._thresholds[q]

    @torch.no_grad()
    def generate_batches(self, n: int, seed: int = 0, labels: torch.Tensor | list[int] | int | str | None = None,
                         truncation: float = 0.0):
        """``generate(n, ...)``'s samples as an iterator of batches of at most GENERATE_BATCH, computed
        one at a time: memory independent of ``n`` (what `ganzoo sample -n 100000` streams into its grid)."""
        from . import truncation as jbt

        jbt.check_fraction(truncation)
        if not isinstance(n, int) or n < 1:
            raise GanzooError(f"the number of samples must be at least 1, got {n!r}")
        if isinstance(labels, (int, str)):
            labels = [self.label_index(labels)] * n
        if labels is not None:
            if self.task != Task.CONDITIONAL:
                raise GanzooError(f"variant '{self.name}' is unconditional and takes no labels")
            labels = torch.as_tensor([self.label_index(v) for v in labels] if isinstance(labels, list) else labels,
                                     dtype=torch.long, device=self.device)
            nc = self.data.num_classes or 0
            if len(labels) != n or bool(((labels < 0) | (labels >= nc)).any()):
                raise GanzooError(f"labels must be {n} class indices in 0..{nc - 1}")
        limit = self.truncation_threshold(truncation) if truncation else None
        rng = torch.Generator().manual_seed(seed)
        inputs = self.variant.sample_inputs(n, rng, labels)  # all of n's inputs at once: the same draws for any batching
        self._eval()
        if limit is not None:
            yield from jbt.truncated_batches(self.variant.generate, self.variant.sample_inputs, inputs, rng, limit, GENERATE_BATCH)
            return
        for i in range(0, n, GENERATE_BATCH):
            yield self.variant.generate(**{k: v[i : i + GENERATE_BATCH] for k, v in inputs.items()})

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b", *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Unpaired translation (CycleGAN): images in [0, 1], (N, C, H, W) or (C, H, W), any size, of
        domain A ("a2b") or B ("b2a") -> the other domain's, in [0, 1], on the model's device
        (``dtype=torch.uint8``: 0..255, a quarter of the memory)."""
        if direction not in ("a2b", "b2a"):
            raise GanzooError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        return self._image_to_image(images, lambda x: self.variant.translate(x, direction), dtype, tile=None, scale=1)

    @torch.no_grad()
    def upscale(self, images: torch.Tensor, tile: int | None = None, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Super-resolution: images in [0, 1], (N, C, h, w) or (C, h, w) -> ``scale`` times larger, in
        [0, 1]. ``tile`` (LR pixels) processes large images in overlapping tiles, each written straight
        into the output, so memory beyond the output stays that of one tile; ``dtype=torch.uint8``
        gives 0..255 and makes the output itself a quarter of float32's (what `ganzoo upscale` does)."""
        return self._image_to_image(images, self.variant.upscale, dtype, tile=tile, scale=type(self.variant).scale)

    def _image_to_image(self, images: torch.Tensor, fn, dtype: torch.dtype, *, tile: int | None, scale: int) -> torch.Tensor:
        single = images.ndim == 3
        x = images.unsqueeze(0) if single else images
        channels = self.data.shape[0]
        if x.ndim != 4 or x.shape[1] != channels:
            raise GanzooError(f"expected images shaped (N, {channels}, H, W), got {tuple(images.shape)}")
        if dtype not in (torch.float32, torch.uint8):
            raise GanzooError(f"dtype must be torch.float32 or torch.uint8, got {dtype}")
        self._eval()

        def run(part: torch.Tensor) -> torch.Tensor:  # [0, 1] or uint8 in, the output's dtype out
            part = part.to(self.device, torch.float32)
            part = part / 255 if images.dtype == torch.uint8 else part
            y = fn(part * 2 - 1).float().add_(1).div_(2).clamp_(0, 1)
            return y.mul_(255).round_().to(torch.uint8) if dtype == torch.uint8 else y

        try:
            out = run(x) if tile is None else _tiled(run, x, tile, scale, dtype, self.device)
        except (ValueError, RuntimeError) as exc:
            if min(x.shape[2:]) >= SMALL:
                raise
            # A few pixels leave a generator's normalisation or padding nothing to work on.
            raise GanzooError(f"a {x.shape[3]}x{x.shape[2]} image is too small for this {self.name} model "
                              f"({str(exc).splitlines()[0][:120]})") from None
        return out[0] if single else out


SMALL = 64  # a generator failing on an input smaller than this is failing on its size


def _tiled(fn, x: torch.Tensor, tile: int, scale: int, dtype: torch.dtype, device: torch.device, overlap: int = 32) -> torch.Tensor:
    """``fn`` (x``scale`` upscaling) over overlapping tiles of ``x``, each written into the output
    as it is computed; each tile's border of ``overlap`` LR pixels is computed but discarded, so
    seams see the same context as the interior."""
    b, c, h, w = x.shape
    if h <= tile and w <= tile:
        return fn(x)
    # Channels-last: each image is then (H, W, C) in memory, what an image file holds, so writing
    # it out needs no transposed copy.
    out = torch.empty(b, c, h * scale, w * scale, dtype=dtype, device=device, memory_format=torch.channels_last)
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            t0, l0 = max(0, top - overlap), max(0, left - overlap)
            t1, l1 = min(h, top + tile + overlap), min(w, left + tile + overlap)
            y = fn(x[:, :, t0:t1, l0:l1])
            th, tw = min(tile, h - top), min(tile, w - left)
            oy, ox = (top - t0) * scale, (left - l0) * scale
            out[:, :, top * scale : (top + th) * scale, left * scale : (left + tw) * scale] = y[:, :, oy : oy + th * scale, ox : ox + tw * scale]
            del y
    return out
