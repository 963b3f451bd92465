"""Format 1, what ganzoo 0.1 wrote, read (never written) in one module.

0.1 exports and checkpoints named a generator's tensors by its ``nn.Sequential`` indices
("generator.0.weight") under other attribute names ("generator", "g_ab"); 0.2 names them by
module ("G.blocks.0.conv.weight"). A variant that existed in 0.1 declares the old attribute names
(``Variant.format1_generator_names``) and, when its modules are not in alphabetical forward order,
the old top-level order (``Variant.format1_module_order``); everything else is recovered here,
module by module in forward order. Nothing outside this module knows format 1 exists: the loader
and the checkpoint reader call :func:`export_info`, :func:`tensor_names` and
:func:`checkpoint_names` when a file is not format 2.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._text import escaped
from ..data.types import DataInfo
from ..errors import ExportError
from ..variant import Variant, unwrap
from .describe import io_block, lenient_config, reproduce_command
from .format import CONFIG, ExportInfo, GeneratorSpec, PluginRef, TrainingRecord


def export_info(doc: dict[str, Any], cls: type[Variant], folder: Path) -> ExportInfo:
    """What a 0.1 export's config.json (variant config, data, dataset, steps) says, as format 2."""
    try:
        data = DataInfo.from_dict(doc["data"])
        config = lenient_config(cls, dict(doc["config"]))
        args = cls.generator_args(config, data)
        probe = cls(config, data, "cpu", training=False, args=args)  # for the io block; weights are not loaded into it
    except Exception as exc:  # noqa: BLE001 - a file's content: any failure is the file's
        raise ExportError(f"'{folder / CONFIG}' is not a valid ganzoo 0.1 export config: {type(exc).__name__}: {escaped(str(exc), 200)}") from None
    plugin = doc.get("plugin") or {}
    dataset = str(doc.get("dataset", data.name))
    return ExportInfo(
        variant=cls.name, plugin=PluginRef(plugin.get("distribution"), plugin.get("version")), task=cls.task,
        generator=GeneratorSpec(cls=" ".join(sorted({type(g).__name__ for g in probe.generators().values()})),
                                modules=tuple(cls.generator_names), args=dict(args)),
        io=io_block(probe), data=data,
        training=TrainingRecord(dataset=dataset, steps=int(doc.get("trained_steps", 0)), ema=bool(doc.get("ema", False)),
                                config=dict(doc["config"]), train={}, command=reproduce_command(cls, dataset, config, None)),
        ganzoo_version=str(doc.get("ganzoo_version", "0.1.0")), format_version=1,
    )


def tensor_names(found: Mapping[str, Any], cls: type[Variant], variant: Variant) -> dict[str, str]:
    """Format-1 tensor name -> format-2 name, generator by generator (``format1_generator_names``
    pairs with ``generator_names``); within a generator, module by module in forward order."""
    old_names = cls.format1_generator_names
    if len(old_names) != len(cls.generator_names):
        raise ExportError(f"variant '{cls.name}' cannot read ganzoo 0.1 exports (it declares no format-1 generator names)")
    mapping: dict[str, str] = {}
    for old, (new, module) in zip(old_names, variant.generators().items()):
        own = {k[len(old) + 1:]: v for k, v in found.items() if k.startswith(old + ".")}
        renamed = rename_by_order(list(own), list(unwrap(module).state_dict()), cls.format1_module_order)
        mapping.update({f"{old}.{k}": f"{new}.{v}" for k, v in renamed.items()})
    for k in found:  # anything left over is reported as unexpected
        mapping.setdefault(k, k)
    return mapping


def network_state(state: dict[str, Any], own: Mapping[str, Any], variant: Variant) -> dict[str, Any]:
    """A 0.1 checkpoint's network state (index-named layers) renamed to ``own``'s names; a state
    that already fits, or cannot be paired, comes back as it was (the caller reports a misfit)."""
    if set(state) == set(own):
        return state
    mapping = rename_by_order(list(state), list(own), type(variant).format1_module_order)
    return {mapping.get(k, k): v for k, v in state.items()}


def ema_state(state: dict[str, Any], names: set[str], variant: Variant) -> dict[str, Any]:
    """A 0.1 checkpoint's EMA weights ("generator.0.weight") renamed to the current generators'
    ("G.blocks.0.conv.weight"); a state that already fits comes back as it was."""
    if set(state) == set(names):
        return state
    state = dict(state)
    cls = type(variant)
    for old, (new, module) in zip(cls.format1_generator_names, variant.generators().items()):
        own = {k[len(old) + 1:] for k in state if k.startswith(old + ".")}
        mapping = rename_by_order(sorted(own), list(unwrap(module).state_dict()), cls.format1_module_order)
        state.update({f"{new}.{v}": state.pop(f"{old}.{k}") for k, v in mapping.items()})
    return state


def rename_by_order(old_keys: list[str], new_keys: list[str], top_order: tuple[str, ...] = ()) -> dict[str, str]:
    """Pair the tensors of two layouts of the same network: modules (key prefixes) in forward order,
    the old one's recovered from its names (numbers compared as numbers, ``top_order`` ranking the
    first component), each pair holding the same leaves (weight, bias, running_mean...). Returns
    old -> new; an empty mapping when the layouts differ (the caller then reports the mismatch)."""
    def groups(keys: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in keys:
            prefix, _, leaf = key.rpartition(".")
            out.setdefault(prefix, []).append(leaf)
        return out

    def order(prefix: str):
        parts = prefix.split(".")
        rank = top_order.index(parts[0]) if parts[0] in top_order else len(top_order)
        return (rank, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts))

    old_groups, new_groups = groups(old_keys), groups(new_keys)
    old_prefixes = sorted(old_groups, key=order)
    if len(old_prefixes) != len(new_groups):
        return {}
    mapping = {}
    for op, (np_, leaves) in zip(old_prefixes, new_groups.items()):
        if sorted(old_groups[op]) != sorted(leaves):
            return {}
        for leaf in leaves:
            mapping[f"{op}.{leaf}" if op else leaf] = f"{np_}.{leaf}" if np_ else leaf
    return mapping


