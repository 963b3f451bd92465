"""Training: the shared trainer, its checkpoints and its EMA."""

from .trainer import Interrupted, RunResult, Trainer, prepare, prepare_resume, resolve_device

__all__ = ["Interrupted", "RunResult", "Trainer", "prepare", "prepare_resume", "resolve_device"]
