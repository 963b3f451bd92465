"""The one trainer every variant shares.

The variant owns its losses and its step; the trainer owns the loop around it: device and seed,
the in-memory batch stream, EMA, logging to ``metrics.jsonl`` and a progress bar, sample grids
from one fixed noise batch, checkpoints that resume bit-exactly, and the final export. Only rank
0 writes files, so multi-process training changes nothing here but who writes.

A run directory looks like::

    runs/dcgan-digits-20261122-091500/
      config.json        the fully resolved variant and trainer config
      metrics.jsonl      one JSON line per log step: losses, images/s
      loss.png           the loss curves so far
      samples/           step-XXXXXXXX.png grids from the fixed noise batch
      checkpoints/       step-XXXXXXXX.safetensors, newest kept
      export/            the trained generator as a Hugging Face model repo
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .._files import Damaged, read_json_object
from .._io import TMP_PREFIX, atomic_write_bytes, atomic_write_json, atomic_write_text
from .._version import __version__
from ..config import TrainConfig, VariantConfig, parse_value, field_types, replace, split_overrides, to_dict
from ..data import BatchStream, InMemoryData, load_data
from ..errors import ConfigError, Diverged, GanzooError, Interrupted, WriteFailed, describe_os_error
from ..eval import EvalContext, Metric, no_metric_message, run_metrics
from ..export import export_info, write_export
from ..model import Model, PluginRef
from ..plots import image_grid_png, loss_curve_png, points_png
from ..precision import Precision
from ..variant import SKIPPED, GDVariant, Task, Variant, inside_update, unwrap
from . import distributed
from .checkpoint import (
    CheckpointError,
    checkpoint_path,
    latest_checkpoint,
    list_checkpoints,
    prune_checkpoints,
    restore_checkpoint,
    rng_state,
    save_checkpoint,
)
from .ema import EMA
from .lock import RunLock, process_alive

if TYPE_CHECKING:
    from .._registry import Registry

log = logging.getLogger(__name__)

# Trainer keys a resumed run may change: how it runs and what it writes, not what it computes.
RESUMABLE = ("device", "amp", "compile", "channels_last", "sync_batchnorm", "log_every", "sample_every",
             "checkpoint_every", "keep_checkpoints", "num_samples", "eval_every", "eval_metrics", "best_metric",
             "on_nonfinite", "max_loss", "progress_every")


def resolve_device(spec: str) -> torch.device:
    """"auto" -> cuda if available, then mps, then cpu; anything else is checked to exist."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise GanzooError(f"unknown device '{spec}'; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanzooError(f"device '{spec}' asked for, but this machine has no CUDA GPU (use --device cpu)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GanzooError(f"device '{spec}' asked for, but MPS is not available here (use --device cpu)")
    return device


def wrap_networks(variant: Variant, wrap) -> None:
    """Replace each of the variant's networks, held as attributes, by ``wrap(network)`` (torch.compile,
    DistributedDataParallel); checkpoints and exports see through the wrappers (``unwrap``)."""
    targets = {id(m) for m in variant.networks().values()}
    for attr, value in list(vars(variant).items()):
        if isinstance(value, torch.nn.Module) and id(value) in targets:
            setattr(variant, attr, wrap(value))
    left = [name for name, m in variant.networks().items() if id(m) in targets]
    if left:
        raise GanzooError(f"variant '{variant.name}': networks {left} are not attributes of the variant, so they cannot be wrapped")


def _dist() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


@dataclasses.dataclass
class RunResult:
    """Where a finished run put its outputs."""

    run_dir: Path  # the run directory
    export_dir: Path  # the Hugging Face-style export folder
    grid: Path  # the final sample grid
    metrics: Path  # metrics.jsonl
    steps: int  # steps trained in total
    images_per_s: float  # real images consumed per second over this session's steps


class Trainer:
    def __init__(
        self,
        variant_cls: type[Variant],
        config: VariantConfig,
        train: TrainConfig,
        data: InMemoryData,
        run_dir: Path,
        *,
        dataset: str,
        command: str = "",
        progress: bool | None = None,
        plugin: PluginRef | None = None,
        metrics: Mapping[str, Metric] | None = None,
    ):
        """``plugin``: the distribution providing the variant, recorded in the export; ``metrics``:
        the registry's metrics, for evaluation during training (``eval_every``)."""
        variant_cls.check_data(config, data.info)
        self.rank, self.world = _dist()
        self.is_main = self.rank == 0
        self.device = distributed.local_device(resolve_device(train.device))
        self.train = train
        self.config = config
        self.dataset = dataset
        self.command = command
        self.progress = progress
        self.plugin = plugin or PluginRef(None, None)
        self.metrics = dict(metrics or {})
        self.run_dir = Path(run_dir)
        self.data = data.to(self.device)
        torch.manual_seed(train.seed)  # weight init is the first draw from the global RNG
        if train.diffaugment and (data.kind != "image" or not issubclass(variant_cls, GDVariant)):
            # GDVariant.packed applies it to image batches; other variants' Ds never see it.
            what = f"a {data.kind} dataset" if data.kind != "image" else f"variant '{variant_cls.name}' (it has no single D fed through packed())"
            raise GanzooError(f"diffaugment transforms the images a GAN's discriminator sees; it does not apply to {what}")
        self.variant = variant_cls(config, data.info, self.device, pack=train.pack, diffaugment=train.diffaugment)
        if train.channels_last and data.kind == "image":
            # NHWC convolutions are markedly faster on CPU (oneDNN) and on tensor-core GPUs.
            self.data.x = self.data.x.contiguous(memory_format=torch.channels_last)
            if self.data.x_b is not None:
                self.data.x_b = self.data.x_b.contiguous(memory_format=torch.channels_last)
            for net in self.variant.networks().values():
                net.to(memory_format=torch.channels_last)
        if self.device.type == "cuda" and not torch.are_deterministic_algorithms_enabled():
            # Fixed shapes every step: let cuDNN pick its fastest kernels (unless the user asked for
            # determinism, which benchmark-picked algorithms would break between runs).
            torch.backends.cudnn.benchmark = True
        self.precision = Precision(train.amp, self.device)
        self._bypass_warned = False
        self._eval_warned = False
        self._plain: PlainProgress | None = None
        for name, opt in self.variant.optimizers().items():
            opt.register_step_pre_hook(lambda opt, args, kwargs, _name=name: self._check_update(_name))
        if self.world > 1:
            wrap_networks(self.variant, lambda net: distributed.wrap(net, self.device, train.sync_batchnorm))
            torch.manual_seed(train.seed + 1_000_003 * self.rank)  # same initial weights, but each process its own noise
        if train.compile:
            wrap_networks(self.variant, torch.compile)
        self.stream = BatchStream(self.data, config.batch_size, train.seed, rank=self.rank, world=self.world)
        if self.stream.batch_size != config.batch_size and self.is_main:
            log.warning("dataset '%s' has only %d samples; batches of %d instead of %d", dataset, len(data), self.stream.batch_size, config.batch_size)
        self.ema = EMA(self.variant.generators(), train.ema_decay) if train.ema else None
        fixed_rng = torch.Generator().manual_seed(train.seed + 1)  # never touches the training RNG
        n, self.grid_nrow = self.variant.grid(train.num_samples)
        self.fixed_inputs = self.variant.example_inputs(self.data, n, fixed_rng)
        self.step = 0
        self.resumed = False
        self.lock = RunLock(self.run_dir)  # taken (rank 0) before this trainer writes anything
        self._pending: list[tuple[int, dict[str, torch.Tensor]]] = []  # losses of the steps not yet checked for NaN
        self.skipped: list[float] = []  # losses whose update on_nonfinite=skip dropped
        self.best: float | None = None  # best value of train.best_metric so far
        self.history: list[dict[str, Any]] = []

    def _clean_temp_files(self) -> None:
        """Remove what a killed writer left: ``.tmp-<pid>-<name>`` files (up to whole checkpoints)
        whose process no longer runs. Called with the run's lock held, so no live writer owns them."""
        for folder in (self.run_dir, self.checkpoints, self.run_dir / "export", self.run_dir / "samples"):
            if not folder.is_dir():
                continue
            for path in folder.glob(f"{TMP_PREFIX}*"):
                pid = path.name[len(TMP_PREFIX):].split("-", 1)[0]
                if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
                    log.info("removing %s, left by a writer that was killed", path)
                    path.unlink(missing_ok=True)

    def _check_update(self, optimizer: str) -> None:
        """The AMP rule: every optimizer step goes through ganzoo.update, which scales the loss.
        Under fp16 a step taken any other way trains with unscaled gradients: refuse it."""
        if inside_update():
            return
        what = (f"variant '{self.variant.name}' stepped optimizer '{optimizer}' outside ganzoo.update; every backward "
                "pass and step must go through ganzoo.update(optimizer, loss) so mixed precision can scale the loss")
        if self.precision.scaler is not None:
            raise GanzooError(what + " (this run is fp16 with loss scaling, which that step bypassed)")
        if not self._bypass_warned:
            self._bypass_warned = True
            log.warning("%s; it would train without loss scaling under --amp fp16", what)

    # -- paths -------------------------------------------------------------------------------------

    @property
    def checkpoints(self) -> Path:
        return self.run_dir / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics.jsonl"

    def run_doc(self) -> dict[str, Any]:
        return {
            "ganzoo_version": __version__,
            "variant": self.variant.name,
            "dataset": self.dataset,
            "data": self.data.info.to_dict(),
            "config": to_dict(self.config),
            "train": to_dict(self.train),
            "command": self.command,
        }

    # -- resume ------------------------------------------------------------------------------------

    def resume(self) -> int:
        """Continue from the newest checkpoint in the run directory; returns its step."""
        if self.is_main:
            self.lock.acquire()
            self._clean_temp_files()
        found = list_checkpoints(self.checkpoints)
        if not found:  # killed before its first checkpoint: the run starts over, from its own config and seed
            if self.is_main:
                log.warning("'%s' has no checkpoint yet: starting the run over from step 0", self.run_dir)
            self.resumed = True
            self.history = []
            if self.is_main and self.metrics_path.exists():
                atomic_write_text(self.metrics_path, "")
            return 0
        reasons, meta = [], None
        for _, path in reversed(found):  # the newest that is whole and fits this run's networks
            try:
                meta = restore_checkpoint(path, variant=self.variant, ema=self.ema, stream=self.stream, rank=self.rank)
                break
            except CheckpointError as exc:
                reasons.append(f"{path.name}: {exc}")
                if self.is_main:
                    log.warning("skipping checkpoint %s: %s; trying an older one", path.name, exc)
        if meta is None:
            self.lock.release()
            raise GanzooError(f"no checkpoint in '{self.checkpoints}' can be resumed from ({'; '.join(reasons[:3])}); "
                              "start a new run, or move them away to start this one over from step 0")
        if reasons and self.is_main:
            log.warning("resuming from %s, the newest good checkpoint", path.name)
        self.step = meta["step"]
        self.best = meta.get("best_value")
        self.precision.load_state(meta.get("grad_scaler"))
        self.resumed = True
        self.history = [row for row in read_metrics(self.metrics_path) if row["step"] <= self.step]
        if self.is_main:  # drop log lines of steps that will be trained again
            atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in self.history))
        return self.step

    # -- the loop ----------------------------------------------------------------------------------

    def fit(self, stop_at: int | None = None) -> RunResult:
        """Train to ``config.steps``, then write the final samples, checkpoint and export. With
        ``stop_at``, stop after that step as an interruption would: a checkpoint and nothing else
        (the learning-rate schedules still run to ``config.steps``), so resuming continues exactly.
        The run directory is locked meanwhile: a second writer is refused, naming this process."""
        if self.is_main:
            self.lock.acquire()
            self._clean_temp_files()
            if not self.resumed and (self.run_dir / "config.json").exists():
                self.lock.release()
                raise GanzooError(f"'{self.run_dir}' already holds a run; continue it with --resume {self.run_dir} or choose another --out")
        try:
            return self._fit(stop_at)
        except OSError as exc:  # disk full, read-only, permissions: every write is atomic, so what exists is whole
            good = latest_checkpoint(self.checkpoints) if self.checkpoints.is_dir() else None
            raise WriteFailed(
                f"training stopped at step {self.step}: cannot write {describe_os_error(exc)}. Files written before are whole "
                f"(the last good checkpoint: {good.name if good else 'none yet'}); free space or fix the folder, then continue with: "
                f"ganzoo run {self.variant.name} --resume {self.run_dir}", exit_code=3) from None
        finally:
            self.lock.release()

    def _fit(self, stop_at: int | None) -> RunResult:
        from tqdm.auto import tqdm

        self.resumed = True  # from here on the folder holds this trainer's own run
        total = self.config.steps if stop_at is None else min(stop_at, self.config.steps)
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_json(self.run_dir / "config.json", self.run_doc())
        for net in self.variant.networks().values():
            net.train()
        disable = (not self.is_main) or (None if self.progress is None else not self.progress)
        bar = tqdm(total=total, initial=self.step, unit="step", disable=disable, dynamic_ncols=True, file=sys.stderr)
        # No bar (stderr is not a terminal) but progress wanted: plain lines instead, every progress_every seconds.
        self._plain = PlainProgress(total, self.step, self.train.progress_every) if (
            self.is_main and self.progress is not False and bar.disable and self.train.progress_every > 0) else None
        start_batches, t0 = self.stream.position, time.perf_counter()
        with _StopOnSignal() as stop:
            try:
                self._loop(total, bar, stop)
            except KeyboardInterrupt:  # a second signal: quit now, mid-step, keeping the last checkpoint
                raise Interrupted(
                    f"stopped during step {self.step + 1} without a new checkpoint; continue from the last one with: "
                    f"ganzoo run {self.variant.name} --resume {self.run_dir}"
                ) from None
            finally:
                bar.close()
        self.verify()  # a diverged step is never checkpointed, not even on the way out
        if self.skipped and self.is_main:
            log.warning("on_nonfinite=skip: dropped %d update(s) whose loss was NaN or infinite", len(self.skipped))
        if stop.signum is not None:
            self._checkpoint()  # at the boundary of the last finished step: resuming continues exactly
            raise Interrupted(
                f"interrupted at step {self.step} ({signal.Signals(stop.signum).name}); a checkpoint was saved. Continue with: "
                f"ganzoo run {self.variant.name} --resume {self.run_dir}"
            )
        if total < self.config.steps:
            self._checkpoint()
            return RunResult(self.run_dir, self.run_dir / "export", self.run_dir / "samples", self.metrics_path, self.step, 0.0)
        elapsed = time.perf_counter() - t0
        ips = (self.stream.position - start_batches) * self.stream.global_batch / max(elapsed, 1e-9)
        self._check_weights()
        grid = self._write_samples(final=True)
        self._checkpoint()
        export = self.run_dir / "export"
        if self.is_main:
            with self._ema_weights():
                write_export(export, variant=self.variant, info=self.export_info(), grid_png=grid.read_bytes())
        return RunResult(self.run_dir, export, grid, self.metrics_path, self.step, ips)

    def _loop(self, total: int, bar, stop: "_StopOnSignal | None" = None) -> None:
        """The hot loop: one variant step, EMA, and the periodic outputs; it ends early, at a step
        boundary, once ``stop`` has seen SIGINT or SIGTERM (on any rank, in a multi-process run)."""
        mark_batches, mark_t = self.stream.position, time.perf_counter()
        skip = SKIPPED.set(self.skipped if self.train.on_nonfinite == "skip" else None)
        try:
            while self.step < total:
                if stop is not None and stop.requested(self.world):
                    return
                with self.precision.step():
                    losses = self.variant.train_step(self.stream, self.step)
                if self.ema is not None:
                    self.ema.update(self.step)
                self.step += 1
                self._pending.append((self.step, losses))
                bar.update(1)
                mark_batches, mark_t = self._after_step(losses, total, bar, mark_batches, mark_t)
            self.verify()
        finally:
            SKIPPED.reset(skip)

    def verify(self) -> None:
        """Check the losses of the steps since the last check (one device sync for all of them);
        raise Diverged naming the first step with a NaN/inf loss, or one beyond ``max_loss``. Runs
        before anything is written, so nothing of a diverged step reaches a file."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        values = torch.stack([v.detach().float().reshape(-1)[0] for _, losses in pending for v in losses.values()]).cpu().tolist()
        it = iter(values)
        for step, losses in pending:
            for key in losses:
                value = next(it)
                bad = not math.isfinite(value) or (self.train.max_loss > 0 and abs(value) > self.train.max_loss)
                if bad and self.train.on_nonfinite == "skip" and not math.isfinite(value):
                    continue  # its update was dropped by ganzoo.update
                if bad:
                    good = latest_checkpoint(self.checkpoints)
                    why = f"{key} is {value}" if not math.isfinite(value) else f"|{key}| = {value:.4g} exceeds max_loss {self.train.max_loss:g}"
                    raise Diverged(
                        f"training diverged at step {step}: {why}. Nothing of it was written: the last good checkpoint "
                        f"({good.name if good else 'none yet'}) and the export are as they were. Resume from the checkpoint with: "
                        f"ganzoo run {self.variant.name} --resume {self.run_dir}, or start a new run with a lower lr; "
                        "--set on_nonfinite=skip drops such updates instead"
                    )

    def _after_step(self, losses, total: int, bar, mark_batches: int, mark_t: float) -> tuple[int, float]:
        """Logging and the periodic outputs after a step; each verifies the losses first."""
        last = self.step == total
        if self.step % self.train.log_every == 0 or last:
            self.verify()
            now = time.perf_counter()
            ips = (self.stream.position - mark_batches) * self.stream.global_batch / max(now - mark_t, 1e-9)
            mark_batches, mark_t = self.stream.position, now
            row = {"step": self.step, "images_per_s": round(ips, 1), **{k: float(v) for k, v in losses.items()}}
            self._log(row)
            bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step"}, refresh=False)
        if self._plain is not None:
            self._plain.update(self.step, losses, self.stream.global_batch)
        if _due(self.step, self.train.sample_every) and not last:
            self.verify()
            self._write_samples()
        if _due(self.step, self.train.eval_every):
            self.verify()
            self._evaluate()
        if _due(self.step, self.train.checkpoint_every) and not last:
            self.verify()
            self._checkpoint()
        return mark_batches, mark_t

    # -- outputs (rank 0 only) ---------------------------------------------------------------------

    def _log(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        if self.is_main:
            with open(self.metrics_path, "a") as f:
                f.write(json.dumps(strict_row(row), allow_nan=False) + "\n")

    @contextlib.contextmanager
    def _ema_weights(self):
        with self.ema.applied() if self.ema is not None else contextlib.nullcontext():
            yield

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """Samples from the fixed inputs, with EMA weights if on, generators in eval mode."""
        gens = list(self.variant.generators().values())
        modes = [g.training for g in gens]
        for g in gens:
            g.eval()
        try:
            with self._ema_weights():
                return self.variant.generate(**self.fixed_inputs)
        finally:
            for g, mode in zip(gens, modes):
                g.train(mode)

    def _write_samples(self, final: bool = False) -> Path:
        path = self.run_dir / "samples" / f"step-{self.step:08d}.png"
        if not self.is_main:
            return path
        samples = self.samples()
        if self.data.kind == "points":
            png = points_png(samples, self.data.x[:2500], title=f"{self.variant.name}, step {self.step}")
        else:
            png = image_grid_png(samples, nrow=self.grid_nrow, row_labels=self.row_labels(len(samples)))
        atomic_write_bytes(path, png)
        if self.history:
            title = f"{self.variant.name} on {self.dataset}"
            atomic_write_bytes(self.run_dir / "loss.png", loss_curve_png(self.history, title))
        return path

    def row_labels(self, n: int) -> list[str] | None:
        """Class names of the grid's rows, for conditional variants whose grid has one row per class."""
        info = self.data.info
        if self.variant.task != Task.CONDITIONAL or not info.num_classes or not self.grid_nrow:
            return None
        if -(-n // self.grid_nrow) != info.num_classes:
            return None
        return list(info.class_names or (str(i) for i in range(info.num_classes)))

    def export_info(self):
        """The config.json this run's export has (or would have now)."""
        return export_info(self.variant, plugin=self.plugin, dataset=self.dataset, steps=self.step,
                           ema=self.ema is not None, train=self.train)

    def model(self) -> Model:
        """The generators being trained, as the Model an export of them would load as."""
        return Model(self.variant, self.export_info(), self.run_dir)

    def evaluate(self) -> dict[str, dict[str, float]]:
        """Run the harness on the current generator (EMA weights if on) without touching training
        state: sampling uses its own seeded generators, the networks' modes are restored."""
        gens = list(self.variant.generators().values())
        modes = [g.training for g in gens]
        # Metrics may draw from the global RNG (building a network initialises its weights): fork it,
        # so a run with evaluation trains exactly as one without.
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with self._ema_weights(), torch.random.fork_rng(devices=devices, device_type=self.device.type if devices else "cuda"):
                ctx = EvalContext(self.model(), self.data, seed=self.train.seed, device=self.device)
                results = run_metrics(ctx, list(self.train.eval_metrics), self.metrics, require=False)
                if not results and not self._eval_warned and self.is_main:
                    self._eval_warned = True
                    log.warning("eval_every: %s", no_metric_message(ctx, self.metrics).replace("Nothing was written", "nothing is evaluated"))
                return {name: r["values"] for name, r in results.items()}
        finally:
            for g, mode in zip(gens, modes):
                g.train(mode)

    def _evaluate(self) -> None:
        results = self.evaluate()
        row = {"step": self.step, **{f"eval/{m}/{k}": v for m, values in results.items() for k, v in values.items()}}
        self._log(row)
        if not self.train.best_metric or not self.is_main:
            return
        metric, _, key = self.train.best_metric.partition(":")
        value = results.get(metric, {}).get(key)
        if value is None:
            raise GanzooError(f"best_metric '{self.train.best_metric}' was not computed; it must be 'metric:key' of an evaluated metric")
        better = self.best is None or (value < self.best if self.train.best_mode == "min" else value > self.best)
        if better:
            self.best = value
            save_checkpoint(self.checkpoints / "best.safetensors", variant=self.variant, ema=self.ema, stream=self.stream,
                            step=self.step, extra={"ganzoo_version": __version__, "best": {self.train.best_metric: value}})

    def _check_weights(self) -> None:
        """Refuse to write weights holding NaN/inf (a step can poison them while its losses still
        look finite): the last good checkpoint and export must survive a divergence."""
        named = [(f"{n}.{k}", t) for n, net in self.variant.networks().items() for k, t in unwrap(net).state_dict().items()
                 if t.is_floating_point()]
        if self.ema is not None:
            named += [(f"ema.{k}", t) for k, t in self.ema.state_dict().items() if t.is_floating_point()]
        if not named:
            return
        finite = torch.stack([torch.isfinite(t).all() for _, t in named]).cpu().tolist()
        if not all(finite):
            first = named[finite.index(False)][0]
            good = latest_checkpoint(self.checkpoints)
            raise Diverged(
                f"training diverged by step {self.step}: weights '{first}' hold NaN or infinite values. Nothing of it was written: "
                f"the last good checkpoint ({good.name if good else 'none yet'}) and the export are as they were. Resume from the "
                f"checkpoint with: ganzoo run {self.variant.name} --resume {self.run_dir}, or start a new run with a lower lr"
            )

    def _checkpoint(self) -> None:
        self._check_weights()
        rng = distributed.gather_rng_states(rng_state(), self.rank, self.world)  # every rank takes part
        if not self.is_main:
            return
        path = checkpoint_path(self.checkpoints, self.step)
        extra = {"ganzoo_version": __version__, "best_value": self.best, "grad_scaler": self.precision.state(), "world_size": self.world}
        save_checkpoint(path, variant=self.variant, ema=self.ema, stream=self.stream, step=self.step, extra=extra, rng=rng)
        prune_checkpoints(self.checkpoints, self.train.keep_checkpoints)


class PlainProgress:
    """Progress for logs rather than terminals: one self-contained line every ``every`` seconds,
    "ganzoo: step 250/1500 (17%) loss_d 0.631 loss_g 1.2 | 410 images/s | ETA 2m10s"."""

    def __init__(self, total: int, start: int, every: float):
        self.total, self.start, self.every = total, start, every
        self.t0 = self.last = time.perf_counter()

    def update(self, step: int, losses: dict[str, torch.Tensor], batch: int) -> None:
        now = time.perf_counter()
        if now - self.last < self.every and step != self.total:
            return
        self.last = now
        done = step - self.start
        rate = done / max(now - self.t0, 1e-9)
        eta = (self.total - step) / rate if rate > 0 else float("inf")
        values = " ".join(f"{k} {float(v):.3g}" for k, v in losses.items())
        # The progress bar's stand-in, written where tqdm writes it and switched by the same `progress`.
        sys.stderr.write(f"ganzoo: step {step}/{self.total} ({100 * step // max(self.total, 1)}%) {values} | "
                         f"{rate * batch:.0f} images/s | ETA {_duration(eta)}\n")
        sys.stderr.flush()


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class _StopOnSignal:
    """SIGINT (Ctrl-C) and SIGTERM (a scheduler preempting the job, `kill`) ask training to stop:
    the handler only records the signal, so the step in flight finishes and the trainer checkpoints
    at its boundary, exactly where an uninterrupted run would be. A second signal quits at once."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        log.warning("%s: finishing the current step, then saving a checkpoint (again to quit at once)", signal.Signals(signum).name)

    def requested(self, world: int) -> bool:
        """Whether to stop now; every rank of a multi-process run agrees (one tiny all-reduce a step)."""
        if world == 1:
            return self.signum is not None
        import torch.distributed as dist

        flag = torch.tensor([1.0 if self.signum is not None else 0.0], device=distributed.collective_device())
        dist.all_reduce(flag)
        if flag.item() > 0 and self.signum is None:
            self.signum = int(signal.SIGTERM)
        return flag.item() > 0

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def strict_row(row: dict[str, Any]) -> dict[str, Any]:
    """A metrics row as strict JSON: a NaN or infinite value becomes null, and the row's
    "nonfinite" list names those keys (JSON has no NaN; most parsers reject the bare token)."""
    bad = [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]
    if not bad:
        return row
    return {**{k: (None if k in bad else v) for k, v in row.items()}, "nonfinite": bad}


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Rows of metrics.jsonl; a torn last line (the process was killed mid-append) is skipped."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


# -- building runs from names and settings ----------------------------------------------------------


def default_run_dir(variant: str, dataset: str) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{variant}-{Path(dataset).name or 'data'}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def command_line(argv: list[str] | None = None) -> str:
    argv = sys.argv if argv is None else argv
    return "ganzoo " + shlex.join(argv[1:]) if argv else "ganzoo"


def prepare(
    registry: "Registry",
    variant: str,
    *,
    data: str | None = None,
    settings: dict[str, Any] | None = None,
    text: bool = False,
    out: str | Path | None = None,
    command: str = "",
    progress: bool | None = None,
    strict_data: bool = False,
) -> Trainer:
    """A trainer for a new run of ``variant`` from ``registry``. ``settings`` holds variant-config
    and trainer keys alike (``--set``); ``text=True`` parses their values from strings;
    ``strict_data`` refuses an image folder with unreadable files instead of skipping them."""
    cls = registry.variant(variant)
    vset, tset = split_overrides(settings or {}, cls.Config(), TrainConfig())
    config = replace(cls.Config(), vset, text=text)
    train = replace(replace(TrainConfig(), dict(cls.train_defaults)), tset, text=text)
    _check_positive(config, train)
    dataset = data or cls.default_dataset
    run_dir = Path(out) if out is not None else default_run_dir(cls.name, dataset)
    if run_dir.exists() and not run_dir.is_dir():
        raise GanzooError(f"--out '{run_dir}' is a file; give a folder (new or empty) for the run")
    if (run_dir / "config.json").exists() and _dist()[0] == 0:  # other ranks may start after rank 0 wrote it
        raise GanzooError(f"'{run_dir}' already holds a run; continue it with --resume {run_dir} or choose another --out")
    resolve_device(train.device)  # fail on a bad device before loading data
    loaded = load_data(dataset, cls.data_request(config), registry.datasets, strict=strict_data)
    return Trainer(cls, config, train, loaded, run_dir, dataset=dataset, command=command, progress=progress,
                   plugin=PluginRef(*registry.distribution_of_variant(cls.name)), metrics=registry.metrics)


def prepare_resume(registry: "Registry", run_dir: str | Path, *, variant: str | None = None, steps: int | None = None,
                   settings: dict[str, str] | None = None, progress: bool | None = None, strict_data: bool = False) -> Trainer:
    """A trainer that continues the run in ``run_dir`` from its newest checkpoint, with its own
    config. ``steps`` and the trainer keys in ``RESUMABLE`` (``settings``, as ``--set`` text) may
    change; any other key is refused, since the run would no longer be the one it continues."""
    run_dir = Path(run_dir)
    doc = read_run_doc(run_dir)
    if variant is not None and variant != doc["variant"]:
        raise GanzooError(f"'{run_dir}' is a run of '{doc['variant']}', not '{variant}'")
    cls = registry.variant(doc["variant"])
    config = replace(cls.Config(), doc["config"])
    train = replace(TrainConfig(), doc["train"])
    if steps is not None:
        config = dataclasses.replace(config, steps=steps)
    changes = {}
    types = field_types(TrainConfig)
    for key, raw in (settings or {}).items():
        if key not in RESUMABLE:
            kind = "trainer" if key in types else "variant" if key in field_types(cls.Config) else None
            if kind is None:
                raise ConfigError(f"unknown config key '{key}'")
            raise GanzooError(f"--resume continues the run with its own config; {kind} key '{key}' cannot change "
                              f"(keys that can: steps, {', '.join(RESUMABLE)}); start a new run to change it")
        changes[key] = parse_value(key, types[key], raw)
    for key, value in changes.items():
        if getattr(train, key) != value:
            log.info("resuming with %s=%s (the run had %s)", key, value, getattr(train, key))
    train = dataclasses.replace(train, **changes)
    _check_positive(config, train)
    loaded = load_data(doc["dataset"], cls.data_request(config), registry.datasets, strict=strict_data)
    trainer = Trainer(cls, config, train, loaded, run_dir, dataset=doc["dataset"], command=doc.get("command", ""), progress=progress,
                      plugin=PluginRef(*registry.distribution_of_variant(cls.name)), metrics=registry.metrics)
    try:
        done = trainer.resume()
        if done > config.steps:
            raise GanzooError(f"'{run_dir}' is already at step {done}; pass --steps larger than that to train on")
    except BaseException:
        trainer.lock.release()  # a refused resume leaves the folder as free as it found it (atexit would, at the process's end)
        raise
    return trainer


def read_run_doc(run_dir: Path) -> dict[str, Any]:
    """A run directory's config.json, checked: a one-line GanzooError for a folder that is not a
    run (an export, say) or a config.json that is damaged."""
    doc_path = run_dir / "config.json"
    if not run_dir.is_dir():
        raise GanzooError(f"run directory '{run_dir}' does not exist" if not run_dir.exists() else f"'{run_dir}' is not a run directory")
    if not doc_path.exists():
        raise GanzooError(f"'{run_dir}' is not a run directory (no config.json)")
    try:
        doc = read_json_object(doc_path)
    except Damaged as exc:
        raise GanzooError(f"'{doc_path}' {exc}") from None
    if "generator" in doc or "format_version" in doc:
        parent = run_dir.resolve().parent
        hint = f"; its run is '{parent}'" if (parent / "checkpoints").is_dir() else ""
        raise GanzooError(f"'{run_dir}' is an export folder, not a run directory: --resume takes the folder with checkpoints/{hint}")
    for key, kind in (("variant", str), ("dataset", str), ("config", dict), ("train", dict)):
        if not isinstance(doc.get(key), kind):
            raise GanzooError(f"'{doc_path}' is not a run's config: entry '{key}' must be {'a string' if kind is str else 'an object'}")
    return doc


def _check_positive(config: VariantConfig, train: TrainConfig) -> None:
    """What the fields' ranges cannot say alone (they are checked where values are parsed)."""
    if config.batch_size % train.pack:
        raise GanzooError(f"batch_size {config.batch_size} must be a multiple of pack {train.pack}")
