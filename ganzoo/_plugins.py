"""Finding plugins and collecting what they register.

Entry points in the group ``ganzoo`` are loaded one at a time and every hook implementation is
called on its own, so one broken plugin (an import error, a hook that raises, a duplicate or
invalid registration) is recorded as a :class:`PluginFailure` and everything else keeps working.
``GANZOO_DISABLE_PLUGIN_AUTOLOAD=1`` loads only the entry points of the ``ganzoo`` distribution
itself, i.e. the built-in variants.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import os
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pluggy

from . import _plugin_api, hookspecs
from ._registry import PluginFailure, RegistrationError, Registry
from ._version import DISTRIBUTION as _DISTRIBUTION
from ._version import __version__

GROUP = "ganzoo"
DISTRIBUTION = _DISTRIBUTION  # the distribution whose entry points are the built-in variants
AUTOLOAD_ENV = "GANZOO_DISABLE_PLUGIN_AUTOLOAD"
# Core modules that are plugins like any other; loaded even with autoload disabled.
CORE_PLUGINS = ("ganzoo.data.builtin", "ganzoo.eval.builtin", "ganzoo.trackers.builtin")

pm = pluggy.PluginManager(GROUP)
pm.add_hookspecs(hookspecs)


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """One loaded plugin, as ``ganzoo plugins`` shows it."""

    name: str  # plugin name (the entry point's name, or the name given to pm.register)
    distribution: str | None  # the installed distribution that provides it; None if registered in-process
    version: str | None  # the distribution's version
    hooks: tuple[str, ...]  # hooks it implements
    api: int | None = None  # the plugin API it declares (GANZOO_PLUGIN_API); None: none declared
    deprecated: tuple[str, ...] = ()  # removed names it still imports, through their shims


_dist_of: dict[str, tuple[str | None, str | None]] = {}  # plugin name -> (distribution, version)
_load_failures: list[PluginFailure] = []
_loaded = False


def _autoload_disabled() -> bool:
    return os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load_plugins() -> None:
    """Import the core plugins and every ``ganzoo`` entry point (once per process)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for modname in CORE_PLUGINS:
        if pm.get_plugin(modname) is None:
            pm.register(importlib.import_module(modname), name=modname)
            _dist_of[modname] = (DISTRIBUTION, _version())
    eps = sorted(
        importlib.metadata.entry_points(group=GROUP),
        key=lambda ep: (_ep_dist(ep)[0] != DISTRIBUTION, _ep_dist(ep)[0] or "", ep.name),
    )
    seen: set[str] = set()
    for ep in eps:
        dist, version = _ep_dist(ep)
        if ep.name in seen:  # the same distribution can be visible twice on sys.path
            continue
        seen.add(ep.name)
        if _autoload_disabled() and dist != DISTRIBUTION:
            continue
        _plugin_api.loading.append(ep.name)  # removed names it imports are recorded against it
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the others down
            why = _plugin_api.explain_import_error(exc) or f"could not be loaded: {_one_line(exc)}"
            _load_failures.append(PluginFailure(ep.name, dist, why, traceback.format_exc()))
            continue
        finally:
            _plugin_api.loading.pop()
        refused = _plugin_api.check_declared(plugin)
        if refused:
            _load_failures.append(PluginFailure(ep.name, dist, refused))
            continue
        if pm.get_plugin(ep.name) is None:
            pm.register(plugin, name=ep.name)
        _dist_of[ep.name] = (dist, version)


def _ep_dist(ep: importlib.metadata.EntryPoint) -> tuple[str | None, str | None]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None, None
    return dist.metadata["Name"], dist.version


def _version() -> str:
    return __version__


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def plugin_infos() -> list[PluginInfo]:
    load_plugins()
    out = []
    for name, plugin in pm.list_name_plugin():
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        dist, version = _dist_of.get(name, (None, None))
        out.append(PluginInfo(name, dist, version, hooks, _plugin_api.declared_api(plugin),
                              tuple(sorted(_plugin_api.used.get(name, ())))))
    return sorted(out, key=lambda p: (p.distribution != DISTRIBUTION, p.name))


def _ordered_impls(hook: Any) -> list[Any]:
    """Hook implementations with the ganzoo distribution's first, then in registration order."""
    impls = list(hook.get_hookimpls())
    return sorted(impls, key=lambda i: _dist_of.get(i.plugin_name, (None, None))[0] != DISTRIBUTION)


def _collect(hook: Any, add: Callable[[str, Any], None], failures: list[PluginFailure]) -> None:
    for impl in _ordered_impls(hook):
        name = impl.plugin_name
        dist = _dist_of.get(name, (None, None))[0]

        def register(obj: Any, _name: str = name, _dist: str | None = dist) -> None:
            try:
                add(_name, obj)
            except RegistrationError as exc:
                failures.append(PluginFailure(_name, _dist, str(exc)))

        try:
            impl.function(register=register)
        except Exception as exc:  # noqa: BLE001 - a hook that raises is the plugin's failure, reported against it
            failures.append(
                PluginFailure(name, dist, f"hook {hook.name} raised {_one_line(exc)}", traceback.format_exc())
            )


@contextlib.contextmanager
def temporary_plugin(plugin: Any, name: str) -> Iterator[None]:
    """Register an in-process plugin object for the duration of a block."""
    load_plugins()
    pm.register(plugin, name=name)
    try:
        yield
    finally:
        pm.unregister(name=name)


_cache: tuple[frozenset, Registry] | None = None


def registry() -> Registry:
    """Everything the loaded plugins register, collected again whenever the set of plugins changes."""
    global _cache
    load_plugins()
    # The key holds the plugin objects themselves (not their ids, which Python reuses once an
    # unregistered plugin is freed), so any register/unregister invalidates the cache.
    key = frozenset(pm.list_name_plugin())
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    reg = Registry()
    failures = list(_load_failures)
    _collect(pm.hook.register_datasets, reg.add_dataset, failures)
    _collect(pm.hook.register_variants, reg.add_variant, failures)
    _collect(pm.hook.register_metrics, reg.add_metric, failures)
    _collect(pm.hook.register_pretrained, reg.add_pretrained, failures)
    _collect(pm.hook.register_trackers, reg.add_tracker, failures)
    reg.failures = failures
    reg.distributions = dict(_dist_of)
    _cache = (key, reg)
    return reg
