"""How a run reports itself and stops: plain progress lines for logs, and the signal handler that
turns Ctrl-C or a scheduler's SIGTERM into a checkpoint at the next step boundary."""

from __future__ import annotations

import logging
import math
import signal
import sys
import threading
import time
from typing import Any

import torch

from . import distributed

log = logging.getLogger(__name__)


class PlainProgress:
    """Progress for logs rather than terminals: one self-contained line every ``every`` seconds,
    "step 250/1500 (17%) loss_d 0.631 loss_g 1.2 | 410 images/s | ETA 2m10s". ``to_log``: through
    logging at INFO (the Python API, where the caller's logging config decides), else to stderr
    (the CLI under a scheduler or a pipe, where tqdm would have drawn its bar)."""

    def __init__(self, total: int, start: int, every: float, *, to_log: bool = False):
        self.total, self.start, self.every, self.to_log = total, start, every, to_log
        self.t0 = self.last = time.perf_counter()

    def update(self, step: int, losses: dict[str, torch.Tensor], batch: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.every and step != self.total:
            return
        self.last = now
        done = step - self.start
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        values = " ".join(f"{k} {float(v):.3g}" for k, v in losses.items())
        line = f"step {step}/{self.total} ({100 * step // max(self.total, 1)}%) {values} | {rate * batch:.0f} images/s | ETA {_duration(eta)}"
        if self.to_log:
            log.info("%s", line)
            return
        sys.stderr.write(f"ganzoo: {line}\n")  # the progress bar's stand-in, written where tqdm writes it
        sys.stderr.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = round(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class StopOnSignal:
    """SIGINT (Ctrl-C) and SIGTERM (a scheduler preempting the job, `kill`) ask training to stop:
    the handler only records the signal, so the step in flight finishes and the trainer checkpoints
    at its boundary, exactly where an uninterrupted run would be. A second signal quits at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.finishing = ""  # what is being written that a signal must not cut short ("" in the loop)
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.finishing:
            self.signum = self.signum or signum
            log.warning("%s: writing %s first (seconds); it will be complete", signal.Signals(signum).name, self.finishing)
            return
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        log.warning("%s: finishing the current step, then saving a checkpoint (again to quit at once)", signal.Signals(signum).name)

    def requested(self, world: int) -> bool:
        """Whether to stop now; every rank of a multi-process run agrees (one tiny all-reduce a step)."""
        if world == 1:
            return self.signum is not None
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self.signum is not None else 0.0], device=distributed.collective_device())
        dist.all_reduce(flag)
        if flag.item() > 0 and self.signum is None:
            self.signum = int(signal.SIGTERM)
        return flag.item() > 0

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
