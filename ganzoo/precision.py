"""Mixed precision, the same way for every variant.

On CUDA, ``amp="auto"`` runs the forward passes under autocast in bf16 where the GPU supports it
(no loss scaling needed) and otherwise in fp16 with a gradient scaler. The variant's code does not
change: ``ganzoo.update`` scales the loss and steps through the scaler when one is active, runs
the backward pass outside autocast (as PyTorch recommends), and ``ganzoo.losses.gradient_penalty``
unscales its input gradients, so WGAN-GP's penalty is the same number it would be in fp32. Weights
and optimizer state stay fp32; the scaler's state is checkpointed.

On a CPU with bf16 matrix units (AMX, or AVX-512 BF16: oneDNN runs bf16 convolutions and matmuls
there at several times the fp32 rate) "auto" is bf16 too, for the variants that declare it faster
(``Variant.cpu_bf16``) on image data; on other CPUs, which would emulate bf16 more slowly than
fp32, for other variants, and on MPS it is off. "bf16"/"fp16" can still be forced anywhere (that is
how the tests cover the fp16 path on a CPU). The trainer records the mode "auto" chose, so a resume
on another machine continues in the same precision.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any, Literal, cast

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
    def __init__(self, mode: str, device: torch.device, *, cpu_bf16: bool | None = None):
        self.device = device
        self.mode = resolve(mode, device, cpu_bf16=cpu_bf16)
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


Resolved = Literal["off", "bf16", "fp16"]


def resolve(mode: str, device: torch.device, *, cpu_bf16: bool | None = None) -> Resolved:
    """The precision ``mode`` means on ``device``; ``cpu_bf16`` (default: this CPU's answer) says
    whether "auto" may choose bf16 on a CPU."""
    if mode not in ("auto", "off", "bf16", "fp16"):
        raise ConfigError(f"amp must be auto, off, bf16 or fp16, got {mode!r}")
    if mode != "auto":
        return cast(Resolved, mode)
    if device.type == "cpu":
        return "bf16" if (cpu_has_bf16_units() if cpu_bf16 is None else cpu_bf16) else "off"
    if device.type != "cuda":
        return "off"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def cpu_has_bf16_units() -> bool:
    """Whether this CPU multiplies bf16 in hardware (AMX-BF16 or AVX-512 BF16), as torch's cpuinfo
    reports it. Older AVX-512 CPUs also run bf16, emulated, slower than fp32: they answer no."""
    caps = getattr(torch.cpu, "get_capabilities", None)  # torch >= 2.10; older ones have the private probes
    if caps is not None:
        found = caps()
        return bool(found.get("amx_bf16") or found.get("avx512_bf16"))
    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)
