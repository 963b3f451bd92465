"""ganzoo: a model zoo of GAN variants with one shared trainer and variants as plugins.

The public surface is small: the variant contract (:class:`Variant`, :class:`Task`,
:class:`VariantConfig`, ...), the plugin markers (:data:`hookimpl`), and a few functions to list,
train and load models. Everything else is internal and may change.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from ._plugin_api import PLUGIN_API, GanzooDeprecationWarning
from ._version import __version__
from .errors import ExportError, GanzooError
from .hookspecs import hookimpl

# The contract's names are imported on first use, so `ganzoo --help` does not wait for torch.
_LAZY = {
    "TrainConfig": "config",
    "VariantConfig": "config",
    "Range": "config",
    "PositiveInt": "config",
    "NonNegativeInt": "config",
    "Width": "config",
    "PositiveFloat": "config",
    "NonNegativeFloat": "config",
    "UnitFloat": "config",
    "Decay": "config",
    "ImageSize": "config",
    "BatchStream": "data",
    "Dataset": "data",
    "InMemoryData": "data",
    "Batch": "data.types",
    "DataInfo": "data.types",
    "DataRequest": "data.types",
    "Model": "model",
    "ExportInfo": "export.format",
    "Pretrained": "pretrained",
    "RunResult": "training",
    "Task": "variant",
    "Variant": "variant",
    "GDVariant": "variant",
    "update": "variant",
    "linear_decay": "variant",
}

if TYPE_CHECKING:
    from .config import Decay, ImageSize, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, Range, TrainConfig, UnitFloat, VariantConfig, Width
    from .data import BatchStream, Dataset, InMemoryData
    from .data.types import Batch, DataInfo, DataRequest
    from .export.format import ExportInfo
    from .model import Model
    from .pretrained import Pretrained
    from .training import RunResult
    from .variant import GDVariant, Task, Variant, linear_decay, update


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")

__all__ = [
    "PLUGIN_API",
    "Batch",
    "BatchStream",
    "DataInfo",
    "DataRequest",
    "Dataset",
    "Decay",
    "ExportInfo",
    "GDVariant",
    "GanzooDeprecationWarning",
    "GanzooError",
    "ImageSize",
    "InMemoryData",
    "Model",
    "NonNegativeFloat",
    "NonNegativeInt",
    "PositiveFloat",
    "PositiveInt",
    "Pretrained",
    "Range",
    "RunResult",
    "Task",
    "TrainConfig",
    "UnitFloat",
    "Variant",
    "VariantConfig",
    "Width",
    "__version__",
    "create",
    "hookimpl",
    "linear_decay",
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


def train(variant: str, *, data: str | None = None, out: str | None = None, progress: bool | None = False, **settings) -> "RunResult":
    """Train ``variant`` as ``ganzoo run`` does; ``settings`` are config keys (steps=..., seed=...).
    Progress goes to the "ganzoo" logger at INFO (``logging.basicConfig(level=logging.INFO)`` shows
    it; every ``progress_every`` seconds), or to a progress bar with ``progress=True``."""
    from ._plugins import registry
    from .training import prepare

    return prepare(registry(), variant, data=data, settings=settings, out=out, progress=progress).fit()


def create(name: str, *, data: str | None = None, device: str = "cpu", seed: int = 0, **config) -> "Model":
    """A freshly initialised ``name`` model (untrained), shaped for ``data`` (default: the variant's
    own dataset); ``config`` sets variant-config keys. Same type as :func:`load` returns, and like
    it holds only the generators."""
    import torch

    from ._plugins import registry
    from .config import replace
    from .data import load_data
    from .export.describe import export_info
    from .export.format import PluginRef
    from .model import Model

    reg = registry()
    cls = reg.variant(name)
    cfg = replace(cls.Config(), config)
    dataset = data or cls.default_dataset
    loaded = load_data(dataset, cls.data_request(cfg), reg.datasets)
    cls.check_data(cfg, loaded.info)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        variant = cls(cfg, loaded.info, device, training=False)
    for g in variant.generators().values():
        g.eval()
    info = export_info(variant, plugin=PluginRef(*reg.distribution_of_variant(name)), dataset=dataset, steps=0, ema=False)
    return Model(variant, info, None)


def load(source: "str | os.PathLike[str]", device: str = "cpu", *, token: str | None = None) -> "Model":
    """A trained model ready to sample: ``model.sample(n, seed=..., labels=...)`` gives images in [0, 1].

    ``source`` is a local export folder (or run directory), ``"hf-hub:user/name"`` with an optional
    ``@revision`` (downloaded into the Hugging Face cache, or found there offline), or the name of a
    pretrained model (``ganzoo list --pretrained``), whose sha256 is checked first. Only the
    generators are built: no discriminator, optimizer or loss network."""
    from ._plugins import registry
    from .export.folder import load_export

    return load_export(resolve(source, token=token), registry().variants, device=device)


def resolve(source: "str | os.PathLike[str]", *, token: str | None = None):
    """The local export folder ``source`` (a str or path) names, downloading it first if it is on the Hub."""
    from pathlib import Path

    from ._hub import pull
    from ._hub_ids import PREFIX
    from ._plugins import registry
    from .export.format import locate

    source = os.fspath(source)
    if source.startswith(PREFIX):
        return pull(source, token=token)
    reg = registry()
    if source in reg.pretrained and not Path(source).expanduser().exists():
        return reg.pretrained[source].verified_folder()
    if not Path(source).expanduser().exists():
        raise ExportError(_not_found(source, list(reg.pretrained), list(reg.variants)))
    return locate(source)


def _not_found(source: str, pretrained: list[str], variants: list[str]) -> str:
    """Why ``source`` names nothing, with the pretrained models and variants it may have meant."""
    import difflib

    from ._text import escaped

    msg = f"'{escaped(source, 120)}' is not a folder, a pretrained model or a Hub id (hf-hub:USER/NAME)"
    close = difflib.get_close_matches(source, pretrained, n=3, cutoff=0.6)
    if close:
        return msg + f"; did you mean {' or '.join(repr(c) for c in close)}? (ganzoo list --pretrained)"
    near = difflib.get_close_matches(source, variants, n=1, cutoff=0.6)
    if near:
        trained = [p for p in pretrained if p.startswith(near[0] + "-")]
        return msg + (f"; '{near[0]}' is a variant: its pretrained models are {', '.join(trained)}" if trained
                      else f"; '{near[0]}' is a variant: train one with `ganzoo run {near[0]}`")
    return msg + f"; pretrained models: {', '.join(pretrained) or '(none installed)'}"


def pull(repo: str, *, token: str | None = None):
    """Download ``user/name[@revision]`` into the Hugging Face cache; the local folder's path."""
    from ._hub import pull as _pull

    return _pull(repo, token=token)


def push(export: str, repo: str, *, private: bool = False, revision: str | None = None, token: str | None = None, overwrite_card: bool = False) -> str:
    """Upload an export (or a run directory's export) to ``repo`` in one commit; the commit URL."""
    from ._hub import push as _push
    from ._plugins import registry

    return _push(export, repo, registry().variants, private=private, revision=revision, token=token, overwrite_card=overwrite_card)
