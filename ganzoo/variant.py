"""The variant contract: what a GAN variant declares, builds and owns.

A variant is a subclass of :class:`Variant`. Its class attributes say what it is (name, summary,
paper, task, default dataset, config dataclass); an instance builds its networks and optimizers
for one config and one dataset, owns its training step (losses, n_critic, clipping, penalties) and
turns generator inputs into samples. The trainer owns everything else: device, seeding, data,
logging, sample grids, checkpoints, EMA, export. ``docs/writing-a-plugin.md`` walks through a
complete example.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from torch import nn

from .config import VariantConfig
from .errors import DataError

if TYPE_CHECKING:
    from .data.memory import BatchStream, InMemoryData


class Task(str, enum.Enum):
    """What a variant maps from and to; the harness and the CLI pick their behaviour by it."""

    UNCONDITIONAL = "unconditional"  # noise -> sample
    CONDITIONAL = "conditional"  # (noise, class label) -> sample of that class
    UNPAIRED_TRANSLATION = "unpaired-translation"  # image of domain A <-> image of domain B
    SUPER_RESOLUTION = "super-resolution"  # low-resolution image -> high-resolution image


DataKind = Literal["image", "points"]


@dataclasses.dataclass(frozen=True)
class DataRequest:
    """How a variant wants its data served; the dataset loader resizes and converts to match."""

    kind: DataKind | None = "image"  # images (N, C, H, W), points (N, D), or None for either
    size: int | None = None  # square image side in pixels; None keeps the dataset's own
    channels: int | None = None  # 1 or 3; None keeps the dataset's own
    labels: bool = False  # the variant needs class labels
    domains: int = 1  # 2: two unpaired image domains A and B (CycleGAN); Batch.x_b then holds B
    crop: bool = False  # serve random size x size crops of whole photos (super-resolution), not resized images


@dataclasses.dataclass(frozen=True)
class DataInfo:
    """What the served data turned out to be; stored in every export so a model can be rebuilt."""

    name: str  # dataset name or folder path
    kind: DataKind  # "image" or "points"
    shape: tuple[int, ...]  # shape of one sample: (C, H, W) for images, (D,) for points
    num_classes: int | None = None  # number of classes when the data has labels
    domains: int = 1  # 2 for unpaired two-domain data; both domains have ``shape``

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "shape": list(self.shape), "num_classes": self.num_classes, "domains": self.domains}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DataInfo":
        return cls(name=d["name"], kind=d["kind"], shape=tuple(d["shape"]), num_classes=d.get("num_classes"), domains=d.get("domains", 1))


@dataclasses.dataclass
class Batch:
    """One batch of real data on the training device; images in [-1, 1]."""

    x: torch.Tensor  # (B, C, H, W) images or (B, D) points
    y: torch.Tensor | None = None  # (B,) int64 class labels, when the dataset has them
    x_b: torch.Tensor | None = None  # two-domain data: an independently shuffled batch of domain B


class Variant(abc.ABC):
    """Base class of every GAN variant. Subclass it, set the class attributes, fill in the methods.

    The constructor receives the resolved config, a description of the data, and the device;
    ``build`` must create every network on that device and every optimizer. The trainer seeds the
    global RNG before constructing a variant, so weight init is reproducible.
    """

    name: ClassVar[str]  # registry name, lowercase with dashes, e.g. "dcgan"
    summary: ClassVar[str]  # one line for `ganzoo list`
    paper: ClassVar[str]  # citation with a link, e.g. "Radford et al. 2015, https://arxiv.org/abs/1511.06434"
    task: ClassVar[Task]  # what the generator maps from and to
    default_dataset: ClassVar[str]  # dataset used when `ganzoo run NAME` gets no --data
    Config: ClassVar[type[VariantConfig]]  # dataclass of hyper-parameters, paper values as defaults

    def __init__(self, config: VariantConfig, data: DataInfo, device: torch.device | str = "cpu", *, pack: int = 1):
        self.config = config
        self.data = data
        self.device = torch.device(device)
        self.pack = pack  # PacGAN packing degree, set by the trainer (`--set pack=2`)
        self.build()

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

    # -- what the variant builds -----------------------------------------------------------------

    @abc.abstractmethod
    def build(self) -> None:
        """Create the networks (on ``self.device``) and their optimizers as attributes."""

    @abc.abstractmethod
    def networks(self) -> dict[str, nn.Module]:
        """Every network with weights, by a stable name: checkpointed, moved, and wrapped by the trainer."""

    @abc.abstractmethod
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Every optimizer, by a stable name: checkpointed so a resumed run continues exactly."""

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Training state that is neither a network nor an optimizer (e.g. CycleGAN's history of
        generated images), checkpointed so a resumed run continues exactly. Default: none."""
        return {}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what ``extra_state`` returned."""

    def generators(self) -> dict[str, nn.Module]:
        """The networks needed to sample: exported, averaged by EMA. Default: ``networks()["generator"]``."""
        return {"generator": self.networks()["generator"]}

    # -- what the variant does -------------------------------------------------------------------

    @abc.abstractmethod
    def train_step(self, batches: "BatchStream", step: int) -> dict[str, torch.Tensor]:
        """One training iteration: draw as many batches as the schedule needs (``batches.next()``),
        update the networks, and return the losses as detached scalar tensors (the trainer calls
        ``.item()`` only when it logs, so the step never waits on the device)."""

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

    # -- image-to-image variants (Task.UNPAIRED_TRANSLATION, Task.SUPER_RESOLUTION) ---------------

    def translate(self, x: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Unpaired translation: images of one domain in [-1, 1] -> the other domain's, ``direction``
        "a2b" or "b2a". Called under ``torch.no_grad()`` with the generators in eval mode."""
        raise DataError(f"variant '{self.name}' does not translate images")

    scale: ClassVar[int] = 1  # super-resolution factor, for Task.SUPER_RESOLUTION variants

    def upscale(self, x: torch.Tensor) -> torch.Tensor:
        """Super-resolution: low-resolution images in [-1, 1] (B, C, h, w) -> (B, C, h*scale, w*scale)
        in [-1, 1]. Called under ``torch.no_grad()`` with the generators in eval mode."""
        raise DataError(f"variant '{self.name}' does not upscale images")

    # -- helpers for subclasses ------------------------------------------------------------------

    @property
    def d_input_shape(self) -> tuple[int, ...]:
        """Shape of one discriminator input: the data's, with ``pack`` samples stacked along the
        first axis (PacGAN, Lin et al. 2018). Build D for this shape and feed it ``packed(x)``, and
        packing works for the variant without further code."""
        first, *rest = self.data.shape
        return (first * self.pack, *rest)

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, ...) -> (B / pack, pack * C, ...): every pack consecutive samples become one D input.
        Real samples are packed with real ones, fakes with fakes, since each call takes one kind."""
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
    """A variant with one generator ``self.G`` fed noise ``z`` and one discriminator ``self.D``, each
    with its optimizer (``self.opt_g``, ``self.opt_d``): the shape most GANs have. It supplies
    ``networks``, ``optimizers``, ``sample_inputs`` and ``generate``; a subclass writes ``build``
    (setting ``self.z_dim`` too) and ``train_step``."""

    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    z_dim: int
    spatial_noise: ClassVar[bool] = False  # noise shaped (n, z_dim, 1, 1) for convolutional generators

    def networks(self) -> dict[str, nn.Module]:
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def sample_inputs(self, n, rng, labels=None):
        self.reject_labels(labels)
        return {"z": self.noise(n, self.z_dim, rng, spatial=self.spatial_noise)}

    def generate(self, z):
        return self.G(z)

    def fake(self, n: int) -> torch.Tensor:
        """``n`` generated samples from fresh noise, with the graph kept for the generator's step."""
        return self.G(self.noise(n, self.z_dim, spatial=self.spatial_noise))


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a torch.compile and/or DistributedDataParallel wrapper (itself otherwise):
    checkpoints, exports and EMA read and write the plain network's state."""
    for _ in range(3):
        module = getattr(module, "_orig_mod", module)
        module = getattr(module, "module", module) if type(module).__name__ == "DistributedDataParallel" else module
    return module


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """One optimizer step on ``loss``: clear the gradients, backpropagate, step. Under the
    trainer's fp16 mixed precision the loss is scaled and the step goes through the scaler (which
    skips steps whose gradients overflowed); variants need not know."""
    from .training.precision import active_scaler, backward_context

    optimizer.zero_grad(set_to_none=True)
    scaler = active_scaler()
    with backward_context():
        (loss if scaler is None else scaler.scale(loss)).backward()
    if scaler is None:
        optimizer.step()
    else:  # update after every step: a variant may step one optimizer several times (n_critic)
        scaler.step(optimizer)
        scaler.update()
