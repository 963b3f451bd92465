"""What data looks like to a variant: the request it makes, the description it gets, the batches.

These are the lowest layer of ganzoo's types (beside ``ganzoo.config``): the variant contract, the
in-memory datasets, the export format and the trainer all speak them, and they import nothing of
ganzoo's but its errors.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch

DataKind = Literal["image", "points"]
MAX_SIDE = 100_000  # bounds on what a description read back from a file may claim
MAX_PIXELS = 2**26  # one 8192x8192 image
MAX_CLASSES = 100_000


@dataclasses.dataclass(frozen=True)
class DataRequest:
    """How a variant wants its data served; the dataset loader resizes and converts to match."""

    kind: DataKind | None = "image"  # images (N, C, H, W), points (N, D), or None for either
    size: int | None = None  # square image side in pixels; None keeps the dataset's own
    channels: int | None = None  # 1 or 3; None keeps the dataset's own
    labels: bool = False  # the variant needs class labels
    domains: int = 1  # 2: two unpaired image domains A and B (CycleGAN); Batch.x_b then holds B
    crop: bool = False  # serve random size x size crops of whole photos (super-resolution), not resized images


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What the served data turned out to be; stored in every export so a model can be rebuilt."""

    name: str  # dataset name or folder path
    kind: DataKind  # "image" or "points"
    shape: tuple[int, ...]  # shape of one sample: (C, H, W) for images, (D,) for points
    num_classes: int | None = None  # number of classes when the data has labels
    domains: int = 1  # 2 for unpaired two-domain data; both domains have ``shape``
    class_names: tuple[str, ...] | None = None  # the label of each class index (folder names, "0".."9"), when known

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes,
                "domains": self.domains, "class_names": None if self.class_names is None else list(self.class_names)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataInfo":
        """Read back ``to_dict``'s output, which may come from a downloaded config.json: every entry
        is checked (ValueError naming it), and sizes are bounded, so a hostile file cannot make a
        loader allocate before anything else is checked."""
        if not isinstance(d, dict):
            raise ValueError("entry 'data' must be an object")
        name, kind, shape = d.get("name"), d.get("kind"), d.get("shape")
        if not isinstance(name, str):
            raise ValueError("entry 'data.name' must be a string")
        if kind not in ("image", "points"):
            raise ValueError("entry 'data.kind' must be 'image' or 'points'")
        dims = 3 if kind == "image" else 1
        if (not isinstance(shape, list) or len(shape) != dims
                or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= MAX_SIDE for s in shape)):
            raise ValueError(f"entry 'data.shape' must be a list of {dims} integers from 1 to {MAX_SIDE}")
        if kind == "image" and (shape[0] not in (1, 3) or shape[1] * shape[2] > MAX_PIXELS):
            raise ValueError(f"entry 'data.shape' must be [1 or 3, H, W] with H*W at most {MAX_PIXELS:,}")
        classes = d.get("num_classes")
        if classes is not None and not (isinstance(classes, int) and not isinstance(classes, bool) and 1 <= classes <= MAX_CLASSES):
            raise ValueError(f"entry 'data.num_classes' must be null or an integer from 1 to {MAX_CLASSES:,}")
        domains = d.get("domains", 1)
        if domains not in (1, 2) or isinstance(domains, bool):
            raise ValueError("entry 'data.domains' must be 1 or 2")
        names = d.get("class_names")
        if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)
                                  or len(names) != (classes or 0)):
            raise ValueError("entry 'data.class_names' must be null or a list of num_classes strings")
        return cls(name=name, kind=kind, shape=tuple(shape), num_classes=classes,
                   domains=domains, class_names=None if names is None else tuple(names))


@dataclasses.dataclass
class Batch:
    """One batch of real data on the training device; images in [-1, 1]."""

    x: torch.Tensor  # (B, C, H, W) images or (B, D) points
    y: torch.Tensor | None = None  # (B,) int64 class labels, when the dataset has them
    x_b: torch.Tensor | None = None  # two-domain data: an independently shuffled batch of domain B
