"""The registry of variants and datasets, and the checks a registration must pass.

Like torchvision's weights registry it refuses duplicate names, and like tox's it validates what a
plugin hands it at registration time, so a malformed variant is reported against its plugin by
``ganzoo plugins`` instead of failing halfway through somebody's run.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import Any

from ._plugin_api import GUIDE
from .config import TrainConfig, VariantConfig
from .data.spec import Dataset
from .errors import PluginError
from .eval.metric import Metric
from .pretrained import Pretrained
from .trackers import Tracker
from .variant import Task, Variant

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class RegistrationError(Exception):
    """A plugin registered something invalid or a duplicate name; reported as a plugin failure."""


@dataclasses.dataclass(frozen=True)
class PluginFailure:
    """A plugin, or one of its registrations, that could not be used, and why."""

    plugin: str  # plugin name
    distribution: str | None  # distribution, when known
    error: str  # one line: what went wrong
    detail: str = ""  # the traceback, for `ganzoo plugins --verbose`


@dataclasses.dataclass
class Registry:
    """Everything the loaded plugins registered, by name, and which plugin registered each."""

    variants: dict[str, type[Variant]] = dataclasses.field(default_factory=dict)  # name -> Variant subclass
    variant_plugin: dict[str, str] = dataclasses.field(default_factory=dict)  # variant name -> plugin name
    datasets: dict[str, Dataset] = dataclasses.field(default_factory=dict)  # name -> Dataset
    dataset_plugin: dict[str, str] = dataclasses.field(default_factory=dict)  # dataset name -> plugin name
    metrics: dict[str, Metric] = dataclasses.field(default_factory=dict)  # name -> Metric
    metric_plugin: dict[str, str] = dataclasses.field(default_factory=dict)  # metric name -> plugin name
    pretrained: dict[str, Pretrained] = dataclasses.field(default_factory=dict)  # name -> Pretrained
    pretrained_plugin: dict[str, str] = dataclasses.field(default_factory=dict)  # pretrained name -> plugin name
    trackers: dict[str, type[Tracker]] = dataclasses.field(default_factory=dict)  # name -> Tracker subclass
    tracker_plugin: dict[str, str] = dataclasses.field(default_factory=dict)  # tracker name -> plugin name
    failures: list[PluginFailure] = dataclasses.field(default_factory=list)  # what could not be loaded or registered
    distributions: dict[str, tuple[str | None, str | None]] = dataclasses.field(default_factory=dict)  # plugin -> (dist, version)

    # -- registration ------------------------------------------------------------------------------

    def add_variant(self, plugin: str, cls: Any) -> None:
        validate_variant(cls)
        if cls.name in self.variants:
            raise RegistrationError(
                f"variant '{cls.name}' is already registered by plugin '{self.variant_plugin[cls.name]}'"
            )
        self.variants[cls.name] = cls
        self.variant_plugin[cls.name] = plugin

    def add_dataset(self, plugin: str, dataset: Any) -> None:
        if not isinstance(dataset, Dataset):
            raise RegistrationError(f"register_datasets expects a ganzoo.Dataset, got {type(dataset).__name__}")
        if not NAME_RE.match(dataset.name):
            raise RegistrationError(f"dataset name {dataset.name!r} must be lowercase letters, digits, '-' or '_'")
        if dataset.name in self.datasets:
            raise RegistrationError(
                f"dataset '{dataset.name}' is already registered by plugin '{self.dataset_plugin[dataset.name]}'"
            )
        self.datasets[dataset.name] = dataset
        self.dataset_plugin[dataset.name] = plugin

    def add_metric(self, plugin: str, metric: Any) -> None:
        if not isinstance(metric, Metric):
            raise RegistrationError(f"register_metrics expects a ganzoo.eval.Metric, got {type(metric).__name__}")
        if not NAME_RE.match(metric.name):
            raise RegistrationError(f"metric name {metric.name!r} must be lowercase letters, digits, '-' or '_'")
        if metric.name in self.metrics:
            raise RegistrationError(f"metric '{metric.name}' is already registered by plugin '{self.metric_plugin[metric.name]}'")
        self.metrics[metric.name] = metric
        self.metric_plugin[metric.name] = plugin

    def add_pretrained(self, plugin: str, entry: Any) -> None:
        if not isinstance(entry, Pretrained):
            raise RegistrationError(f"register_pretrained expects a ganzoo.Pretrained, got {type(entry).__name__}")
        if not NAME_RE.match(entry.name):
            raise RegistrationError(f"pretrained name {entry.name!r} must be lowercase letters, digits, '-' or '_'")
        if not re.fullmatch(r"[0-9a-f]{64}", entry.sha256):
            raise RegistrationError(f"pretrained '{entry.name}': sha256 must be 64 hex digits")
        if not (entry.folder / "config.json").is_file():
            raise RegistrationError(f"pretrained '{entry.name}': {entry.folder} holds no config.json")
        if entry.name in self.pretrained:
            raise RegistrationError(f"pretrained '{entry.name}' is already registered by plugin '{self.pretrained_plugin[entry.name]}'")
        self.pretrained[entry.name] = entry
        self.pretrained_plugin[entry.name] = plugin

    def add_tracker(self, plugin: str, cls: Any) -> None:
        if not (isinstance(cls, type) and issubclass(cls, Tracker)):
            raise RegistrationError(f"register_trackers expects a ganzoo.trackers.Tracker subclass, got {cls!r}")
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise RegistrationError(f"tracker name {name!r} must be lowercase letters, digits, '-' or '_'")
        if name in self.trackers:
            raise RegistrationError(f"tracker '{name}' is already registered by plugin '{self.tracker_plugin[name]}'")
        self.trackers[name] = cls
        self.tracker_plugin[name] = plugin

    # -- look-up -----------------------------------------------------------------------------------

    def variant(self, name: str) -> type[Variant]:
        try:
            return self.variants[name]
        except KeyError:
            raise PluginError(_unknown("variant", name, self.variants) + self._failure_note(name)) from None

    def _failure_note(self, name: str) -> str:
        """Plugins that failed to load may be why a name is unknown: say which, and why, the likeliest first."""
        if not self.failures:
            return ""
        key = name.replace("_", "-").lower()
        ranked = sorted(self.failures, key=lambda f: key not in f"{f.plugin} {f.distribution or ''}".replace("_", "-").lower())
        shown = "; ".join(f"'{f.plugin}' ({f.distribution or 'in-process'}): {f.error}" for f in ranked[:3])
        likely = key in f"{ranked[0].plugin} {ranked[0].distribution or ''}".replace("_", "-").lower()
        head = "it may come from a plugin that failed to load" if likely else f"{len(self.failures)} plugin(s) failed to load"
        return f" Note: {head}: {shown} (see `ganzoo plugins -v`)."

    def dataset(self, name: str) -> Dataset:
        try:
            return self.datasets[name]
        except KeyError:
            raise PluginError(_unknown("dataset", name, self.datasets)) from None

    def metric(self, name: str) -> Metric:
        try:
            return self.metrics[name]
        except KeyError:
            raise PluginError(_unknown("metric", name, self.metrics)) from None

    def distribution_of_variant(self, name: str) -> tuple[str | None, str | None]:
        return self.distributions.get(self.variant_plugin.get(name, ""), (None, None))


def _unknown(kind: str, name: str, known: dict) -> str:
    msg = f"unknown {kind} '{name}'"
    hint = difflib.get_close_matches(name, list(known), n=1)
    if hint:
        msg += f"; did you mean '{hint[0]}'?"
    return msg + f" Known {kind}s: {', '.join(sorted(known)) or '(none)'}."


def validate_variant(cls: Any) -> None:
    """Refuse a registration that would only fail later: not a Variant, missing or bad attributes."""
    if not (isinstance(cls, type) and issubclass(cls, Variant)):
        raise RegistrationError(f"register_variants expects a ganzoo.Variant subclass, got {cls!r}")
    label = getattr(cls, "name", cls.__name__)
    missing = [a for a in ("name", "summary", "paper", "task", "default_dataset", "Config") if not hasattr(cls, a)]
    if missing:
        raise RegistrationError(f"variant {label!r} does not set {', '.join(missing)}")
    if not isinstance(cls.name, str) or not NAME_RE.match(cls.name):
        raise RegistrationError(f"variant name {cls.name!r} must be lowercase letters, digits, '-' or '_'")
    for attr in ("summary", "paper", "default_dataset"):
        if not isinstance(getattr(cls, attr), str) or not getattr(cls, attr).strip():
            raise RegistrationError(f"variant '{cls.name}' has an empty {attr}")
    if not isinstance(cls.task, Task):
        raise RegistrationError(f"variant '{cls.name}' has task {cls.task!r}, which is not a ganzoo.Task")
    cfg = cls.Config
    if not (isinstance(cfg, type) and dataclasses.is_dataclass(cfg) and issubclass(cfg, VariantConfig)):
        raise RegistrationError(f"variant '{cls.name}': Config must be a dataclass subclassing ganzoo.VariantConfig")
    try:
        cfg()
    except TypeError as exc:
        raise RegistrationError(f"variant '{cls.name}': every Config field needs a default ({exc})") from None
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if "build" in abstract or (hasattr(cls, "build") and {"build_generators", "build_training"} & set(abstract)):
        raise RegistrationError(
            f"variant '{cls.name}' is written for ganzoo 0.1 (one build() method); since 0.2 a variant builds its "
            "generators apart from what only training needs: implement generator_args, build_generators and "
            f"build_training (see {GUIDE}, which shows the old build() beside the new halves)"
        )
    if abstract:
        raise RegistrationError(f"variant '{cls.name}' does not implement {', '.join(abstract)}")
    if cls.task == Task.UNPAIRED_TRANSLATION and cls.translate is Variant.translate:
        raise RegistrationError(f"variant '{cls.name}' is an unpaired-translation variant but does not implement translate")
    if cls.task == Task.SUPER_RESOLUTION and (cls.upscale is Variant.upscale or not (isinstance(cls.scale, int) and cls.scale > 1)):
        raise RegistrationError(f"variant '{cls.name}' is a super-resolution variant: it must implement upscale and set scale > 1")
    names = cls.generator_names
    if not (isinstance(names, tuple) and names and all(isinstance(n, str) and n.isidentifier() for n in names)):
        raise RegistrationError(f"variant '{cls.name}': generator_names must be a non-empty tuple of attribute names, got {names!r}")
    try:
        from .config import replace

        replace(TrainConfig(), dict(cls.train_defaults))
    except Exception as exc:  # noqa: BLE001 - any bad entry is the plugin's to fix
        raise RegistrationError(f"variant '{cls.name}': train_defaults {exc}") from None
    clash = {f.name for f in dataclasses.fields(cfg)} & {f.name for f in dataclasses.fields(TrainConfig)}
    if clash:
        raise RegistrationError(
            f"variant '{cls.name}': Config fields {sorted(clash)} clash with the trainer's own settings"
        )
