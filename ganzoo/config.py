"""Typed configs and the ``--set key=value`` overrides that edit them.

A run is described by two dataclasses: the variant's own config (a subclass of
:class:`VariantConfig`, with the paper's hyper-parameters as defaults) and the trainer's
:class:`TrainConfig`. Both are plain dataclasses so that they print, diff and serialise to JSON
without ceremony; the field types are the schema that ``--set`` values are checked against.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from .errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds of a numeric config value, as ``Annotated[int, Range(ge=1)]`` metadata. Checked wherever
    a value is parsed (``--set``) or read back (config.json, ``ganzoo.create``), so a bad value is a
    ConfigError naming its key before any network is built, never an error inside a constructor."""

    ge: float | None = None  # value >= ge
    gt: float | None = None  # value > gt
    le: float | None = None  # value <= le
    lt: float | None = None  # value < lt

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        ok = ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
              and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))
        if not ok:
            raise ConfigError(f"config key '{key}' must be {self.describe()}, got {value!r}")

    def describe(self) -> str:
        parts = [f"{op} {_num(v)}" for op, v in ((">=", self.ge), (">", self.gt), ("<=", self.le), ("<", self.lt)) if v is not None]
        return " and ".join(parts)


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


# The ranges most fields need; a plugin's config uses them as types (``z_dim: PositiveInt = 100``)
# and gets the checks for free. Every float is finite in any case: NaN and inf are never a setting.
PositiveInt = Annotated[int, Range(ge=1)]  # sizes, counts of steps, layers, classes
NonNegativeInt = Annotated[int, Range(ge=0)]  # cadences where 0 means "off"
Width = Annotated[int, Range(ge=1, le=8192)]  # channels or units of a layer; the cap keeps a typo from allocating terabytes
PositiveFloat = Annotated[float, Range(gt=0)]  # learning rates, temperatures
NonNegativeFloat = Annotated[float, Range(ge=0)]  # loss weights, penalties, noise levels (0: off)
UnitFloat = Annotated[float, Range(ge=0, le=1)]  # fractions, probabilities, dropout
Decay = Annotated[float, Range(ge=0, lt=1)]  # Adam betas, EMA decays: 1 would never move
ImageSize = Annotated[int, Range(ge=4, le=4096)]  # side of a square image in pixels


@dataclasses.dataclass
class VariantConfig:
    """Fields every variant has; a variant subclasses this and adds its own (all with defaults)."""

    steps: PositiveInt = 1000  # training iterations (calls of the variant's train_step) in the default budget
    batch_size: PositiveInt = 64  # real samples per batch drawn from the dataset


@dataclasses.dataclass
class TrainConfig:
    """What the trainer does around the variant's step; the same for every variant."""

    seed: int = 0  # seeds weights, noise and data order; same seed on CPU gives bit-identical weights
    device: str = "auto"  # "auto" picks cuda, then mps, then cpu; or any torch device string
    log_every: PositiveInt = 25  # steps between lines in metrics.jsonl (and progress-bar updates)
    sample_every: NonNegativeInt = 250  # steps between sample grids in samples/ (0: only at the end)
    checkpoint_every: NonNegativeInt = 250  # steps between checkpoints in checkpoints/ (0: only at the end)
    keep_checkpoints: PositiveInt = 2  # newest checkpoints kept; older ones are deleted
    ema: bool = False  # keep an exponential moving average of the generator weights for sampling/export
    ema_decay: Decay = 0.999  # EMA decay per step (the weight of the old average)
    num_samples: Annotated[int, Range(ge=1, le=1024)] = 64  # images in each sample grid (drawn from one fixed noise batch)
    eval_every: NonNegativeInt = 0  # steps between evaluations with the harness during training (0: none)
    eval_metrics: tuple[str, ...] = ()  # metrics to run then; empty: every metric that applies
    best_metric: str = ""  # "metric:key" whose best value keeps checkpoints/best.safetensors, e.g. "fid-digitscnn-x5:fid"
    best_mode: Literal["min", "max"] = "min"  # whether lower (FID) or higher (accuracy) values of best_metric are better
    # experiment trackers the run also reports to (`--tracker NAME`, repeatable; `ganzoo plugins`
    # lists them): "tensorboard" is built in, "wandb" and "mlflow" come as plugins
    trackers: tuple[str, ...] = ()
    # a prepared dataset (`ganzoo prepare`, or a folder's cached copy) is read batch by batch from its
    # file ("on"), or whole into the device's memory ("off"); "auto" streams it above 1 GiB. The same
    # batches either way.
    stream: Literal["auto", "on", "off"] = "auto"
    # a Hub dataset's columns (`--data hf-hub:owner/name`), named when it has several candidates: the
    # image column, and the label column ("none": train without labels); "": the one there is
    image_column: str = ""
    label_column: str = ""
    pack: Annotated[int, Range(ge=1, le=64)] = 1  # PacGAN (Lin et al. 2018): D judges this many samples at once, real with real, fake with fake
    # DiffAugment (Zhao et al. 2020): the same kinds of random, differentiable transforms on every
    # image D sees, real and fake, so D cannot memorise a small dataset; any of color, translation,
    # cutout (the paper's choice for small data: all three). Image data and variants with one D only.
    diffaugment: tuple[Literal["color", "translation", "cutout"], ...] = ()
    channels_last: bool = True  # NHWC memory layout for image data and conv nets: same math, faster convolutions
    # mixed precision; auto: bf16 (or fp16 + loss scaling) on CUDA, bf16 on a CPU with bf16 units (AMX,
    # AVX-512 BF16), off elsewhere; a run records what auto chose
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"
    # torch's CPU threads; 0: `ganzoo run` takes as many as cores are idle when the run starts (at most
    # one per physical core; OMP_NUM_THREADS is followed when set), and ganzoo.train leaves the
    # caller's count. A run records the count it used: weights are bit-identical only at the same
    # count, so a resume takes it again.
    threads: NonNegativeInt = 0
    compile: bool = False  # torch.compile every network (opt-in: the first steps wait for compilation)
    sync_batchnorm: bool = False  # multi-GPU runs: batchnorm statistics over all processes' batches (CUDA only)
    # A NaN/inf loss: "stop" ends the run (exit 3) before anything of the diverged steps is written,
    # keeping the last good checkpoint and the export; "skip" drops that update and trains on (it
    # checks every loss before its backward pass: one device sync per update). A skipped step's
    # forward pass may still have poisoned batchnorm statistics; weights are checked before every
    # checkpoint and export, and NaN there stops the run as "stop" does.
    on_nonfinite: Literal["stop", "skip"] = "stop"
    max_loss: NonNegativeFloat = 0.0  # stop, as for a NaN, once a loss's magnitude exceeds this (a collapse); 0: no bound
    # When stderr is not a terminal (nohup, a batch scheduler, a pipe) there is no progress bar; a
    # plain line (step, losses, images/s, ETA) is printed every this many seconds instead (0: never).
    progress_every: NonNegativeFloat = 30.0


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def field_types(cls: type) -> dict[str, Any]:
    """The resolved type of each field (string annotations from ``from __future__`` included)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    out = {f.name: hints[f.name] for f in dataclasses.fields(cls)}
    # A subclass that redeclares a base field with its plain type (``steps: int = 1500`` in a
    # plugin's config) keeps the base's range: the check comes with the field, for free.
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            for name, tp in typing.get_type_hints(base, include_extras=True).items():
                if name in out and get_origin(tp) is Annotated and get_origin(out[name]) is not Annotated and get_args(tp)[0] is out[name]:
                    out[name] = tp
    return out


def type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Annotated:
        base, *extras = get_args(tp)
        bounds = [e.describe() for e in extras if isinstance(e, Range)]
        return type_name(base) + (f" ({', '.join(bounds)})" if bounds else "")
    if origin is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(type_name(a) for a in get_args(tp))
    if origin is tuple:
        return f"tuple[{', '.join(type_name(a) for a in get_args(tp))}]"
    if tp is type(None):
        return "None"
    return getattr(tp, "__name__", str(tp))


def _split_annotated(tp: Any) -> tuple[Any, list[Range]]:
    if get_origin(tp) is Annotated:
        base, *extras = get_args(tp)
        return base, [e for e in extras if isinstance(e, Range)]
    return tp, []


def _in_range(key: str, value: Any, ranges: list[Range]) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key}' must be a finite number, got {value!r}")
    for r in ranges:
        r.check(key, value)
    return value


def parse_value(key: str, tp: Any, raw: str) -> Any:
    """Turn the text of ``--set key=raw`` into a value of type ``tp``, or say why it cannot."""
    tp, ranges = _split_annotated(tp)
    if ranges:
        return _in_range(key, parse_value(key, tp, raw), ranges)
    origin = get_origin(tp)
    text = raw.strip()
    if origin in (Union, types.UnionType):
        args = get_args(tp)
        if type(None) in args and text.lower() in ("none", "null"):
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:  # "T | None": T's own message (its range, say) is the useful one
            return parse_value(key, others[0], raw)
        for arg in args:
            if arg is type(None):
                continue
            try:
                return parse_value(key, arg, raw)
            except ConfigError:
                pass
        raise _bad(key, tp, raw)
    if origin is Literal:
        for choice in get_args(tp):
            try:
                if parse_value(key, type(choice), raw) == choice:
                    return choice
            except ConfigError:
                pass
        raise _bad(key, tp, raw)
    if origin is tuple:
        parts = [p for p in text.strip("()[]").split(",") if p.strip()]
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(parse_value(key, args[0], p) for p in parts)
        if len(parts) != len(args):
            raise _bad(key, tp, raw)
        return tuple(parse_value(key, a, p) for a, p in zip(args, parts))
    if tp is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise _bad(key, tp, raw)
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise _bad(key, tp, raw) from None
    if tp is float:
        try:
            return _in_range(key, float(text), [])
        except ValueError:
            raise _bad(key, tp, raw) from None
    if tp is str:
        return raw
    raise ConfigError(f"config key '{key}' has type {type_name(tp)}, which --set cannot parse")


def _bad(key: str, tp: Any, raw: str) -> ConfigError:
    return ConfigError(f"config key '{key}' expects {type_name(tp)}, got {raw!r}")


def check_value(key: str, tp: Any, value: Any) -> Any:
    """Validate a value that came from JSON or Python (not text); returns it, tuples restored."""
    tp, ranges = _split_annotated(tp)
    if ranges:
        return _in_range(key, check_value(key, tp, value), ranges)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        others = [a for a in get_args(tp) if a is not type(None)]
        if len(others) == 1 and value is not None:
            return check_value(key, others[0], value)
        for arg in get_args(tp):
            try:
                return check_value(key, arg, value)
            except ConfigError:
                pass
        raise _bad(key, tp, repr(value))
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise _bad(key, tp, repr(value))
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _bad(key, tp, repr(value))
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(check_value(key, args[0], v) for v in value)
        if len(value) != len(args):
            raise _bad(key, tp, repr(value))
        return tuple(check_value(key, a, v) for a, v in zip(args, value))
    if tp is type(None):
        if value is None:
            return None
        raise _bad(key, tp, repr(value))
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _in_range(key, float(value), [])
    if tp in (int, float, str, bool):
        if isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
            return value
        raise _bad(key, tp, repr(value))
    return value


class Text(str):
    """A value as a user typed it (``--set key=value``): parsed by its key's type ("3" -> 3,
    "true" -> True, "none" -> None), where any other value is checked as the Python value it is."""


def resolve_value(key: str, tp: Any, value: Any) -> Any:
    """``value`` for a field of type ``tp``: :class:`Text` parsed, anything else checked."""
    return parse_value(key, tp, value) if isinstance(value, Text) else check_value(key, tp, value)


def replace(cfg: Any, values: dict[str, Any], *, text: bool = False) -> Any:
    """A copy of ``cfg`` with ``values`` applied; unknown keys and wrong types raise ConfigError.

    :class:`Text` values are parsed (the CLI's ``--set``), the others checked as Python/JSON values
    (a config.json read back, ``ganzoo.create(name, **config)``, ``--steps 300``); ``text=True``
    parses every string as Text.
    """
    types_ = field_types(type(cfg))
    changes = {}
    for key, value in values.items():
        if key not in types_:
            raise ConfigError(unknown_key_message(key, types_))
        changes[key] = resolve_value(key, types_[key], Text(value) if text and isinstance(value, str) else value)
    return dataclasses.replace(cfg, **changes)


def unknown_key_message(key: str, known: typing.Iterable[str]) -> str:
    import difflib

    known = sorted(known)
    hint = difflib.get_close_matches(key, known, n=1)
    msg = f"unknown config key '{key}'"
    if hint:
        msg += f" (did you mean '{hint[0]}'?)"
    return msg + f"; known keys: {', '.join(known)}"


def parse_assignments(items: typing.Iterable[str]) -> dict[str, Any]:
    """``["a=1", "b=x"]`` -> ``{"a": Text("1"), "b": Text("x")}``; an item without '=' is a ConfigError."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = Text(value)
    return out


def split_overrides(
    values: dict[str, Any], variant_cfg: Any, train_cfg: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Route each key to the variant's config or the trainer's; unknown keys raise ConfigError."""
    vkeys = {f.name for f in dataclasses.fields(variant_cfg)}
    tkeys = {f.name for f in dataclasses.fields(train_cfg)}
    v, t = {}, {}
    for key, value in values.items():
        if key in vkeys:
            v[key] = value
        elif key in tkeys:
            t[key] = value
        else:
            raise ConfigError(unknown_key_message(key, vkeys | tkeys))
    return v, t
