"""Checkpoints that resume a run exactly and survive a kill at any instant.

One checkpoint is one safetensors file: every network's weights and buffers, every optimizer's
state tensors, the EMA weights and the RNG states as tensors; the step, the batch position and
the optimizers' hyper-parameters as JSON in the file's metadata. Nothing is pickled. The file is
written to a temporary name, fsynced and renamed, so the newest complete checkpoint is always
loadable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from .._files import Damaged, safetensors_header
from .._io import atomic_write_bytes
from ..export import legacy
from ..variant import unwrap

PATTERN = re.compile(r"^step-(\d+)\.safetensors$")
META_KEY = "ganzoo"
log = logging.getLogger(__name__)


def tensors_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """sha256 over every tensor's name, dtype, shape and bytes, in name order: a flipped bit
    anywhere in a checkpoint's tensors changes it."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{list(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


class CheckpointError(Exception):
    """A checkpoint that cannot be trusted: unreadable, or its tensors do not match its checksum."""


def checkpoint_path(folder: Path, step: int) -> Path:
    return folder / f"step-{step:08d}.safetensors"


def _optimizer_split(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    sd = opt.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in sd["state"].items():
        for key, value in st.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{prefix}.state.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_join(meta: dict[str, Any], prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    head = prefix + ".state."
    for name, value in tensors.items():
        if name.startswith(head):
            idx, key = name[len(head) :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    for idx, st in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(st)
    groups = [{k: (tuple(v) if isinstance(v, list) and k != "params" else v) for k, v in g.items()} for g in meta["param_groups"]]
    return {"state": state, "param_groups": groups}


def rng_state() -> dict[str, torch.Tensor]:
    out = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            out[f"rng.cuda.{i}"] = s
    if hasattr(torch, "mps") and torch.backends.mps.is_available():
        out["rng.mps"] = torch.mps.get_rng_state()
    return out


def set_rng_state(tensors: dict[str, torch.Tensor]) -> None:
    torch.set_rng_state(tensors["rng.cpu"])
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    if "rng.mps" in tensors and torch.backends.mps.is_available():
        torch.mps.set_rng_state(tensors["rng.mps"])


def save_checkpoint(path: Path, *, variant, ema, stream, step: int, extra: dict[str, Any] | None = None,
                    rng: dict[str, torch.Tensor] | None = None) -> Path:
    """``rng``: RNG states to store (under multi-process training, every rank's; default this process's)."""
    tensors: dict[str, torch.Tensor] = {}
    for name, net in variant.networks().items():
        for key, value in unwrap(net).state_dict().items():
            tensors[f"net.{name}.{key}"] = value
    optim_meta = {name: _optimizer_split(opt, f"optim.{name}", tensors) for name, opt in variant.optimizers().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    tensors.update({f"state.{k}": v for k, v in variant.extra_state().items()})
    tensors.update(rng if rng is not None else rng_state())
    cpu = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    meta = {"step": step, "batches": stream.position, "optimizers": optim_meta, **(extra or {}), "sha256": tensors_sha256(cpu)}
    return atomic_write_bytes(path, save(cpu, metadata={META_KEY: json.dumps(meta)}))


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and metadata of a checkpoint, verified against the checksum it carries (checkpoints
    of ganzoo 0.1 carry none and are read as they are); CheckpointError says why one fails."""
    try:
        _, header_meta = safetensors_header(path)  # structure first: a truncated file or a lying header
    except Damaged as exc:
        raise CheckpointError(f"the file {exc}") from None
    try:
        meta = json.loads(header_meta[META_KEY], parse_constant=_no_constant)
    except (KeyError, ValueError, RecursionError):
        raise CheckpointError("its metadata is not a ganzoo checkpoint's") from None
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors or OS errors: the file changed since its header was read
        raise CheckpointError(f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'})") from None
    if not isinstance(meta, dict) or not _count(meta.get("step")) or not _count(meta.get("batches")) or not isinstance(meta.get("optimizers"), dict):
        raise CheckpointError("its metadata is not a ganzoo checkpoint's (step, batches, optimizers)")
    if "sha256" in meta and tensors_sha256(tensors) != meta["sha256"]:
        raise CheckpointError("its tensors do not match the checksum it was written with (the file was damaged)")
    return tensors, meta


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _fits(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], what: str) -> None:
    """``state`` holds exactly ``own``'s tensors, with their shapes, and only finite values."""
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    if missing or extra:
        parts = ([f"lacks {len(missing)} tensor(s) of {what} ('{missing[0]}'...)"] if missing else []) + \
                ([f"has {len(extra)} unexpected one(s) ('{extra[0]}'...)"] if extra else [])
        raise CheckpointError(" and ".join(parts) + "; it is not a checkpoint of this run's networks")
    for k, t in own.items():
        if tuple(state[k].shape) != tuple(t.shape):
            raise CheckpointError(f"tensor '{k}' of {what} has shape {list(state[k].shape)}, this run's network has {list(t.shape)}")
        if state[k].is_floating_point() and not bool(torch.isfinite(state[k]).all()):
            raise CheckpointError(f"tensor '{k}' of {what} holds NaN or infinite values")


def restore_checkpoint(path: Path, *, variant, ema, stream, rank: int = 0) -> dict[str, Any]:
    """Load ``path`` into the variant, EMA, batch stream and RNGs (``rank``'s own, when the run was
    multi-process); returns the JSON metadata. Every network's and the EMA's tensors are checked
    (names, shapes, finite values) before any is loaded; CheckpointError says what does not fit."""
    tensors, meta = read_checkpoint(path)
    states = {}
    for name, net in variant.networks().items():
        head = f"net.{name}."
        state = {k[len(head) :]: v for k, v in tensors.items() if k.startswith(head)}
        own = unwrap(net).state_dict()
        state = legacy.network_state(state, own, variant)  # ganzoo 0.1 named layers by index
        _fits(state, own, f"network '{name}'")
        states[name] = state
    ema_state = None
    if ema is not None:
        ema_state = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
        ema_state = legacy.ema_state(ema_state, set(ema.names), variant)  # and its EMA by the 0.1 attribute names
        _fits(ema_state, ema.state_dict(), "the EMA weights")
    optim = {}
    for name, opt in variant.optimizers().items():
        if name not in meta["optimizers"]:
            raise CheckpointError(f"it holds no state for optimizer '{name}'")
        try:
            optim[name] = _optimizer_join(meta["optimizers"][name], f"optim.{name}", tensors)
            _check_optimizer(opt, optim[name], name)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CheckpointError(f"the state of optimizer '{name}' is malformed ({type(exc).__name__}: {exc})") from None
    prefix = f"rank{rank}."
    rng = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)} if any(k.startswith(prefix) for k in tensors) else tensors
    if "rng.cpu" not in rng or rng["rng.cpu"].dtype != torch.uint8:
        raise CheckpointError("it holds no random-number state ('rng.cpu')")
    for name, net in variant.networks().items():
        unwrap(net).load_state_dict(states[name])
    for name, opt in variant.optimizers().items():
        try:
            opt.load_state_dict(optim[name])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"the state of optimizer '{name}' does not fit this run's ({type(exc).__name__}: {exc})") from None
    if ema is not None:
        ema.load_state_dict(ema_state)
    variant.load_extra_state({k[6:]: v for k, v in tensors.items() if k.startswith("state.")})
    stream.position = meta["batches"]
    try:
        set_rng_state(rng)
    except (RuntimeError, TypeError) as exc:
        raise CheckpointError(f"its random-number state cannot be restored ({exc})") from None
    return meta


def _check_optimizer(opt: torch.optim.Optimizer, sd: dict[str, Any], name: str) -> None:
    """The saved state fits ``opt``: as many groups of as many parameters, and every per-parameter
    tensor (Adam's moments...) shaped as its parameter, so a mismatch fails here, not at step 1."""
    groups = sd["param_groups"]
    if len(groups) != len(opt.param_groups) or any(len(g["params"]) != len(o["params"]) for g, o in zip(groups, opt.param_groups)):
        raise CheckpointError(f"the state of optimizer '{name}' is for a different set of parameters")
    params = {i: p for g, o in zip(groups, opt.param_groups) for i, p in zip(g["params"], o["params"])}
    for idx, st in sd["state"].items():
        if idx not in params:
            raise CheckpointError(f"the state of optimizer '{name}' names parameter {idx}, which it does not have")
        for key, value in st.items():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and tuple(value.shape) != tuple(params[idx].shape):
                raise CheckpointError(f"the state '{key}' of optimizer '{name}' has shape {list(value.shape)} for a parameter of shape {list(params[idx].shape)}")
            if isinstance(value, torch.Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise CheckpointError(f"the state '{key}' of optimizer '{name}' holds NaN or infinite values")


def list_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints in ``folder``, oldest first (temporary files of a killed write are ignored)."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := PATTERN.match(p.name))]
    return sorted(found)


_verified: dict[tuple[str, int, int], bool] = {}  # (path, size, mtime) -> verifies: each file is read once


def verifies(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        try:
            read_checkpoint(path)
            _verified[key] = True
        except CheckpointError:
            _verified[key] = False
    return _verified[key]


def latest_checkpoint(folder: Path, *, say: bool = False) -> Path | None:
    """The newest checkpoint that verifies (readable, tensors matching their checksum); with
    ``say``, each newer one skipped is named with the reason."""
    for _, path in reversed(list_checkpoints(folder)):
        if verifies(path):
            return path
        if say:
            try:
                read_checkpoint(path)
            except CheckpointError as exc:
                log.warning("skipping checkpoint %s: %s; using an older one", path.name, exc)
    return None


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints that verify. Only those count: a damaged or
    truncated file never pushes a good one out, and is itself left for the user to look at."""
    good = [path for _, path in list_checkpoints(folder) if verifies(path)]
    for path in good[: -max(1, keep)]:
        path.unlink(missing_ok=True)
