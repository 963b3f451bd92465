"""Datasets as one tensor, and the stream of batches the trainer draws from them.

Small datasets live on the training device as a single tensor (CIFAR-10 at 32x32 is 150 MB as
uint8): batching is one index operation per batch, with no host-to-device copy in the hot loop.
A prepared dataset too large for that is *mapped* (``InMemoryData.mapped``): its tensor is a
memory map of the file on disk, and each batch is read from the file in a background thread while
the previous one trains: its images only, in file order, straight into the batch's (pinned, on
CUDA) buffer with one ``preadv`` each (where the OS has it; elsewhere gathered from the map). The
batch is then copied to the device non-blocking and converted there; on the CPU the thread
converts it too. Reading, not faulting the map's pages in, keeps the process's memory flat however
large the file: the pages stay the kernel's cache, not the process's. Both paths draw the same
indices, so the same seed gives the same batches either way, and a resume continues exactly on both.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import Future, ThreadPoolExecutor

import torch

from ..errors import DataError
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
    mapped: bool = False  # x is a memory map of a prepared dataset on disk: batches are read from it, it never moves whole
    file: str | None = None  # mapped data: the file x maps (C-order rows, nothing else), which batches are read from

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

        if self.mapped:  # stays on disk; the stream moves each batch
            return self
        return dataclasses.replace(self, x=self.x.to(device), y=move(self.y), x_b=move(self.x_b), y_b=move(self.y_b))

    def loaded(self) -> "InMemoryData":
        """A mapped dataset read into memory whole (what small prepared datasets get); others as they are."""
        return dataclasses.replace(self, x=self.x.clone(), mapped=False, file=None) if self.mapped else self

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

    def __init__(self, data: InMemoryData, batch_size: int, seed: int, *, rank: int = 0, world: int = 1,
                 device: torch.device | str | None = None, channels_last: bool = False):
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
        # A mapped dataset: batches go to ``device`` one at a time, the next one read ahead.
        self.device = torch.device(device) if device is not None else data.x.device
        self.channels_last = channels_last
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="ganzoo-batches") if data.mapped else None
        self._ahead: tuple[int, Future] | None = None
        self._fd: int | None = None
        if data.mapped and data.file is not None and hasattr(os, "preadv"):
            self._fd = os.open(data.file, os.O_RDONLY)
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_RANDOM)  # scattered rows: read-ahead would read their neighbours

    def __del__(self) -> None:  # the reader thread holds the stream while it reads: nothing reads after this
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def _indices(self, n: int, stream: int) -> torch.Tensor:
        """This rank's indices into a tensor of ``n`` samples for the current batch; ``stream`` 1
        shuffles domain B independently of domain A (stream 0)."""
        batch = min(self.batch_size, max(1, n // self.world))
        global_batch = batch * self.world
        epoch, i = divmod(self.position, max(1, n // global_batch))
        if (stream, epoch) not in self._perms:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch + 7_919 * stream)
            self._perms = {k: v for k, v in self._perms.items() if k[0] != stream}  # keep one epoch per stream
            self._perms[(stream, epoch)] = torch.randperm(n, generator=g).to("cpu" if self.data.mapped else self.data.x.device)
        start = i * global_batch + self.rank * batch
        return self._perms[(stream, epoch)][start : start + batch]

    def _gather(self, idx: torch.Tensor) -> torch.Tensor:
        """Images ``idx`` of the mapped array, read in file order: as the device's input on the CPU,
        else as uint8 in pinned memory (CUDA) for a non-blocking copy. Runs in the reader thread."""
        shape = self.data.x.shape[1:]
        x = torch.empty((len(idx), *shape), dtype=self.data.x.dtype, pin_memory=self.device.type == "cuda")
        order = torch.argsort(idx)
        if self._fd is not None:
            rows = x.view(len(idx), -1).numpy()
            size = rows.shape[1] * rows.itemsize
            for j, i in zip(order.tolist(), idx[order].tolist()):
                if os.preadv(self._fd, [rows[j]], i * size) != size:
                    raise DataError(f"'{self.data.file}' ends before image {i}: the prepared dataset was cut short; prepare it again")
        else:
            x[order] = self.data.x[idx[order]]
        if self.device.type != "cpu":
            return x
        x = self.data.as_model_input(x)
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    def _mapped_x(self, idx: torch.Tensor) -> torch.Tensor:
        assert self._reader is not None
        pending = self._ahead if self._ahead is not None and self._ahead[0] == self.position else None
        x = pending[1].result() if pending is not None else self._gather(idx)
        self.position += 1  # the next batch's indices, then back: _indices reads the position
        self._ahead = (self.position, self._reader.submit(self._gather, self._indices(len(self.data), 0)))
        self.position -= 1
        if self.device.type == "cpu":
            return x  # converted by the reader
        x = self.data.as_model_input(x.to(self.device, non_blocking=True))
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    def next(self) -> Batch:
        idx = self._indices(len(self.data), 0)
        if self.data.mapped:
            x = self._mapped_x(idx)
            y = None if self.data.y is None else self.data.y[idx].to(self.device, non_blocking=True)
            self.position += 1
            return Batch(x, y, None)
        x = self.data.as_model_input(self.data.x[idx])
        y = None if self.data.y is None else self.data.y[idx]
        x_b = None
        if self.data.x_b is not None:
            x_b = self.data.as_model_input(self.data.x_b[self._indices(len(self.data.x_b), 1)])
        self.position += 1
        return Batch(x, y, x_b)
