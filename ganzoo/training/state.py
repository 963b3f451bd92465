"""What a checkpoint holds, and putting it back: the variant's networks and optimizers, the EMA
weights, the batch position, the RNG states of every rank, the loss scaler, the step and the best
evaluated value. The trainer's loop reads and advances ``step``; everything else here is only
touched when a checkpoint is written or restored, so a resumed run continues bit for bit."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from .._version import __version__
from ..data import BatchStream
from ..errors import GanzooError
from ..precision import Precision
from ..variant import Variant, unwrap
from . import distributed
from .checkpoint import CheckpointError, checkpoint_path, list_checkpoints, prune_checkpoints, restore_checkpoint, rng_state, save_checkpoint
from .ema import EMA

log = logging.getLogger(__name__)


class TrainingState:
    """The resumable state of one process of a run (``rank`` of ``world``)."""

    def __init__(self, variant: Variant, stream: BatchStream, precision: Precision, ema: EMA | None):
        self.variant = variant
        self.stream = stream  # its position is part of the state: the next batch after a resume is the same
        self.precision = precision  # fp16's loss scale is part of the state too
        self.ema = ema
        self.rank, self.world = stream.rank, stream.world
        self.step = 0  # training steps done
        self.best: float | None = None  # best value of train.best_metric so far

    def nonfinite_weight(self) -> str | None:
        """The name of the first weight (of any network, or of the EMA) holding NaN or inf, else None:
        such weights are never written, so the last good checkpoint and export survive a divergence."""
        named = [(f"{n}.{k}", t) for n, net in self.variant.networks().items() for k, t in unwrap(net).state_dict().items()
                 if t.is_floating_point()]
        if self.ema is not None:
            named += [(f"ema.{k}", t) for k, t in self.ema.state_dict().items() if t.is_floating_point()]
        if not named:
            return None
        finite = torch.stack([torch.isfinite(t).all() for _, t in named]).cpu().tolist()
        return None if all(finite) else named[finite.index(False)][0]

    def save(self, folder: Path, *, keep: int) -> None:
        """A checkpoint of this step in ``folder``, keeping the ``keep`` newest that verify. Every
        rank takes part (its RNG state is gathered); only rank 0 writes."""
        rng = distributed.gather_rng_states(rng_state(), self.rank, self.world)
        if self.rank != 0:
            return
        extra = {"ganzoo_version": __version__, "best_value": self.best, "grad_scaler": self.precision.state(), "world_size": self.world}
        save_checkpoint(checkpoint_path(folder, self.step), variant=self.variant, ema=self.ema, stream=self.stream,
                        step=self.step, extra=extra, rng=rng)
        prune_checkpoints(folder, keep)

    def save_best(self, folder: Path, metric: str, value: float) -> None:
        self.best = value
        save_checkpoint(folder / "best.safetensors", variant=self.variant, ema=self.ema, stream=self.stream,
                        step=self.step, extra={"ganzoo_version": __version__, "best": {metric: value}})

    def restore_newest(self, folder: Path) -> bool:
        """Load the newest checkpoint in ``folder`` that is whole and fits this run's networks,
        naming any newer one skipped; False when there is none at all (a run killed before its
        first checkpoint), GanzooError when none of them can be used."""
        found = list_checkpoints(folder)
        if not found:
            return False
        reasons, meta, path = [], None, None
        for _, path in reversed(found):
            try:
                meta = restore_checkpoint(path, variant=self.variant, ema=self.ema, stream=self.stream, rank=self.rank)
                break
            except CheckpointError as exc:
                reasons.append(f"{path.name}: {exc}")
                if self.rank == 0:
                    log.warning("skipping checkpoint %s: %s; trying an older one", path.name, exc)
        if meta is None:
            raise GanzooError(f"no checkpoint in '{folder}' can be resumed from ({'; '.join(reasons[:3])}); "
                              "start a new run, or move them away to start this one over from step 0")
        if reasons and self.rank == 0 and path is not None:
            log.warning("resuming from %s, the newest good checkpoint", path.name)
        self.step = meta["step"]
        self.best = meta.get("best_value")
        self.precision.load_state(meta.get("grad_scaler"))
        return True
