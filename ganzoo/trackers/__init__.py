"""Experiment trackers: where a run's numbers and images go besides metrics.jsonl.

A tracker is a :class:`Tracker` subclass registered through the ``register_trackers`` hook and
chosen with ``ganzoo run ... --tracker NAME`` (repeatable; the trainer key ``trackers``). The
trainer calls it on rank 0 only: ``log_config`` once at the start, ``log_metrics`` at every
metrics.jsonl row (losses, images/s, learning rates, evaluations), ``log_image`` with every
sample grid, ``close`` at the end (also after a failure). metrics.jsonl stays the source of truth:
a tracker that fails is reported once and dropped, and training goes on.

TensorBoard is built in (``pip install "torch-ganzoo[tensorboard]"``); W&B and MLflow come as plugins
through the same hook (``ganzoo_wandb``, ``ganzoo_mlflow``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, ClassVar

from .._version import DISTRIBUTION
from ..errors import ConfigError


class Tracker:
    """One run's connection to a tracking tool. Subclass it and register the class."""

    name: ClassVar[str]  # what --tracker takes, e.g. "tensorboard"
    summary: ClassVar[str] = ""  # one line for `ganzoo plugins`
    requires: ClassVar[tuple[str, ...]] = ()  # modules it imports, checked before training starts
    install: ClassVar[str] = ""  # how to get them, e.g. 'pip install "torch-ganzoo[tensorboard]"'

    def __init__(self, run_dir: Path, run: dict[str, Any]):
        """``run_dir``: the run directory (a tracker may write beneath it); ``run``: the run's
        config.json document (variant, dataset, config, train)."""
        self.run_dir = run_dir
        self.run = run

    @classmethod
    def check(cls) -> None:
        """Refuse, before training, a tracker whose package is not installed: one line, naming it."""
        missing = [m for m in cls.requires if importlib.util.find_spec(m) is None]
        if missing:
            how = cls.install or f'pip install "{DISTRIBUTION}[{cls.name}]"'
            raise ConfigError(f"tracker '{cls.name}' needs the {', '.join(missing)} package, which is not installed: {how}")

    def log_config(self, config: dict[str, Any]) -> None:
        """The run's resolved hyper-parameters, flat ("lr", "g_width", "seed", ...)."""

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        """One row of numbers at ``step`` (the keys of metrics.jsonl, plus "lr/OPTIMIZER")."""

    def log_image(self, step: int, tag: str, png: bytes) -> None:
        """A PNG (the sample grid, tag "samples") at ``step``."""

    def close(self) -> None:
        """Flush and finish; called once, also when training stops on an error."""


def hparams(run: dict[str, Any]) -> dict[str, Any]:
    """The run's config as flat scalars, what hyper-parameter views take: tuples joined, None as text."""
    out: dict[str, Any] = {"variant": run.get("variant", ""), "dataset": run.get("dataset", "")}
    for section in ("config", "train"):
        for key, value in (run.get(section) or {}).items():
            if isinstance(value, (list, tuple)):
                value = ",".join(map(str, value))
            out[key] = "none" if value is None else value
    return out


def validate(names: tuple[str, ...], available: dict[str, type[Tracker]]) -> list[type[Tracker]]:
    """The tracker classes ``names`` asks for, each checked installed; ConfigError otherwise."""
    import difflib

    chosen = []
    for name in names:
        if name not in available:
            hint = difflib.get_close_matches(name, list(available), n=1)
            raise ConfigError(f"unknown tracker '{name}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                              + f" Known trackers: {', '.join(sorted(available)) or '(none)'}.")
        available[name].check()
        chosen.append(available[name])
    return chosen
