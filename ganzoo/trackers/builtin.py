"""The built-in tracker, registered as any plugin's would be."""

from __future__ import annotations

from ..hookspecs import hookimpl
from .tensorboard import TensorBoard


@hookimpl
def register_trackers(register):
    register(TensorBoard)
