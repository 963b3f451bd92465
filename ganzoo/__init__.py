"""ganzoo: a model zoo of GAN variants with one shared trainer and variants as plugins.

The public surface is small: the variant contract (:class:`Variant`, :class:`Task`,
:class:`VariantConfig`, ...), the plugin markers (:data:`hookimpl`), and a few functions to list,
train and load models. Everything else is internal and may change.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING

from .errors import GanzooError
from .hookspecs import hookimpl

# The contract's names are imported on first use, so `ganzoo --help` does not wait for torch.
_LAZY = {
    "TrainConfig": "config",
    "VariantConfig": "config",
    "BatchStream": "data",
    "Dataset": "data",
    "InMemoryData": "data",
    "Batch": "variant",
    "DataInfo": "variant",
    "DataRequest": "variant",
    "Task": "variant",
    "Variant": "variant",
    "GDVariant": "variant",
    "update": "variant",
}

if TYPE_CHECKING:
    from .config import TrainConfig, VariantConfig
    from .data import BatchStream, Dataset, InMemoryData
    from .variant import Batch, DataInfo, DataRequest, GDVariant, Task, Variant, update


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")

__all__ = [
    "Batch",
    "BatchStream",
    "DataInfo",
    "DataRequest",
    "Dataset",
    "GDVariant",
    "GanzooError",
    "InMemoryData",
    "Task",
    "TrainConfig",
    "Variant",
    "VariantConfig",
    "__version__",
    "hookimpl",
    "list_variants",
    "load",
    "train",
    "update",
]


def list_variants(pattern: str | None = None) -> list[str]:
    """Names of the installed variants, optionally filtered by a shell-style pattern ("*gan*")."""
    import fnmatch

    from ._plugins import registry

    names = sorted(registry().variants)
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def train(variant: str, *, data: str | None = None, out: str | None = None, progress: bool | None = False, **settings):
    """Train ``variant`` as ``ganzoo run`` does; ``settings`` are config keys (steps=..., seed=...)."""
    from .training import prepare

    return prepare(variant, data=data, settings=settings, out=out, progress=progress).fit()


def load(source: str, device: str = "cpu"):
    """A trained generator from an export folder; returns a model with ``.sample(n, seed=...)``."""
    from .export import load_export

    return load_export(source, device=device)
