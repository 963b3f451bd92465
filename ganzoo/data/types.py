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
        names = d.get("class_names")
        return cls(name=d["name"], kind=d["kind"], shape=tuple(d["shape"]), num_classes=d.get("num_classes"),
                   domains=d.get("domains", 1), class_names=None if names is None else tuple(names))


@dataclasses.dataclass
class Batch:
    """One batch of real data on the training device; images in [-1, 1]."""

    x: torch.Tensor  # (B, C, H, W) images or (B, D) points
    y: torch.Tensor | None = None  # (B,) int64 class labels, when the dataset has them
    x_b: torch.Tensor | None = None  # two-domain data: an independently shuffled batch of domain B
