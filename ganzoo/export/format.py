"""The export format, in one place: file names, the format version, config.json as typed data
(to and from JSON, every entry checked), and :func:`locate`, the one rule for which folder a path
names.

Everything that reads or writes an export goes through this module: the writer and loader
(``folder.py``), the model card (``card.py``), evaluation, the Hub and the CLI. Format 1, what
ganzoo 0.1 wrote, is read by ``legacy.py`` alone; ``docs/export-format.md`` is the user's copy of
this module.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .._files import Damaged, read_json_object
from .._text import escaped
from ..data.types import DataInfo
from ..errors import ExportError
from ..variant import Task

FORMAT_VERSION = 2  # of config.json; format 1 is what ganzoo 0.1 wrote (read, never written)
WEIGHTS = "model.safetensors"  # the generators' tensors
CONFIG = "config.json"  # an ExportInfo as JSON
CARD = "README.md"  # the model card
GRID = "samples.png"  # the final sample grid
RESULTS = "eval.json"  # written by `ganzoo eval`
FILES = (WEIGHTS, CONFIG, CARD, GRID, RESULTS)  # what `ganzoo push` uploads when present
RUN_EXPORT = "export"  # a run directory keeps its export in this sub-folder
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")  # weights ganzoo never loads


@dataclasses.dataclass(frozen=True)
class PluginRef:
    """The installed distribution that provides a variant: what to ``pip install`` to load it."""

    distribution: str | None  # e.g. "ganzoo" or "ganzoo-tinygan"; None when registered in-process
    version: str | None  # the distribution's version when the model was exported


@dataclasses.dataclass(frozen=True)
class GeneratorSpec:
    """How to rebuild the generators: ``cls(**args)`` once per module name."""

    cls: str  # the generator class's name (its source is in the model card)
    modules: tuple[str, ...]  # the attribute names, which prefix the tensor names ("G", or "G_ab", "G_ba")
    args: dict[str, Any]  # flat constructor arguments, JSON values only


@dataclasses.dataclass(frozen=True)
class TrainingRecord:
    """How the weights were made; nothing here is needed to load them."""

    dataset: str  # registered name or folder path; "" when the export does not say
    steps: int  # training steps done
    ema: bool  # whether the weights are the EMA average
    config: dict[str, Any]  # the variant's full config (hyper-parameters, schedule)
    train: dict[str, Any]  # the trainer's config (seed, amp, pack, ...); empty for format-1 exports
    command: str  # a `ganzoo run` line that reproduces the weights, with no absolute local paths


@dataclasses.dataclass(frozen=True)
class ExportInfo:
    """An export's config.json, typed."""

    variant: str  # registry name of the variant
    plugin: PluginRef  # the distribution that provides it
    task: Task
    generator: GeneratorSpec
    io: dict[str, Any]  # inputs, output range and layout, id2label, scale, directions: enough to drive G from any program
    data: DataInfo  # what the model was trained on, as served
    training: TrainingRecord
    ganzoo_version: str  # that wrote the export
    format_version: int = FORMAT_VERSION
    # The trainer's own words on the model, for whoever picks it up: what its samples look like and
    # where it falls short. The card shows them under "Limitations"; empty: no such section.
    notes: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "library_name": "ganzoo",
            "ganzoo_version": self.ganzoo_version,
            "variant": self.variant,
            "plugin": dataclasses.asdict(self.plugin),
            "task": self.task.value,
            "generator": {"class": self.generator.cls, "modules": list(self.generator.modules), "args": self.generator.args},
            "io": self.io,
            "data": self.data.to_dict(),
            "training": dataclasses.asdict(self.training),
            **({"notes": self.notes} if self.notes else {}),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any], where: Path) -> ExportInfo:
        """A format-2 config.json as typed data, every entry checked (type, allowed values, bounds);
        ExportError naming the file and the entry otherwise."""
        try:
            return cls._from_json(doc)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"lacks the entry {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ExportError(f"'{where}' is not a valid ganzoo export config: {what}") from None

    @classmethod
    def _from_json(cls, doc: dict[str, Any]) -> ExportInfo:
        gen, training, plugin, io = doc["generator"], doc["training"], doc.get("plugin") or {}, doc["io"]
        _expect(isinstance(doc["variant"], str) and 0 < len(doc["variant"]) <= 100, "variant", "a name of at most 100 characters")
        _expect(doc["task"] in {t.value for t in Task}, "task", "one of " + ", ".join(t.value for t in Task))
        _expect(isinstance(plugin, dict), "plugin", "an object")
        _expect(all(v is None or isinstance(v, str) for v in (plugin.get("distribution"), plugin.get("version"))),
                "plugin", "an object of strings")
        _expect(isinstance(gen, dict), "generator", "an object")
        _expect(isinstance(gen.get("args"), dict) and all(isinstance(k, str) for k in gen["args"]), "generator.args", "an object")
        _expect(isinstance(gen.get("modules"), list) and gen["modules"] and all(isinstance(m, str) for m in gen["modules"]),
                "generator.modules", "a non-empty list of names")
        _expect(isinstance(gen.get("class", ""), str), "generator.class", "a string")
        _expect(isinstance(io, dict), "io", "an object")
        _expect(isinstance(training, dict), "training", "an object")
        steps = training.get("steps", 0)
        _expect(isinstance(steps, int) and not isinstance(steps, bool) and steps >= 0, "training.steps", "a non-negative integer")
        _expect(isinstance(training.get("ema", False), bool), "training.ema", "true or false")
        for key in ("config", "train"):
            _expect(isinstance(training.get(key) or {}, dict), f"training.{key}", "an object")
        for key in ("dataset", "command"):
            _expect(isinstance(training.get(key, ""), str), f"training.{key}", "a string")
        _expect(isinstance(doc.get("ganzoo_version", ""), str), "ganzoo_version", "a string")
        _expect(isinstance(doc.get("notes", ""), str), "notes", "a string")
        return cls(
            variant=doc["variant"],
            plugin=PluginRef(plugin.get("distribution"), plugin.get("version")),
            task=Task(doc["task"]),
            generator=GeneratorSpec(cls=gen.get("class", ""), modules=tuple(gen["modules"]), args=gen["args"]),
            io=io,
            data=DataInfo.from_dict(doc["data"]),
            training=TrainingRecord(
                dataset=training.get("dataset", ""), steps=steps, ema=training.get("ema", False),
                config=dict(training.get("config") or {}), train=dict(training.get("train") or {}), command=training.get("command", ""),
            ),
            ganzoo_version=doc.get("ganzoo_version", ""),
            format_version=format_version(doc),
            notes=doc.get("notes", ""),
        )


def _expect(ok: bool, entry: str, what: str) -> None:
    if not ok:
        raise ValueError(f"entry '{entry}' must be {what}")


def locate(path: str | Path) -> Path:
    """The export folder ``path`` names: a run directory means its ``export/``, anything else itself.
    The one place that rule lives: load, eval, push and the CLI all ask here."""
    path = Path(path).expanduser()
    inner = path / RUN_EXPORT
    return inner if (inner / CONFIG).is_file() else path


def is_run_doc(doc: dict[str, Any]) -> bool:
    """Whether a config.json is a run directory's (the trainer's record), not an export's."""
    return "train" in doc and "generator" not in doc and "format_version" not in doc and "config" in doc and "dataset" in doc


def format_version(doc: dict[str, Any]) -> int:
    """The document's format version: 1 when it names none (ganzoo 0.1), -1 when it is not an integer."""
    value = doc.get("format_version", 1)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def read_doc(folder: Path) -> dict[str, Any]:
    """config.json of the export in ``folder``, as a JSON object, after the folder checks."""
    if not folder.exists():
        raise ExportError(f"export folder '{folder}' does not exist")
    if not folder.is_dir():
        raise ExportError(f"'{folder}' is not an export folder (expected a folder with {CONFIG} and {WEIGHTS})")
    if not (folder / CONFIG).exists():
        pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES]
        extra = f"; pickle-format files ({', '.join(pickles)}) are never loaded" if pickles else ""
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {CONFIG}{extra}")
    try:
        doc = read_json_object(folder / CONFIG)
    except Damaged as exc:
        raise ExportError(f"'{folder / CONFIG}' {exc}") from None
    if is_run_doc(doc):
        raise ExportError(f"'{folder}' is a run directory whose export is missing (no {folder / RUN_EXPORT / CONFIG}); "
                          f"finish the run with `ganzoo run {escaped(doc.get('variant'))} --resume {folder}`")
    required = ("variant", "config", "data") if format_version(doc) == 1 else ("variant", "task", "generator", "io", "data", "training")
    for key in required:
        if key not in doc:
            raise ExportError(f"'{folder / CONFIG}' lacks the '{key}' entry of a ganzoo export")
    if not (folder / WEIGHTS).exists():
        raise ExportError(f"'{folder}' is not a ganzoo export: it has no {WEIGHTS}")
    return doc
