"""The one trainer every variant shares: the loop around a variant's step.

The variant owns its losses and its step; the trainer owns what surrounds it: device and seed,
the batch stream, EMA, logging, sample grids from one fixed noise batch, periodic evaluation, and
the final export. Two units keep the rest: :class:`~ganzoo.training.run_dir.RunDir` (where files
go, the lock, the run's records) and :class:`~ganzoo.training.state.TrainingState` (what a
checkpoint holds and restores). ``setup.py`` builds a trainer from names and ``--set`` values.
Only rank 0 writes files, so multi-process training changes nothing here but who writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .._version import __version__
from ..config import TrainConfig, VariantConfig, to_dict
from ..data import BatchStream, InMemoryData
from ..errors import Diverged, GanzooError, Interrupted, WriteFailed, describe_os_error
from ..eval import EvalContext, Metric, no_metric_message, run_metrics
from ..export.describe import export_info
from ..export.folder import write_export
from ..export.format import ExportInfo, PluginRef
from ..model import Model
from ..plots import image_grid_png, loss_curve_png, points_png
from ..precision import Precision
from ..variant import SKIPPED, GDVariant, Task, Variant, inside_update
from . import distributed
from .checkpoint import latest_checkpoint
from .ema import EMA
from .progress import PlainProgress, StopOnSignal
from .run_dir import RunDir
from .state import TrainingState

if TYPE_CHECKING:
    from ..trackers import Tracker

log = logging.getLogger(__name__)

STREAM_ABOVE = 1 << 30  # bytes of a prepared dataset above which stream="auto" reads it batch by batch


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


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """What a run is, before any data or network exists: recorded in its config.json and export."""

    variant_cls: type[Variant]  # the registered variant
    config: VariantConfig  # its resolved config
    train: TrainConfig  # the trainer's resolved config
    dataset: str  # the --data the user gave (a registered name or a folder path)
    command: str = ""  # the command line that started the run, recorded in config.json
    plugin: PluginRef = PluginRef(None, None)  # noqa: RUF009 - frozen, so one shared default is safe; the distribution providing the variant, recorded in the export
    precision: str | None = None  # a resumed run's recorded precision, which train.amp "auto" keeps; None: resolve train.amp here


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
    """Trains ``spec`` on ``data`` into ``run_dir``. ``metrics`` (the registry's) serve evaluation
    during training (``eval_every``); ``progress`` forces the progress bar on or off (None: when
    stderr is a terminal); ``trackers`` (the registry's) are those ``train.trackers`` may name."""

    def __init__(self, spec: RunSpec, data: InMemoryData, run_dir: str | Path | RunDir, *,
                 metrics: Mapping[str, Metric] | None = None, progress: bool | None = None,
                 trackers: Mapping[str, type[Tracker]] | None = None):
        cls, train = spec.variant_cls, spec.train
        cls.check_data(spec.config, data.info)
        self.spec = spec
        self.metrics = dict(metrics or {})
        self.tracker_classes = dict(trackers or {})
        self.trackers: list[Tracker] = []  # open while fit() runs, on rank 0
        self.progress = progress
        self.rank, self.world = distributed.rank_and_world()
        self.is_main = self.rank == 0
        self.dir = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir, writer=self.is_main)
        self.device = distributed.local_device(resolve_device(train.device))
        if train.stream == "on" and not data.mapped:
            raise GanzooError("stream=on reads batches from a prepared dataset's file; this data is not one "
                              "(prepare it with `ganzoo prepare FOLDER -o DIR`, or give --data a folder)")
        if data.mapped and not (train.stream == "on" or (train.stream == "auto" and data.x.nbytes > STREAM_ABOVE)):
            data = data.loaded()
        self.data = data.to(self.device)
        torch.manual_seed(train.seed)  # weight init is the first draw from the global RNG
        if train.diffaugment and (data.kind != "image" or not issubclass(cls, GDVariant)):
            # GDVariant.packed applies it to image batches; other variants' Ds never see it.
            what = f"a {data.kind} dataset" if data.kind != "image" else f"variant '{cls.name}' (it has no single D fed through packed())"
            raise GanzooError(f"diffaugment transforms the images a GAN's discriminator sees; it does not apply to {what}")
        self.variant = cls(spec.config, data.info, self.device, pack=train.pack, diffaugment=train.diffaugment)
        if train.channels_last and data.kind == "image":
            # NHWC convolutions are markedly faster on CPU (oneDNN) and on tensor-core GPUs. A mapped
            # dataset's batches are converted one by one, as they reach the device.
            if not self.data.mapped:
                self.data.x = self.data.x.contiguous(memory_format=torch.channels_last)
            if self.data.x_b is not None:
                self.data.x_b = self.data.x_b.contiguous(memory_format=torch.channels_last)
            for net in self.variant.networks().values():
                net.to(memory_format=torch.channels_last)
        if self.device.type == "cuda" and not torch.are_deterministic_algorithms_enabled():
            # Fixed shapes every step: let cuDNN pick its fastest kernels (unless the user asked for
            # determinism, which benchmark-picked algorithms would break between runs).
            torch.backends.cudnn.benchmark = True
        # bf16 on a CPU only where the variant measured it faster, and for images (2-D points near 1
        # would be rounded to bf16's 0.008 steps)
        cpu_bf16 = None if spec.variant_cls.cpu_bf16 and data.kind == "image" else False  # None: as the CPU answers
        self.precision = Precision(spec.precision or train.amp, self.device, cpu_bf16=cpu_bf16)
        self._bypass_warned = False
        self._eval_warned = False
        for name, opt in self.variant.optimizers().items():
            opt.register_step_pre_hook(self._update_check(name))
        if self.world > 1:
            wrap_networks(self.variant, lambda net: distributed.wrap(net, self.device, train.sync_batchnorm))
            torch.manual_seed(train.seed + 1_000_003 * self.rank)  # same initial weights, but each process its own noise
        if train.compile:
            wrap_networks(self.variant, torch.compile)
        self.stream = BatchStream(self.data, spec.config.batch_size, train.seed, rank=self.rank, world=self.world,
                                  device=self.device, channels_last=train.channels_last and data.kind == "image")
        if self.stream.batch_size != spec.config.batch_size and self.is_main:
            log.warning("dataset '%s' has only %d samples; batches of %d instead of %d", spec.dataset, len(data),
                        self.stream.batch_size, spec.config.batch_size)
        ema = EMA(self.variant.generators(), train.ema_decay) if train.ema else None
        self.state = TrainingState(self.variant, self.stream, self.precision, ema)
        fixed_rng = torch.Generator().manual_seed(train.seed + 1)  # never touches the training RNG
        n, self.grid_nrow = self.variant.grid(train.num_samples)
        self.fixed_inputs = self.variant.example_inputs(self.data, n, fixed_rng)
        self.resumed = False  # whether the folder holds this trainer's own run (a resume, or once fit started)
        self.resume_changes: dict[str, Any] = {}  # keys this resume changed: recorded once it checkpoints, named if it diverges
        self._fresh = True  # a new run, not a resume
        self._doc_written = False  # whether config.json holds this session's config
        self._pending: list[tuple[int, dict[str, torch.Tensor]]] = []  # losses of the steps not yet checked for NaN
        self.skipped: list[float] = []  # losses whose update on_nonfinite=skip dropped
        self.history: list[dict[str, Any]] = []  # the metrics rows so far (resumed: those up to the checkpoint)

    # -- what the run is ---------------------------------------------------------------------------

    config = property(lambda self: self.spec.config)
    train = property(lambda self: self.spec.train)
    dataset = property(lambda self: self.spec.dataset)
    ema = property(lambda self: self.state.ema)
    run_dir = property(lambda self: self.dir.path)
    lock = property(lambda self: self.dir.lock)

    @property
    def step(self) -> int:
        return self.state.step

    @step.setter
    def step(self, value: int) -> None:
        self.state.step = value

    def run_doc(self) -> dict[str, Any]:
        """The run's config.json: what --resume rebuilds it from, and how it ran."""
        return {
            "ganzoo_version": __version__,
            "variant": self.variant.name,
            "dataset": self.dataset,
            "data": self.data.info.to_dict(),
            "config": to_dict(self.config),
            "train": to_dict(self.train),
            "command": self.spec.command,
            # Bit-identical weights need the same thread count too (reductions split differently),
            # and the precision amp "auto" chose on this machine: a resume keeps both.
            "torch_threads": torch.get_num_threads(),
            "precision": self.precision.mode,
        }

    def export_info(self) -> ExportInfo:
        """The config.json this run's export has (or would have now)."""
        return export_info(self.variant, plugin=self.spec.plugin, dataset=self.dataset, steps=self.step,
                           ema=self.ema is not None, train=self.train)

    def model(self) -> Model:
        """The generators being trained, as the Model an export of them would load as."""
        return Model(self.variant, self.export_info(), self.run_dir)

    def _update_check(self, optimizer: str):
        """The step pre-hook of ``optimizer``: :meth:`_check_update` before each of its steps."""
        return lambda opt, args, kwargs: self._check_update(optimizer)

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

    # -- resume ------------------------------------------------------------------------------------

    def resume(self) -> int:
        """Continue from the newest checkpoint in the run directory; returns its step. A run killed
        before its first checkpoint starts over from step 0, with its own config and seed."""
        self.dir.claim(resumed=True)
        try:
            found = self.state.restore_newest(self.dir.checkpoints)
        except BaseException:
            self.dir.release()
            raise
        self.resumed = True
        self._fresh = False  # config.json keeps the run's config until this session checkpoints
        if not found:
            if self.is_main:
                log.warning("'%s' has no checkpoint yet: starting the run over from step 0", self.run_dir)
            self.history = []
            self.dir.rewrite_metrics([])
            return 0
        self.history = [row for row in self.dir.read_metrics() if row["step"] <= self.step]
        self.dir.rewrite_metrics(self.history)  # drop log lines of steps that will be trained again
        return self.step

    # -- the loop ----------------------------------------------------------------------------------

    def fit(self, stop_at: int | None = None) -> RunResult:
        """Train to ``config.steps``, then write the final samples, checkpoint and export. With
        ``stop_at``, stop after that step as an interruption would: a checkpoint and nothing else
        (the learning-rate schedules still run to ``config.steps``), so resuming continues exactly.
        The run directory is locked meanwhile: a second writer is refused, naming this process."""
        self.dir.claim(resumed=self.resumed)
        try:
            self._open_trackers()
            return self._fit(stop_at)
        except Diverged:
            self._release_unstarted_run()
            raise
        except OSError as exc:  # disk full, read-only, permissions: every write is atomic, so what exists is whole
            good = latest_checkpoint(self.dir.checkpoints) if self.dir.checkpoints.is_dir() else None
            raise WriteFailed(
                f"training stopped at step {self.step}: cannot write {describe_os_error(exc)}. Files written before are whole "
                f"(the last good checkpoint: {good.name if good else 'none yet'}); free space or fix the folder, then continue with: "
                f"ganzoo run {self.variant.name} --resume {self.run_dir}", exit_code=3) from None
        finally:
            self._close_trackers()
            self.dir.release()

    def _fit(self, stop_at: int | None) -> RunResult:
        from tqdm.auto import tqdm

        self.resumed = True  # from here on the folder holds this trainer's own run
        total = self.config.steps if stop_at is None else min(stop_at, self.config.steps)
        if self._fresh:
            self._write_doc()
        for net in self.variant.networks().values():
            net.train()
        disable = (not self.is_main) or (None if self.progress is None else not self.progress)
        bar = tqdm(total=total, initial=self.step, unit="step", disable=disable, dynamic_ncols=True, file=sys.stderr)
        # No bar (stderr is not a terminal): plain lines instead, every progress_every seconds; with
        # progress=False (the Python API, `-q`) they go to logging at INFO, for the caller to show or not.
        plain = PlainProgress(total, self.step, self.train.progress_every, to_log=self.progress is False) if (
            self.is_main and bar.disable and self.train.progress_every > 0) else None
        start_batches, t0 = self.stream.position, time.perf_counter()
        with StopOnSignal() as stop:
            try:
                self._loop(total, bar, plain, stop)
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
            # From here on a signal is noted, not obeyed: the checkpoint and export below take
            # seconds, and stopping inside them would lose the run's last state.
            stop.finishing = "the final checkpoint" if stop.signum is not None or total < self.config.steps else "the final checkpoint and export"
            if stop.signum is not None:
                self._checkpoint()  # at the boundary of the last finished step: resuming continues exactly
                raise Interrupted(
                    f"interrupted at step {self.step} ({signal.Signals(stop.signum).name}); a checkpoint was saved. Continue with: "
                    f"ganzoo run {self.variant.name} --resume {self.run_dir}"
                )
            if total < self.config.steps:
                self._checkpoint()
                return RunResult(self.run_dir, self.dir.export, self.dir.samples, self.dir.metrics, self.step, 0.0)
            elapsed = time.perf_counter() - t0
            ips = (self.stream.position - start_batches) * self.stream.global_batch / max(elapsed, 1e-9)
            self._check_weights()
            grid = self._write_samples(final=True)
            self._checkpoint()
            if self.is_main:
                with self._ema_weights():
                    write_export(self.dir.export, variant=self.variant, info=self.export_info(), grid_png=grid.read_bytes())
        if stop.signum is not None and self.is_main:
            log.warning("%s arrived while the final checkpoint and export were written; both are complete", signal.Signals(stop.signum).name)
        return RunResult(self.run_dir, self.dir.export, grid, self.dir.metrics, self.step, ips)

    def _loop(self, total: int, bar, plain: PlainProgress | None, stop: StopOnSignal | None = None) -> None:
        """The hot loop: one variant step, EMA, and the periodic outputs; it ends early, at a step
        boundary, once ``stop`` has seen SIGINT or SIGTERM (on any rank, in a multi-process run)."""
        mark = (self.stream.position, time.perf_counter())
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
                mark = self._after_step(losses, total, bar, mark)
                if plain is not None:
                    plain.update(self.step, losses, self.stream.global_batch)
            self.verify()
        finally:
            SKIPPED.reset(skip)

    def _after_step(self, losses, total: int, bar, mark: tuple[int, float]) -> tuple[int, float]:
        """Logging and the periodic outputs after a step; each verifies the losses first."""
        last = self.step == total
        if self.step % self.train.log_every == 0 or last:
            self.verify()
            now = time.perf_counter()
            ips = (self.stream.position - mark[0]) * self.stream.global_batch / max(now - mark[1], 1e-9)
            mark = (self.stream.position, now)
            row = {"step": self.step, "images_per_s": round(ips, 1), **{k: float(v) for k, v in losses.items()}}
            self._log(row)
            bar.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k != "step"}, refresh=False)
        if _due(self.step, self.train.sample_every) and not last:
            self.verify()
            self._write_samples()
        if _due(self.step, self.train.eval_every):
            self.verify()
            self._evaluate()
        if _due(self.step, self.train.checkpoint_every) and not last:
            self.verify()
            self._checkpoint()
        return mark

    # -- divergence --------------------------------------------------------------------------------

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
                    why = f"{key} is {value}" if not math.isfinite(value) else f"|{key}| = {value:.4g} exceeds max_loss {self.train.max_loss:g}"
                    raise Diverged(f"training diverged at step {step}: {why}. {self._divergence_advice()}; "
                                   "--set on_nonfinite=skip drops such updates instead")

    def _check_weights(self) -> None:
        """Refuse to write weights holding NaN/inf (a step can poison them while its losses still
        look finite): the last good checkpoint and export must survive a divergence."""
        bad = self.state.nonfinite_weight()
        if bad is not None:
            raise Diverged(f"training diverged by step {self.step}: weights '{bad}' hold NaN or infinite values. {self._divergence_advice()}")

    def _divergence_advice(self) -> str:
        """What was kept, and a next command that can succeed: a resume only when there is a
        checkpoint to resume from, without the change that made this resume diverge."""
        good = latest_checkpoint(self.dir.checkpoints)
        if good is None:
            return (f"Nothing of it was written and there is no checkpoint to resume from, so '{self.run_dir}' is free again: "
                    f"start anew (a lower lr, --set max_loss=... or another seed), e.g. ganzoo run {self.variant.name} --out {self.run_dir} --set lr=...")
        changed = ", ".join(f"{k}={v}" for k, v in self.resume_changes.items() if k != "steps")
        undo = f" (without this resume's --set {changed}, which was not kept)" if changed else ""
        return (f"Nothing of it was written: the last good checkpoint ({good.name}) and the export are as they were. Resume from the "
                f"checkpoint{undo} with: ganzoo run {self.variant.name} --resume {self.run_dir}, or start a new run with a lower lr")

    def _release_unstarted_run(self) -> None:
        """A fresh run that diverged before its first checkpoint leaves nothing to resume: free the
        folder (its config.json and log), so the advice to start anew on the same --out works."""
        if not self.is_main or not self._fresh or latest_checkpoint(self.dir.checkpoints) is not None:
            return
        for path in (self.dir.config, self.dir.metrics):
            path.unlink(missing_ok=True)

    # -- outputs (rank 0 only) ---------------------------------------------------------------------

    def _write_doc(self) -> None:
        self.dir.write_config(self.run_doc())
        self._doc_written = True

    def _log(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        self.dir.append_metrics(row)
        if self.trackers:
            values = {k: float(v) for k, v in row.items() if k != "step" and isinstance(v, (int, float)) and math.isfinite(v)}
            if "images_per_s" in row:  # a training row: the learning rates it ran at, too
                values.update({f"lr/{name}": float(opt.param_groups[0]["lr"]) for name, opt in self.variant.optimizers().items()})
            self._track("log_metrics", row["step"], values)

    # -- trackers (rank 0): metrics.jsonl stays the record; a tracker that fails is dropped ------------

    def _open_trackers(self) -> None:
        if not self.is_main or not self.train.trackers:
            return
        from ..trackers import validate

        doc = self.run_doc()
        for cls in validate(self.train.trackers, self.tracker_classes):
            try:
                tracker = cls(self.run_dir, doc)
                tracker.log_config(doc)
            except Exception as exc:  # noqa: BLE001 - a tool's failure must not stop the run
                log.warning("tracker '%s' could not start (%s: %s); training goes on without it", cls.name, type(exc).__name__, exc)
                continue
            self.trackers.append(tracker)

    def _track(self, method: str, *args: Any) -> None:
        for tracker in list(self.trackers):
            try:
                getattr(tracker, method)(*args)
            except Exception as exc:  # noqa: BLE001 - a tool's failure must not stop the run
                log.warning("tracker '%s' failed (%s: %s); training goes on without it (metrics.jsonl has everything)",
                            tracker.name, type(exc).__name__, exc)
                self.trackers.remove(tracker)

    def _close_trackers(self) -> None:
        self._track("close")
        self.trackers = []

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
        path = self.dir.sample_grid(self.step)
        if not self.is_main:
            return path
        samples = self.samples()
        if self.data.kind == "points":
            png = points_png(samples, self.data.x[:2500], title=f"{self.variant.name}, step {self.step}")
        else:
            png = image_grid_png(samples, nrow=self.grid_nrow, row_labels=self.row_labels(len(samples)))
        self.dir.write_file(path, png)
        self._track("log_image", self.step, "samples", png)
        if self.history:
            self.dir.write_file(self.dir.loss_plot, loss_curve_png(self.history, f"{self.variant.name} on {self.dataset}"))
        return path

    def row_labels(self, n: int) -> list[str] | None:
        """Class names of the grid's rows, for conditional variants whose grid has one row per class."""
        info = self.data.info
        if self.variant.task != Task.CONDITIONAL or not info.num_classes or not self.grid_nrow:
            return None
        if -(-n // self.grid_nrow) != info.num_classes:
            return None
        return list(info.class_names or (str(i) for i in range(info.num_classes)))

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
        best = self.state.best
        if best is None or (value < best if self.train.best_mode == "min" else value > best):
            self.state.save_best(self.dir.checkpoints, self.train.best_metric, value)

    def _checkpoint(self) -> None:
        self._check_weights()
        if not self._doc_written:
            self._write_doc()  # a resume's changes are recorded once they have led to a checkpoint
            self.resume_changes = {}
        self.state.save(self.dir.checkpoints, keep=self.train.keep_checkpoints)


def _due(step: int, every: int) -> bool:
    return every > 0 and step % every == 0
