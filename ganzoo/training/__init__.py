"""Training: the shared loop (trainer.py), the run directory (run_dir.py), the resumable state and
its checkpoints (state.py, checkpoint.py), EMA, progress and signals, multi-process training, and
building a run from names and settings (setup.py)."""

from ..errors import Interrupted
from .setup import prepare, prepare_resume
from .trainer import RunResult, RunSpec, Trainer, resolve_device

__all__ = ["Interrupted", "RunResult", "RunSpec", "Trainer", "prepare", "prepare_resume", "resolve_device"]
