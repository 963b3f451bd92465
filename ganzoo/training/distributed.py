"""Multi-process training with PyTorch's own engine: torch.distributed + DistributedDataParallel.

``torchrun --nproc_per_node=N -m ganzoo run VARIANT ...`` (or ``ganzoo run VARIANT --nproc N``,
which launches exactly that) starts N processes; each joins the process group here (nccl on CUDA,
one GPU per process; gloo on CPU), builds the same networks from the same seed, wraps every
network the variant trains in DistributedDataParallel, draws its own slice of every global batch
and its own noise, and averages gradients with the others. Rank 0 alone logs, writes samples,
checkpoints and the export; checkpoints hold every rank's RNG state, so a resumed run is exact.

Each process trains on ``batch_size`` samples, so the effective batch is N x batch_size; the
learning rate is left as configured (scale it yourself, e.g. linearly with N, if you keep the
number of steps and want the same progress per step).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn


def launched() -> bool:
    """Whether this process was started by torchrun for more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup() -> None:
    """Join the process group torchrun set up the environment for (idempotent)."""
    if not launched() or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0, 1 when not distributed)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def collective_device() -> torch.device:
    """Where a tensor for a collective must live: the process's GPU under nccl, else the CPU."""
    if dist.is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def local_device(device: torch.device) -> torch.device:
    """One GPU per process: cuda -> cuda:LOCAL_RANK under torchrun."""
    if device.type == "cuda" and device.index is None and launched():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def wrap(module: nn.Module, device: torch.device, sync_batchnorm: bool) -> nn.Module:
    """DistributedDataParallel around one network. ``find_unused_parameters`` because a GAN step
    runs a network whose weights are frozen for that step (D during G's update) or detached (G
    during D's); buffers (batchnorm statistics) stay per process, so rank 0 can sample alone."""
    from torch.nn.parallel import DistributedDataParallel

    if not any(p.requires_grad for p in module.parameters()):
        return module
    if sync_batchnorm and device.type == "cuda":
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)  # keeps the same Parameter objects
    return DistributedDataParallel(
        module, device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=True, broadcast_buffers=False,
    )


def gather_rng_states(state: dict[str, torch.Tensor], rank: int, world: int) -> dict[str, torch.Tensor]:
    """Every rank's RNG state under ``rank<r>.`` keys (a collective: all ranks call it)."""
    if world == 1:
        return state
    everyone: list = [None] * world
    dist.all_gather_object(everyone, {k: v.cpu() for k, v in state.items()})
    return {f"rank{r}.{k}": v for r, s in enumerate(everyone) for k, v in s.items()}
