"""The hooks a ganzoo plugin can implement.

A plugin is any module or object with functions marked ``@ganzoo.hookimpl`` and named after a
spec below, exposed through an entry point in the group ``ganzoo``::

    [project.entry-points.ganzoo]
    mygan = "ganzoo_mygan"

Each hook receives a ``register`` callback; call it once per thing the plugin provides. The
callback validates what it is given, so a mistake is reported against the plugin that made it
(``ganzoo plugins``) instead of surfacing later in the middle of a run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .data.spec import Dataset
    from .eval.metric import Metric
    from .pretrained import Pretrained
    from .trackers import Tracker
    from .variant import Variant

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def register_variants(register: Callable[["type[Variant]"], None]) -> None:
    """Register GAN variants: call ``register(VariantSubclass)`` for each one.

    The class must subclass :class:`ganzoo.Variant` and set ``name``, ``summary``, ``paper``,
    ``task``, ``default_dataset`` and ``Config``. A name already taken by another plugin is refused
    (the first plugin to register it keeps it) and reported by ``ganzoo plugins``.
    """


@hookspec
def register_datasets(register: Callable[["Dataset"], None]) -> None:
    """Register datasets: call ``register(ganzoo.Dataset(name=..., load=..., ...))`` for each one.

    ``load(request)`` receives a :class:`ganzoo.DataRequest` (resolution, channels, labels) and
    returns a :class:`ganzoo.InMemoryData`; it runs once per training run, never per batch.
    """


@hookspec
def register_metrics(register: Callable[["Metric"], None]) -> None:
    """Register evaluation metrics: call ``register(ganzoo.eval.Metric(...))`` for each one.

    The metric's name must encode its protocol (feature network, sample counts, reference split);
    ``applies(ctx)`` says whether it makes sense for a model, ``compute(ctx)`` returns its values.
    """


@hookspec
def register_pretrained(register: Callable[["Pretrained"], None]) -> None:
    """Register pretrained models: call ``register(ganzoo.Pretrained.from_folder(path))`` for each
    export folder the plugin ships (weights, config.json and pretrained.json).

    Names are global and refused when taken; ``ganzoo list --pretrained`` shows them and
    ``ganzoo.load(name)`` loads one after checking its sha256.
    """


@hookspec
def register_trackers(register: Callable[["type[Tracker]"], None]) -> None:
    """Register experiment trackers: call ``register(TrackerSubclass)`` for each one.

    The class subclasses :class:`ganzoo.trackers.Tracker` and sets ``name`` (what ``--tracker``
    takes) and ``requires`` (the modules it imports, checked before training, so a missing package
    is one line naming what to install). ``ganzoo run --tracker NAME`` then calls it on rank 0.
    """
