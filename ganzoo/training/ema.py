"""Exponential moving average of generator weights (Karras et al. 2018; Yazici et al. 2019).

Averaged weights give visibly cleaner samples than the last iterate of a GAN's oscillating
training. The average is kept beside the live weights and swapped in only to sample or export.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn

from ..variant import unwrap


class EMA:
    def __init__(self, modules: dict[str, nn.Module], decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.names: list[str] = []
        self.live: list[torch.Tensor] = []
        for prefix, module in modules.items():
            for key, tensor in unwrap(module).state_dict(keep_vars=False).items():
                self.names.append(f"{prefix}.{key}")
                self.live.append(tensor)  # shares storage with the parameter/buffer
        self.shadow = [t.detach().clone() for t in self.live]
        self._float = [i for i, t in enumerate(self.live) if t.is_floating_point()]
        self._other = [i for i, t in enumerate(self.live) if not t.is_floating_point()]

    def decay_at(self, step: int) -> float:
        """The configured decay, ramped up over the first steps (as timm's ModelEmaV2 warm-up does)
        so the average is not dominated for thousands of steps by the random initial weights."""
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Fold in the live weights after training step ``step`` (0-based)."""
        if self._float:
            torch._foreach_lerp_(
                [self.shadow[i] for i in self._float], [self.live[i] for i in self._float], 1.0 - self.decay_at(step)
            )
        for i in self._other:  # e.g. batchnorm's num_batches_tracked
            self.shadow[i].copy_(self.live[i])

    @contextlib.contextmanager
    @torch.no_grad()
    def applied(self) -> Iterator[None]:
        """Within the block the modules hold the averaged weights; the live ones come back after."""
        backup = [t.clone() for t in self.live]
        for t, s in zip(self.live, self.shadow):
            t.copy_(s)
        try:
            yield
        finally:
            for t, b in zip(self.live, backup):
                t.copy_(b)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.shadow))

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = [n for n in self.names if n not in state]
        if missing:
            raise KeyError(f"EMA state lacks {missing[:3]}")
        for name, s in zip(self.names, self.shadow):
            s.copy_(state[name])
