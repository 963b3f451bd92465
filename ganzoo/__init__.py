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
    "Pretrained": "pretrained",
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
    from .pretrained import Pretrained
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
    "Pretrained",
    "Task",
    "TrainConfig",
    "Variant",
    "VariantConfig",
    "__version__",
    "create",
    "hookimpl",
    "list_pretrained",
    "list_variants",
    "load",
    "pull",
    "push",
    "train",
    "update",
]


def list_pretrained(pattern: str | None = None) -> list[str]:
    """Names of the installed pretrained models (``ganzoo.load`` takes them), optionally filtered."""
    import fnmatch

    from ._plugins import registry

    return [n for n in sorted(registry().pretrained) if pattern is None or fnmatch.fnmatch(n, pattern)]


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


def create(name: str, *, data: str | None = None, device: str = "cpu", seed: int = 0, **config):
    """A freshly initialised ``name`` model (untrained), shaped for ``data`` (default: the variant's
    own dataset); ``config`` sets variant-config keys. Same object as :func:`load` returns."""
    import torch

    from ._plugins import registry
    from .config import replace
    from .data import load_data
    from .export import Model, export_doc

    cls = registry().variant(name)
    cfg = replace(cls.Config(), config)
    loaded = load_data(data or cls.default_dataset, cls.data_request(cfg))
    cls.check_data(cfg, loaded.info)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        variant = cls(cfg, loaded.info, device)
    doc = export_doc(variant, dataset=data or cls.default_dataset, steps=0, ema=False)
    for g in variant.generators().values():
        g.eval()
    return Model(variant, doc, None)


def load(source, device: str = "cpu", *, token: str | None = None):
    """A trained model ready to sample: ``model.sample(n, seed=..., labels=...)`` gives images in [0, 1].

    ``source`` is a local export folder (or run directory), ``"hf-hub:user/name"`` with an optional
    ``@revision`` (downloaded into the Hugging Face cache, or found there offline), or the name of a
    pretrained model (``ganzoo list --pretrained``), whose sha256 is checked first."""
    from .export import load_export

    return load_export(resolve(source, token=token), device=device)


def resolve(source, *, token: str | None = None):
    """The local export folder ``source`` (a str or path) names, downloading it first if it is on the Hub."""
    import os
    from pathlib import Path

    source = os.fspath(source)
    from ._hub import PREFIX, pull
    from ._plugins import registry

    if source.startswith(PREFIX):
        return pull(source, token=token)
    path = Path(source).expanduser()
    pretrained = registry().pretrained
    if source in pretrained and not path.exists():
        return pretrained[source].verified_folder()
    if (path / "export" / "config.json").is_file():
        return path / "export"
    return path


def pull(repo: str, *, token: str | None = None):
    """Download ``user/name[@revision]`` into the Hugging Face cache; the local folder's path."""
    from ._hub import pull as _pull

    return _pull(repo, token=token)


def push(export: str, repo: str, *, private: bool = False, revision: str | None = None, token: str | None = None, overwrite_card: bool = False) -> str:
    """Upload an export (or a run directory's export) to ``repo`` in one commit; the commit URL."""
    from ._hub import push as _push

    return _push(export, repo, private=private, revision=revision, token=token, overwrite_card=overwrite_card)
