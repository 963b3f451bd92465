"""Datasets held in memory as one tensor, and the stream of batches the trainer draws from them.

GAN datasets in this zoo are small enough to live on the training device as a single tensor
(CIFAR-10 at 32x32 is 150 MB as uint8). Batching is then one index operation per batch: no
DataLoader workers, no per-sample Python, no host-to-device copy in the hot loop.
"""

from __future__ import annotations

import dataclasses

import torch

from .types import Batch, DataInfo, DataKind


@dataclasses.dataclass
class InMemoryData:
    """A whole dataset: images as uint8 (N, C, H, W) in [0, 255], or points as float (N, D)."""

    name: str  # dataset name or folder path, recorded in exports
    x: torch.Tensor  # uint8 images or float32 points
    y: torch.Tensor | None = None  # int64 labels (N,), if any
    num_classes: int | None = None  # number of classes when y is given
    kind: DataKind = "image"
    x_b: torch.Tensor | None = None  # two-domain data (CycleGAN): domain B's images, unpaired with x
    y_b: torch.Tensor | None = None  # labels of x_b, for evaluation only
    held_out: list[torch.Tensor] | None = None  # whole uint8 (C, H, W) images never trained on (super-resolution eval)
    class_names: tuple[str, ...] | None = None  # the label of each class index, when known (folder names, "0".."9")

    def __post_init__(self) -> None:
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"{self.name}: {len(self.x)} samples but {len(self.y)} labels")
        if self.y is not None and self.num_classes is None:
            self.num_classes = int(self.y.max()) + 1

    def __len__(self) -> int:
        return len(self.x)

    @property
    def info(self) -> DataInfo:
        names = self.class_names
        if names is None and self.num_classes:
            names = tuple(str(i) for i in range(self.num_classes))
        return DataInfo(self.name, self.kind, tuple(self.x.shape[1:]), self.num_classes, 1 if self.x_b is None else 2, names)

    def to(self, device: torch.device | str) -> "InMemoryData":
        def move(t):
            return None if t is None else t.to(device)

        return dataclasses.replace(self, x=self.x.to(device), y=move(self.y), x_b=move(self.x_b), y_b=move(self.y_b))

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
        self.world = world
        self.position = 0  # batches drawn so far; saved in checkpoints
        self._perms: dict[tuple[int, int], torch.Tensor] = {}

    def _indices(self, n: int, stream: int) -> torch.Tensor:
        """This rank's indices into a tensor of ``n`` samples for the current batch; ``stream`` 1
        shuffles domain B independently of domain A (stream 0)."""
        batch = min(self.batch_size, max(1, n // self.world))
        global_batch = batch * self.world
        epoch, i = divmod(self.position, max(1, n // global_batch))
        if (stream, epoch) not in self._perms:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7_919 * stream)
            self._perms = {k: v for k, v in self._perms.items() if k[0] != stream}  # keep one epoch per stream
            self._perms[(stream, epoch)] = torch.randperm(n, generator=g).to(self.data.x.device)
        start = i * global_batch + self.rank * batch
        return self._perms[(stream, epoch)][start : start + batch]

    def next(self) -> Batch:
        idx = self._indices(len(self.data), 0)
        x = self.data.as_model_input(self.data.x[idx])
        y = None if self.data.y is None else self.data.y[idx]
        x_b = None
        if self.data.x_b is not None:
            x_b = self.data.as_model_input(self.data.x_b[self._indices(len(self.data.x_b), 1)])
        self.position += 1
        return Batch(x, y, x_b)
