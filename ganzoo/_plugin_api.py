"""The plugin API's version, and what became of every public name it has removed.

A plugin is written against a version of the plugin API (``docs/plugin-api.md``), and may say
which in its module: ``GANZOO_PLUGIN_API = 2``. The policy this module enforces:

- a public name is removed only after one release in which importing it still works and warns
  (a :class:`GanzooDeprecationWarning`, once per name per process, naming the replacement);
- a removed name stays in :data:`REMOVED` for good, so a plugin that still imports it is told what
  to use instead (``ganzoo plugins``), not shown a bare ImportError;
- the API version rises when a release removes or changes something public; a plugin declaring a
  version this ganzoo no longer supports, or a newer one, is refused with the reason.

The shims themselves live beside the names they replace (``ganzoo.nets``, ``ganzoo.variant``),
which ask :func:`deprecated` for the warning; this module imports nothing of ganzoo's.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from typing import Any

PLUGIN_API = 2  # the plugin API this ganzoo provides (0.1 provided 1)
SUPPORTED = (2,)  # the versions a plugin may declare and still load
GUIDE = "docs/writing-a-plugin.md, section 'Migrating from ganzoo 0.1'"


class GanzooDeprecationWarning(DeprecationWarning):
    """A plugin used a name of ganzoo's plugin API that is going away; the message says what replaces it."""


@dataclasses.dataclass(frozen=True)
class Removal:
    """One public name that was removed or is being removed, and what to use instead."""

    name: str  # the dotted name a plugin imports, e.g. "ganzoo.nets.dcgan_pair"
    removed_in: str  # the release that removed it from the API (its shim, if any, warns from then on)
    use: str  # what replaces it, in words a plugin author can act on
    shim_until: str | None  # the release whose import stops working; None: no shim, it fails now


REMOVED: dict[str, Removal] = {r.name: r for r in (
    Removal("ganzoo.nets.dcgan_pair", "0.2",
            "the generator half ganzoo.nets.DCGANGeneratorHalf (generator_args/build_generators) and "
            "ganzoo.nets.dcgan_discriminator_for(self, width) in build_training", "0.4"),
    Removal("ganzoo.nets.dcgan_generator", "0.2", "ganzoo.nets.DCGANGenerator(z_dim, channels, size, width) with ganzoo.nets.init_dcgan_", "0.4"),
    Removal("ganzoo.variant.Batch", "0.2", "ganzoo.Batch", "0.4"),
    Removal("ganzoo.variant.DataKind", "0.2", "ganzoo.data.DataKind", "0.4"),
    Removal("ganzoo.Variant.build", "0.2",
            "the two halves: generator_args and build_generators (what ganzoo.load builds), and build_training "
            "(discriminators, optimizers, loss networks)", None),
)}

_warned: set[str] = set()
used: dict[str, set[str]] = {}  # plugin being loaded -> removed names it imported (for `ganzoo plugins`)
loading: list[str] = []  # the plugin whose module is being imported, if any


def deprecated(name: str) -> None:
    """Say, once per process, that ``name`` is deprecated and what replaces it; record who used it."""
    entry = REMOVED[name]
    if loading:
        used.setdefault(loading[-1], set()).add(name)
    if name in _warned:
        return
    _warned.add(name)
    warnings.warn(f"{name} was removed from ganzoo's plugin API in {entry.removed_in} and stops working in "
                  f"{entry.shim_until}: use {entry.use} (see {GUIDE})", GanzooDeprecationWarning, stacklevel=3)


def explain_import_error(exc: BaseException) -> str | None:
    """For an ImportError raised inside a plugin by a ganzoo module, what to change; else None."""
    if not isinstance(exc, ImportError):
        return None
    match = re.match(r"cannot import name '([^']+)' from '([^']+)'", str(exc))
    if match is None or not match.group(2).split(".")[0] == "ganzoo":
        return None
    name, module = match.group(1), match.group(2)
    entry = REMOVED.get(f"{module}.{name}")
    if entry is not None:
        return (f"written against an older ganzoo API: {module}.{name} was removed in {entry.removed_in}, "
                f"use {entry.use} (see {GUIDE})")
    return (f"written against another ganzoo API: {module} has no '{name}' in plugin API {PLUGIN_API} "
            "(docs/plugin-api.md lists what is public)")


def check_declared(plugin: Any) -> str | None:
    """Why a plugin module's declared ``GANZOO_PLUGIN_API`` cannot load here; None when it can
    (or it declares none, which is taken as the current version)."""
    declared = getattr(plugin, "GANZOO_PLUGIN_API", None)
    if declared is None or declared in SUPPORTED:
        return None
    if not isinstance(declared, int) or isinstance(declared, bool):
        return f"declares GANZOO_PLUGIN_API = {declared!r}; it must be an integer such as {PLUGIN_API}"
    if declared > PLUGIN_API:
        return f"needs ganzoo plugin API {declared}; this ganzoo provides {PLUGIN_API}: upgrade ganzoo"
    return f"is written for ganzoo plugin API {declared}, which this ganzoo no longer supports (it provides {PLUGIN_API}); see {GUIDE}"


def declared_api(plugin: Any) -> int | None:
    value = getattr(plugin, "GANZOO_PLUGIN_API", None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
