"""The variant contract: what a GAN variant declares, and the two halves it builds.

A variant is a subclass of :class:`Variant`. Its class attributes say what it is (name, summary,
paper, task, default dataset, config dataclass). What it builds comes in two halves, because a
trained model is used far more often than it is trained:

- **the generator half**, everything sampling needs: ``generator_args(config, data)`` (the flat,
  JSON-serialisable constructor arguments of its generator modules), ``build_generators(args)``
  (the modules, from those arguments alone) and the methods that drive them (``sample_inputs``,
  ``generate``, ``translate``, ``upscale``). ``ganzoo.load`` builds only this half, from an export's
  config.json: no discriminator, no optimizer, no loss network.
- **the training half**, ``build_training()``: discriminators, optimizers and loss networks, and
  ``train_step``. Every backward pass and optimizer step goes through :func:`update`, so mixed
  precision's loss scaling works for every variant; the trainer refuses a step taken behind its back
  under fp16, and the conformance check runs every variant that way.

The trainer owns everything else: device, seeding, data, logging, sample grids, checkpoints, EMA,
export. ``docs/writing-a-plugin.md`` walks through a complete example.
"""

from __future__ import annotations

import abc
import contextvars
import enum
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

from ._text import escaped, shown
from .augment import diff_augment
from .config import VariantConfig
from .data.types import DataInfo, DataRequest
from .errors import DataError, GanzooError
from .losses import r1_penalty
from .precision import active_scaler, backward_context

if TYPE_CHECKING:
    from .data.memory import BatchStream, InMemoryData


class Task(str, enum.Enum):
    """What a variant maps from and to; the harness and the CLI pick their behaviour by it."""

    UNCONDITIONAL = "unconditional"  # noise -> sample
    CONDITIONAL = "conditional"  # (noise, class label) -> sample of that class
    UNPAIRED_TRANSLATION = "unpaired-translation"  # image of domain A <-> image of domain B
    SUPER_RESOLUTION = "super-resolution"  # low-resolution image -> high-resolution image


# A generator beyond this is a typo or a hostile config.json, not a GAN (StyleGAN-XL's has 0.2 G).
MAX_GENERATOR_PARAMETERS = 2_000_000_000


def check_generator_size(cls: type["Variant"], args: dict[str, Any]) -> None:
    """Refuse generator arguments that would allocate absurdly, before anything is allocated: the
    generators are built on torch's meta device (shapes only, no memory) and their parameters
    counted. A plugin whose constructor cannot run on the meta device is built for real instead."""
    try:
        with torch.device("meta"):
            probe = cls.build_generators(dict(args))
        count = sum(p.numel() for m in probe.values() for p in m.parameters())
    except Exception:  # noqa: BLE001 - the real build below raises what is wrong, or works
        return
    if count > MAX_GENERATOR_PARAMETERS:
        shown_args = ", ".join(f"{escaped(k, 30)}={v!r}" if isinstance(v, (int, float, bool, type(None))) else f"{escaped(k, 30)}={shown(v, 30)}"
                               for k, v in list(args.items())[:8])
        raise GanzooError(f"variant '{cls.name}': generator arguments ({shown_args}) would build {count:,} parameters, "
                          f"more than the {MAX_GENERATOR_PARAMETERS:,} ganzoo allows; a width or size is wrong")


class Variant(abc.ABC):
    """Base class of every GAN variant. Subclass it, set the class attributes, fill in the methods.

    ``Variant(config, data, device)`` builds both halves (what the trainer does; it seeds the global
    RNG first, so weight init is reproducible); ``training=False`` builds the generator half only
    (what ``ganzoo.load`` does), with ``args`` taken from the export instead of the config.
    """

    name: ClassVar[str]  # registry name, lowercase with dashes, e.g. "dcgan"
    summary: ClassVar[str]  # one line for `ganzoo list`
    paper: ClassVar[str]  # citation with a link, e.g. "Radford et al. 2015, https://arxiv.org/abs/1511.06434"
    task: ClassVar[Task]  # what the generator maps from and to
    default_dataset: ClassVar[str]  # dataset used when `ganzoo run NAME` gets no --data
    Config: ClassVar[type[VariantConfig]]  # dataclass of hyper-parameters, paper values as defaults
    # The attributes that hold the generators, in the order build_generators creates them. They name
    # the exported tensors too: "G.blocks.0.conv.weight" is self.G's "blocks.0.conv.weight".
    generator_names: ClassVar[tuple[str, ...]] = ("G",)
    # How exports of ganzoo 0.1 (format 1) named the same generators, in the same order; they are
    # renamed on load (see ganzoo.export). A variant that did not exist then can ignore both.
    format1_generator_names: ClassVar[tuple[str, ...]] = ("generator",)
    format1_module_order: ClassVar[tuple[str, ...]] = ()  # top-level module names of a format-1 generator, in forward order, when not alphabetical
    scale: ClassVar[int] = 1  # super-resolution factor, for Task.SUPER_RESOLUTION variants
    # Trainer keys whose default this variant changes, e.g. {"ema": True} for a paper that samples
    # from an EMA of G; `--set` still overrides them, and the run's config.json records the result.
    train_defaults: ClassVar[dict[str, Any]] = {}
    # Whether `amp` "auto" trains this variant in bf16 autocast on a CPU with bf16 units (AMX, AVX-512
    # BF16), for image data. Off unless measured faster: bf16 helps large convolutions and matmuls,
    # and slows steps dominated by small ops, double backward or grouped convolutions
    # (benchmarks/results/throughput.md measures every built-in both ways).
    cpu_bf16: ClassVar[bool] = False

    def __init__(self, config: VariantConfig, data: DataInfo, device: torch.device | str = "cpu", *, pack: int = 1,
                 diffaugment: tuple[str, ...] = (), training: bool = True, args: dict[str, Any] | None = None):
        self.config = config
        self.data = data
        self.device = torch.device(device)
        self.pack = pack  # PacGAN packing degree, set by the trainer (`--set pack=2`)
        self.diffaugment = tuple(diffaugment)  # DiffAugment policy for what D sees, set by the trainer (`--set diffaugment=translation,cutout`)
        self.args = dict(type(self).generator_args(config, data) if args is None else args)
        check_generator_size(type(self), self.args)
        built = type(self).build_generators(dict(self.args))
        if tuple(built) != tuple(self.generator_names):
            raise GanzooError(f"variant '{self.name}': build_generators returned {list(built)}, but generator_names is {list(self.generator_names)}")
        for attr, module in built.items():
            setattr(self, attr, module.to(self.device))
        self.has_training_half = training
        if training:
            self.build_training()

    # -- what data the variant takes -------------------------------------------------------------

    @classmethod
    def data_request(cls, config: VariantConfig) -> DataRequest:
        """How the data must be served. Default: images at ``config.image_size``/``config.channels``
        when the config has those fields, labels when the task is conditional."""
        return DataRequest(
            kind="image",
            size=getattr(config, "image_size", None),
            channels=getattr(config, "channels", None),
            labels=cls.task == Task.CONDITIONAL,
        )

    @classmethod
    def check_data(cls, config: VariantConfig, data: DataInfo) -> None:
        """Raise DataError, before any training, if this variant cannot train on ``data``."""
        request = cls.data_request(config)
        if request.kind is not None and data.kind != request.kind:
            raise DataError(
                f"variant '{cls.name}' trains on {request.kind} data, but dataset '{data.name}' holds {data.kind}"
            )
        if request.labels and not data.num_classes:
            raise DataError(f"variant '{cls.name}' needs class labels, but dataset '{data.name}' has none")
        if request.domains != data.domains:
            raise DataError(
                f"variant '{cls.name}' trains on {request.domains}-domain data, but dataset '{data.name}' has {data.domains}"
                + ("; give a folder with trainA/ and trainB/" if request.domains == 2 else "")
            )

    # -- the generator half ------------------------------------------------------------------------

    @classmethod
    @abc.abstractmethod
    def generator_args(cls, config: VariantConfig, data: DataInfo) -> dict[str, Any]:
        """The generator modules' constructor arguments, flat and JSON-serialisable, from the
        config and the data (e.g. ``{"z_dim": 100, "channels": 1, "size": 32, "width": 32}``).
        Exports store them in config.json, so the generator can be rebuilt from the folder alone."""

    @classmethod
    @abc.abstractmethod
    def build_generators(cls, args: dict[str, Any]) -> dict[str, nn.Module]:
        """The generator modules, by attribute name (``generator_names``), from ``generator_args``'s
        output alone. Their classes should use nothing but torch, so the model card can show a
        user how to run them without ganzoo."""

    def generators(self) -> dict[str, nn.Module]:
        """The networks needed to sample: exported, averaged by EMA."""
        return {name: getattr(self, name) for name in self.generator_names}

    def input_spec(self) -> dict[str, Any]:
        """What the generators take, for the export's ``io`` block (any program can drive them from
        it): input name -> shape (without the batch axis), dtype, and distribution or meaning."""
        return {}

    @abc.abstractmethod
    def sample_inputs(self, n: int, rng: torch.Generator, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Generator inputs for ``n`` samples drawn from ``rng`` (a CPU generator), on ``self.device``:
        e.g. ``{"z": noise}`` or ``{"z": noise, "y": labels}``. ``labels`` fixes the classes for a
        conditional variant; unconditional variants reject them."""

    @abc.abstractmethod
    def generate(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Samples for ``inputs`` (as made by ``sample_inputs``), images in [-1, 1]. Called under
        ``torch.no_grad()`` with the generators in eval mode."""

    def grid(self, n: int) -> tuple[int, int | None]:
        """How many samples the trainer's sample grid shows and how many per row (None: square).
        Conditional variants return one row per class; ``sample_inputs(n, rng)`` then lays the
        labels out in that order."""
        return n, None

    def example_inputs(self, data: "InMemoryData", n: int, rng: torch.Generator) -> dict[str, torch.Tensor]:
        """The fixed inputs of the trainer's sample grid, whose ``generate`` output has ``grid(n)[0]``
        images. Default: ``sample_inputs(n, rng)``. Image-to-image variants pick real images from
        ``data`` with ``rng`` and return, e.g., input / output / reconstruction rows."""
        return self.sample_inputs(n, rng)

    def translate(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Unpaired translation: images of one domain in [-1, 1], any size -> the other domain's,
        same size; ``direction`` "a2b" or "b2a". Called under ``torch.no_grad()``, generators in eval mode."""
        raise DataError(f"variant '{self.name}' does not translate images")

    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """Super-resolution: low-resolution images in [-1, 1] (B, C, h, w) -> (B, C, h*scale, w*scale)
        in [-1, 1]. Called under ``torch.no_grad()`` with the generators in eval mode."""
        raise DataError(f"variant '{self.name}' does not upscale images")

    # -- the training half -------------------------------------------------------------------------

    @abc.abstractmethod
    def build_training(self) -> None:
        """Create what only training needs (discriminators, optimizers, loss networks) on
        ``self.device``; the generators already exist as attributes."""

    @abc.abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """Every network with weights, generators included, by a stable name: checkpointed, moved,
        and wrapped by the trainer."""

    @abc.abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimizer, by a stable name: checkpointed so a resumed run continues exactly."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state that is neither a network nor an optimizer (e.g. CycleGAN's history of
        generated images), checkpointed so a resumed run continues exactly. Default: none."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``extra_state`` returned."""

    @abc.abstractmethod
    def train_step(self, batches: "BatchStream", step: int) -> dict[str, torch.Tensor]:
        """One training iteration: draw as many batches as the schedule needs (``batches.next()``),
        update the networks with :func:`update` (never ``loss.backward()``/``opt.step()`` directly),
        and return the losses as detached scalar tensors (the trainer calls ``.item()`` only when it
        logs, so the step never waits on the device)."""

    # -- helpers for subclasses ------------------------------------------------------------------

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """Shape of one discriminator input: the data's, with ``pack`` samples stacked along the
        first axis (PacGAN, Lin et al. 2018). Build D for this shape and feed it ``packed(x)``, and
        packing works for the variant without further code."""
        first, *rest = self.data.shape
        return (first * self.pack, *rest)

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees of a batch: (B, C, ...) -> (B / pack, pack * C, ...), every pack consecutive
        samples one D input (PacGAN). Real samples are packed with real ones, fakes with fakes, since
        each call takes one kind. With a DiffAugment policy (``diffaugment``), image batches are
        first augmented, each sample with its own random transforms (ganzoo.augment); other
        tensors (a label's one-hot vector) pass unchanged. Feed D through this, and packing and
        DiffAugment work for the variant without further code."""
        if self.diffaugment and x.ndim == 4:
            x = diff_augment(x, self.diffaugment, image_channels=self.data.shape[0])
        if self.pack == 1:
            return x
        b = x.shape[0]
        if b % self.pack:
            raise DataError(f"batch of {b} cannot be packed in groups of {self.pack}; make batch_size a multiple of pack")
        return x.reshape(b // self.pack, self.pack * x.shape[1], *x.shape[2:])

    def noise(self, n: int, dim: int, rng: torch.Generator | None = None, *, spatial: bool = False) -> torch.Tensor:
        """Standard normal noise on the device; from ``rng`` (CPU) when given, else the global RNG."""
        shape = (n, dim, 1, 1) if spatial else (n, dim)
        if rng is None:
            return torch.randn(shape, device=self.device)
        return torch.randn(shape, generator=rng).to(self.device)

    def reject_labels(self, labels: torch.Tensor | None) -> None:
        if labels is not None:
            raise DataError(f"variant '{self.name}' is unconditional and takes no labels")


class GDVariant(Variant):
    """A variant with one generator ``self.G`` fed noise ``z`` (``args["z_dim"]`` dimensions) and one
    discriminator ``self.D``, each with its optimizer (``self.opt_g``, ``self.opt_d``): the shape most
    GANs have. It supplies ``networks``, ``optimizers``, ``input_spec``, ``sample_inputs`` and
    ``generate``; a subclass writes ``generator_args``, ``build_generators``, ``build_training`` and
    ``train_step``."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    spatial_noise: ClassVar[bool] = False  # noise shaped (n, z_dim, 1, 1) for convolutional generators

    @property
    def z_dim(self) -> int:
        return int(self.args["z_dim"])

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def input_spec(self):
        shape = [self.z_dim, 1, 1] if self.spatial_noise else [self.z_dim]
        return {"z": {"shape": shape, "dtype": "float32", "distribution": "normal", "mean": 0.0, "std": 1.0}}

    def sample_inputs(self, n, rng, labels=None):
        self.reject_labels(labels)
        return {"z": self.noise(n, self.z_dim, rng, spatial=self.spatial_noise)}

    def generate(self, z):
        return self.G(z)

    def fake(self, n: int) -> torch.Tensor:
        """``n`` generated samples from fresh noise, with the graph kept for the generator's step."""
        return self.G(self.noise(n, self.z_dim, spatial=self.spatial_noise))

    def with_r1(self, d_loss: torch.Tensor, real: torch.Tensor, gamma: float, logs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``d_loss + gamma / 2 * R1``, R1 (Mescheder et al. 2018) taken on the real batch as D sees
        it (packed, augmented) and logged as "r1"; ``d_loss`` itself when gamma is 0. For variants
        that offer an ``r1`` setting: the penalty keeps D from turning steep around the training
        images it memorises on small data."""
        if not gamma:
            return d_loss
        penalty = r1_penalty(lambda x: self.D(self.packed(x)), real)
        logs["r1"] = penalty.detach()
        return d_loss + gamma / 2 * penalty


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a torch.compile and/or DistributedDataParallel wrapper (itself otherwise):
    checkpoints, exports and EMA read and write the plain network's state."""
    for _ in range(3):
        module = getattr(module, "_orig_mod", module)
        module = getattr(module, "module", module) if type(module).__name__ == "DistributedDataParallel" else module
    return module


_IN_UPDATE: contextvars.ContextVar[bool] = contextvars.ContextVar("ganzoo_in_update", default=False)
# Set by the trainer under `on_nonfinite=skip`: a list that update() appends each skipped loss to.
SKIPPED: contextvars.ContextVar["list | None"] = contextvars.ContextVar("ganzoo_skip_nonfinite", default=None)


def inside_update() -> bool:
    """Whether the code running is inside :func:`update` (the trainer's check of the AMP rule)."""
    return _IN_UPDATE.get()


def linear_decay(optimizers, lr: float, step: int, steps: int, decay_from: float) -> float:
    """Set every group of ``optimizers`` to ``lr`` until ``decay_from`` of the ``steps``, then to a
    linear ramp down to 0 at the last step (CycleGAN's schedule; on 2-D mixtures it lets G settle
    on the modes instead of orbiting them). Returns the rate set. ``decay_from=1``: constant."""
    start = int(steps * decay_from)
    rate = lr if step < start else lr * max(0.0, 1.0 - (step - start) / max(1, steps - start))
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = rate
    return rate


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on ``loss``: clear the gradients, backpropagate, step. Under the
    trainer's fp16 mixed precision the loss is scaled and the step goes through the scaler (which
    skips steps whose gradients overflowed); variants need not know. Every step of a variant goes
    through here: under fp16 the trainer refuses an optimizer step taken any other way."""
    skipped = SKIPPED.get()
    if skipped is not None and not bool(torch.isfinite(loss.detach()).all()):  # on_nonfinite=skip
        skipped.append(float(loss.detach().float().sum()))
        return
    token = _IN_UPDATE.set(True)
    try:
        optimizer.zero_grad(set_to_none=True)
        scaler = active_scaler()
        with backward_context():
            (loss if scaler is None else scaler.scale(loss)).backward()
        if scaler is None:
            optimizer.step()
        else:  # update after every step: a variant may step one optimizer several times (n_critic)
            scaler.step(optimizer)
            scaler.update()
    finally:
        _IN_UPDATE.reset(token)


def __getattr__(name: str):
    """``Batch`` and ``DataKind`` lived here in 0.1; importable from here until 0.4, with a warning."""
    if name in ("Batch", "DataKind"):
        from . import _plugin_api
        from .data import types

        _plugin_api.deprecated(f"{__name__}.{name}")
        return getattr(types, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
