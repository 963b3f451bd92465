"""Datasets held in memory as one tensor, and the stream of batches the trainer draws from them.

GAN datasets in this zoo are small enough to live on the training device as a single tensor
(CIFAR-10 at 32x32 is 150 MB as uint8). Batching is then one index operation per batch: no
DataLoader workers, no per-sample Python, no host-to-device copy in the hot loop.
"""

from __future__ import annotations

import dataclasses

import torch

from ..variant import Batch, DataInfo, DataKind


@dataclasses.dataclass
class InMemoryData:
    """A whole dataset: images as uint8 (N, C, H, W) in [0, 255], or points as float (N, D)."""

    name: str  # dataset name or folder path, recorded in exports
    x: torch.Tensor  # uint8 images or float32 points
    y: torch.Tensor | None = None  # int64 labels (N,), if any
    num_classes: int | None = None  # number of classes when y is given
    kind: DataKind = "image"

    def __post_init__(self) -> None:
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{self.name}: {len(self.x)} samples but {len(self.y)} labels")
        if self.y is not None and self.num_classes is None:
            self.num_classes = int(self.y.max()) + 1

    def __len__(self) -> int:
        return len(self.x)

    @property
    def info(self) -> DataInfo:
        return DataInfo(self.name, self.kind, tuple(self.x.shape[1:]), self.num_classes)

    def to(self, device: torch.device | str) -> "InMemoryData":
        y = None if self.y is None else self.y.to(device)
        return dataclasses.replace(self, x=self.x.to(device), y=y)

    def as_model_input(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float in [-1, 1]; points pass through as float32."""
        if x.dtype == torch.uint8:
            return x.float().div_(127.5).sub_(1.0)
        return x.float()


class BatchStream:
    """An endless, reproducible sequence of shuffled batches.

    Batch ``k`` depends only on (seed, k): the data is reshuffled every epoch with a generator
    seeded from (seed, epoch). A resumed run therefore only needs ``position`` to continue exactly,
    and rank ``r`` of ``world`` takes its own slice of every global batch.
    """

    def __init__(self, data: InMemoryData, batch_size: int, seed: int, *, rank: int = 0, world: int = 1):
        if batch_size * world > len(data):  # a tiny dataset: one batch is the whole of it
            batch_size = max(1, len(data) // world)
        self.data = data
        self.batch_size = batch_size
        self.global_batch = batch_size * world
        self.seed = seed
        self.rank = rank
        self.per_epoch = max(1, len(data) // self.global_batch)
        self.position = 0  # batches drawn so far; saved in checkpoints
        self._epoch = -1
        self._perm: torch.Tensor | None = None

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perm = torch.randperm(len(self.data), generator=g).to(self.data.x.device)
            self._epoch = epoch
        return self._perm

    def next(self) -> Batch:
        epoch, i = divmod(self.position, self.per_epoch)
        self.position += 1
        start = i * self.global_batch + self.rank * self.batch_size
        idx = self._permutation(epoch)[start : start + self.batch_size]
        x = self.data.as_model_input(self.data.x[idx])
        y = None if self.data.y is None else self.data.y[idx]
        return Batch(x, y)
