"""A variant described as an export: the io block, the typed config.json of its generators as they
are now, the `ganzoo run` line that reproduces them, and the variant config rebuilt from a record."""

from __future__ import annotations

import dataclasses
import logging
import shlex
from pathlib import Path
from typing import Any

from .._version import __version__
from ..config import TrainConfig, check_value, field_types, replace, to_dict
from ..variant import Task, Variant, unwrap
from .format import ExportInfo, GeneratorSpec, PluginRef, TrainingRecord

log = logging.getLogger(__name__)


def io_block(variant: Variant) -> dict[str, Any]:
    """What any program needs to drive the generators: inputs, output range and layout, labels."""
    data = variant.data
    io: dict[str, Any] = {"inputs": variant.input_spec()}
    if data.kind == "image":
        io["output"] = {"kind": "image", "layout": "NCHW", "dtype": "float32", "range": [-1.0, 1.0],
                        "to_unit_range": "(x + 1) / 2", "channels": data.shape[0]}
    else:
        io["output"] = {"kind": "points", "layout": "ND", "dtype": "float32", "range": None}
    if variant.task in (Task.UNCONDITIONAL, Task.CONDITIONAL):
        io["output"]["shape"] = list(data.shape)
    if variant.task == Task.CONDITIONAL:
        names = data.class_names or tuple(str(i) for i in range(data.num_classes or 0))
        io["num_classes"] = data.num_classes
        io["id2label"] = {str(i): name for i, name in enumerate(names)}
    if variant.task == Task.UNPAIRED_TRANSLATION:
        io["directions"] = {"a2b": variant.generator_names[0], "b2a": variant.generator_names[1]}
    if variant.task == Task.SUPER_RESOLUTION:
        io["scale"] = type(variant).scale
    return io


def export_info(variant: Variant, *, plugin: PluginRef, dataset: str, steps: int, ema: bool,
                train: TrainConfig | None = None) -> ExportInfo:
    """The config.json of ``variant``'s generators as they are now (trained or fresh)."""
    gens = variant.generators()
    classes = {type(unwrap(g)).__name__ for g in gens.values()}
    return ExportInfo(
        variant=variant.name,
        plugin=plugin,
        task=variant.task,
        generator=GeneratorSpec(cls=" ".join(sorted(classes)), modules=tuple(gens), args=dict(variant.args)),
        io=io_block(variant),
        data=variant.data,
        training=TrainingRecord(
            dataset=dataset, steps=steps, ema=ema, config=to_dict(variant.config),
            train=to_dict(train) if train is not None else {},
            command=reproduce_command(type(variant), dataset, variant.config, train),
        ),
        ganzoo_version=__version__,
    )


def reproduce_command(cls: type[Variant], dataset: str, config: Any, train: TrainConfig | None) -> str:
    """A `ganzoo run` line that trains the same weights: every key that differs from its default,
    dataset paths made relative (or reduced to their name), so the line holds no local path."""
    parts = ["ganzoo", "run", cls.name]
    if dataset != cls.default_dataset:
        parts += ["--data", _portable_path(dataset)]
    pairs = _changed(config, cls.Config())
    if train is not None:
        defaults = replace(TrainConfig(), dict(cls.train_defaults))  # the variant's own trainer defaults need no --set
        pairs += [(k, v) for k, v in _changed(train, defaults) if k != "device"]  # the device changes no recipe
    for key, value in pairs:
        parts += ["--set", f"{key}={set_text(value)}"]
    return shlex.join(parts)


def _changed(cfg: Any, default: Any) -> list[tuple[str, Any]]:
    new, old = to_dict(cfg), to_dict(default)
    return [(k, v) for k, v in new.items() if old.get(k) != v]


def set_text(value: Any) -> str:
    """A value as `--set key=TEXT` writes it (none, true/false, comma-joined tuples)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(set_text(v) for v in value)
    return str(value)


def _portable_path(text: str) -> str:
    path = Path(text)
    if not path.is_absolute():
        return text
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return path.name


def lenient_config(cls: type[Variant], values: dict[str, Any]) -> Any:
    """The variant's config with the recorded values that still fit it: a training key a newer
    plugin renamed or retyped falls back to its default, since sampling never reads one."""
    types = field_types(cls.Config)
    kept = {}
    for key, value in values.items():
        if key not in types:
            log.debug("%s: ignoring recorded config key %r, which the variant no longer has", cls.name, key)
            continue
        try:
            kept[key] = check_value(key, types[key], value)
        except Exception:  # noqa: BLE001 - a recorded value that no longer fits falls back to its default
            log.debug("%s: ignoring recorded config key %r=%r, which no longer fits its type", cls.name, key, value)
    return dataclasses.replace(cls.Config(), **kept)

