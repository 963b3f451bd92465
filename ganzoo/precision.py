"""Mixed precision, the same way for every variant.

On CUDA, ``amp="auto"`` runs the forward passes under autocast in bf16 where the GPU supports it
(no loss scaling needed) and otherwise in fp16 with a gradient scaler. The variant's code does not
change: ``ganzoo.update`` scales the loss and steps through the scaler when one is active, runs
the backward pass outside autocast (as PyTorch recommends), and ``ganzoo.losses.gradient_penalty``
unscales its input gradients, so WGAN-GP's penalty is the same number it would be in fp32. Weights
and optimizer state stay fp32; the scaler's state is checkpointed. On CPU and MPS "auto" is off;
"bf16"/"fp16" can still be forced (that is how the tests cover this code on a CPU).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import torch

from .errors import ConfigError

_ACTIVE: contextvars.ContextVar["Precision | None"] = contextvars.ContextVar("ganzoo_precision", default=None)


def active_scaler() -> "torch.amp.GradScaler | None":
    """The gradient scaler of the step being run, if fp16 loss scaling is on."""
    p = _ACTIVE.get()
    return None if p is None else p.scaler


def backward_context() -> contextlib.AbstractContextManager:
    """Autocast off for a backward pass run inside a mixed-precision step."""
    p = _ACTIVE.get()
    return contextlib.nullcontext() if p is None or p.dtype is None else torch.autocast(p.device.type, enabled=False)


class Precision:
    def __init__(self, mode: str, device: torch.device):
        self.device = device
        self.mode = resolve(mode, device)
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.mode)
        self.scaler = torch.amp.GradScaler(device.type) if self.mode == "fp16" else None

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """Context for one ``train_step``: autocast, and the scaler made visible to ``update``."""
        token = _ACTIVE.set(self)
        try:
            with torch.autocast(self.device.type, dtype=self.dtype) if self.dtype else contextlib.nullcontext():
                yield
        finally:
            _ACTIVE.reset(token)

    def state(self) -> dict[str, Any] | None:
        return None if self.scaler is None else self.scaler.state_dict()

    def load_state(self, state: dict[str, Any] | None) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)


def resolve(mode: str, device: torch.device) -> str:
    if mode not in ("auto", "off", "bf16", "fp16"):
        raise ConfigError(f"amp must be auto, off, bf16 or fp16, got {mode!r}")
    if mode != "auto":
        return mode
    if device.type != "cuda":
        return "off"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
