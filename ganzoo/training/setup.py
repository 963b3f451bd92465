"""Building a trainer from names and settings: a new run of a registered variant, or the
continuation of a run directory. The registry is passed in by the API edge (``ganzoo.train``, the
CLI); nothing here looks it up."""

from __future__ import annotations

import dataclasses
import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._hub_ids import PREFIX as HUB_PREFIX
from ..config import TrainConfig, VariantConfig, field_types, replace, resolve_value, split_overrides
from ..data import load_data
from ..errors import ConfigError, GanzooError
from ..export.format import PluginRef
from ..precision import resolve as resolve_precision
from ..trackers import validate as validate_trackers
from ..variant import Variant
from .run_dir import RunDir, default_run_dir, read_run_doc
from .trainer import RunSpec, Trainer, resolve_device

if TYPE_CHECKING:
    from .._registry import Registry

log = logging.getLogger(__name__)

# Trainer keys a resumed run may change: how it runs and what it writes, not what it computes.
RESUMABLE = ("device", "amp", "threads", "compile", "channels_last", "sync_batchnorm", "log_every", "sample_every",
             "checkpoint_every", "keep_checkpoints", "num_samples", "eval_every", "eval_metrics", "best_metric",
             "on_nonfinite", "max_loss", "progress_every", "trackers", "stream")


def command_line(argv: list[str] | None = None) -> str:
    argv = sys.argv if argv is None else argv
    return "ganzoo " + shlex.join(argv[1:]) if argv else "ganzoo"


def prepare(registry: Registry, variant: str, *, data: str | None = None, settings: dict[str, Any] | None = None,
            out: str | Path | None = None, command: str = "", progress: bool | None = None, strict_data: bool = False,
            auto_threads: bool = False) -> Trainer:
    """A trainer for a new run of ``variant`` from ``registry``. ``settings`` holds variant-config
    and trainer keys alike (``--set``; :class:`ganzoo.config.Text` values are parsed by the key's
    type); ``strict_data`` refuses an image folder with unreadable files instead of skipping them.
    ``auto_threads`` (`ganzoo run`): with ``threads`` 0, take as many torch threads as cores are idle;
    otherwise a library call leaves the process's thread count as its caller set it."""
    cls = registry.variant(variant)
    config, train = resolve_configs(cls, settings)
    dataset = data or cls.default_dataset
    run_dir = RunDir(Path(out) if out is not None else default_run_dir(cls.name, dataset), writer=_rank() == 0)
    if run_dir.config.exists() and run_dir.writer:  # other ranks may start after rank 0 wrote it
        raise GanzooError(f"'{run_dir.path}' already holds a run; continue it with --resume {run_dir.path} or choose another --out")
    resolve_device(train.device)  # fail on a bad device before loading data
    apply_threads(train.threads, auto=auto_threads)
    validate_trackers(train.trackers, registry.trackers)  # and on a tracker that is missing or not installed
    run_dir.create()  # and on a folder that cannot be one
    try:
        loaded = load_data(dataset, cls.data_request(config), registry.datasets, strict=strict_data,
                           image_column=train.image_column, label_column=train.label_column)
        # A Hub dataset is recorded at the commit it was read at (hf-hub:owner/name@sha): a resume,
        # an evaluation or a reproduction reads the same images even after the branch moves on.
        pinned = loaded.name if dataset.startswith(HUB_PREFIX) else dataset
        spec = RunSpec(cls, config, train, pinned, command=command, plugin=PluginRef(*registry.distribution_of_variant(cls.name)))
        return Trainer(spec, loaded, run_dir, metrics=registry.metrics, progress=progress, trackers=registry.trackers)
    except BaseException:
        run_dir.abandon()
        raise


def apply_threads(requested: int, *, auto: bool) -> int:
    """Give torch ``requested`` threads; with 0, as many as cores are idle now (``ganzoo._threads``)
    when ``auto``, else leave its count alone. The count, which the run records (config.json's
    torch_threads) and a resume takes again."""
    import torch

    from .._threads import choose, torch_default

    if requested == 0 and not auto:
        return torch.get_num_threads()
    count = choose(requested, torch_default())
    if count != torch.get_num_threads():
        torch.set_num_threads(count)
    return count


def resolve_configs(cls: type[Variant], settings: dict[str, Any] | None) -> tuple[VariantConfig, TrainConfig]:
    """The variant's and the trainer's config with ``settings`` applied over the defaults (the
    variant's own trainer defaults included), every value checked; nothing is loaded or written."""
    vset, tset = split_overrides(settings or {}, cls.Config(), TrainConfig())
    config = replace(cls.Config(), vset)
    train = replace(replace(TrainConfig(), dict(cls.train_defaults)), tset)
    _check_positive(config, train)
    return config, train


def prepare_resume(registry: Registry, run_dir: str | Path, *, variant: str | None = None, steps: int | None = None,
                   settings: dict[str, Any] | None = None, progress: bool | None = None, strict_data: bool = False) -> Trainer:
    """A trainer that continues the run in ``run_dir`` from its newest checkpoint, with its own
    config. ``steps`` and the trainer keys in ``RESUMABLE`` (``settings``) may change; any other
    key is refused, since the run would no longer be the one it continues. Nothing is written
    until the resumed run checkpoints: a refused or diverging resume leaves config.json as it was."""
    folder = RunDir(run_dir, writer=_rank() == 0)
    doc = read_run_doc(folder.path)
    if variant is not None and variant != doc["variant"]:
        raise GanzooError(f"'{folder.path}' is a run of '{doc['variant']}', not '{variant}'")
    cls = registry.variant(doc["variant"])
    config = replace(cls.Config(), doc["config"])
    train = replace(TrainConfig(), doc["train"])
    changes: dict[str, Any] = {}
    if steps is not None and steps != config.steps:
        changes["steps"] = steps
        config = dataclasses.replace(config, steps=steps)
    types = field_types(TrainConfig)
    for key, raw in (settings or {}).items():
        if key not in RESUMABLE:
            kind = "trainer" if key in types else "variant" if key in field_types(cls.Config) else None
            if kind is None:
                raise ConfigError(f"unknown config key '{key}'")
            raise GanzooError(f"--resume continues the run with its own config; {kind} key '{key}' cannot change "
                              f"(keys that can: steps, {', '.join(RESUMABLE)}); start a new run to change it")
        value = resolve_value(key, types[key], raw)
        if getattr(train, key) != value:
            log.info("resuming with %s=%s (the run had %s)", key, value, getattr(train, key))
            changes[key] = value
    train = dataclasses.replace(train, **{k: v for k, v in changes.items() if k != "steps"})
    # Bit-exact continuation needs the thread count and the precision the run had: its recorded ones,
    # unless --set names others. A run from before the precision was recorded chose fp32 on every CPU.
    recorded_threads = doc.get("torch_threads")
    apply_threads(train.threads or (recorded_threads if isinstance(recorded_threads, int) and recorded_threads > 0 else 0), auto=False)
    precision = None
    if train.amp == "auto" and "amp" not in changes:
        recorded = doc.get("precision")
        precision = recorded if recorded in ("off", "bf16", "fp16") else resolve_precision("auto", resolve_device(train.device), cpu_bf16=False)
    _check_positive(config, train)
    folder.check_checkpoint_names()
    validate_trackers(train.trackers, registry.trackers)
    loaded = load_data(doc["dataset"], cls.data_request(config), registry.datasets, strict=strict_data,
                       image_column=train.image_column, label_column=train.label_column)
    spec = RunSpec(cls, config, train, doc["dataset"], command=doc.get("command", ""),
                   plugin=PluginRef(*registry.distribution_of_variant(cls.name)), precision=precision)
    trainer = Trainer(spec, loaded, folder, metrics=registry.metrics, progress=progress, trackers=registry.trackers)
    trainer.resume_changes = changes
    try:
        done = trainer.resume()
        if done > config.steps:
            raise GanzooError(f"'{folder.path}' is already at step {done}; pass --steps larger than that to train on")
    except BaseException:
        trainer.lock.release()  # a refused resume leaves the folder as free as it found it (atexit would, at the process's end)
        raise
    return trainer


def _rank() -> int:
    from .distributed import rank_and_world

    return rank_and_world()[0]


def _check_positive(config: VariantConfig, train: TrainConfig) -> None:
    """What the fields' ranges cannot say alone (they are checked where values are parsed)."""
    if config.batch_size % train.pack:
        raise GanzooError(f"batch_size {config.batch_size} must be a multiple of pack {train.pack}")
