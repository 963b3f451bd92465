"""The conformance check: what every variant, built-in or third-party, must do to work in ganzoo.

Plugin authors call it from their own test suite::

    from ganzoo.testing import check_variant

    def test_mygan_conforms(tmp_path):
        check_variant("mygan", tmp_path)

It trains the variant for a few steps on tiny random data through the real trainer and checks
what users rely on: samples have the data's shape and lie in [-1, 1] (for image-to-image variants:
translations and upscaled images of the right shape); losses are finite scalars;
a checkpoint restores every network, optimizer and RNG so that the next step is bit-identical to
the uninterrupted one; the export loads back with the generator half alone (no discriminator or
optimizer is built) and samples the same images; and the variant trains under forced fp16
autocast with a loss scaler, every step through ``ganzoo.update``. Each failure is an
AssertionError that says which of these broke.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Literal

import torch

from .config import TrainConfig, replace, split_overrides
from .data.memory import InMemoryData
from .data.types import DataKind, DataRequest
from .errors import GanzooError
from .export.folder import load_export
from .hookspecs import hookimpl
from .training.checkpoint import latest_checkpoint
from .training.trainer import RunSpec, Trainer
from .variant import Task, Variant


def tiny_data(request: DataRequest, n: int = 32, num_classes: int = 10, seed: int = 0) -> InMemoryData:
    """Random data in the shape a variant asks for: uint8 images or 2-D points, with labels."""
    g = torch.Generator().manual_seed(seed)
    if request.kind == "points":
        return InMemoryData("tiny", torch.randn(n, 2, generator=g), torch.arange(n) % num_classes, num_classes, kind="points")
    size = request.size or 32
    shape = (request.channels or 1, size, size)
    x = torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)
    y = torch.arange(n) % num_classes
    extra: dict[str, Any] = {}
    if request.domains == 2:  # a second, unpaired domain of a different size
        extra["x_b"] = torch.randint(0, 256, (n + 5, *shape), generator=g, dtype=torch.uint8)
        extra["y_b"] = torch.arange(n + 5) % num_classes
    if request.crop:  # whole held-out images, larger than the crops and not square
        extra["held_out"] = [torch.randint(0, 256, (shape[0], size + 8, size + 4), generator=g, dtype=torch.uint8)]
    return InMemoryData("tiny", x, y, num_classes, kind="image", **extra)


def _states_equal(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> list[str]:
    return [k for k in a if k not in b or not torch.equal(a[k].cpu(), b[k].cpu())]


def check_variant(
    variant: str | type[Variant],
    tmp_path: str | Path,
    *,
    settings: dict[str, Any] | None = None,
    steps: int = 2,
    data_kind: DataKind | None = None,
    device: str = "cpu",
    amp: Literal["auto", "off", "bf16", "fp16"] = "off",
) -> None:
    """Train ``variant`` (a registered name, or a Variant subclass) for ``steps`` steps on tiny data
    and check the contract; raises AssertionError naming what broke. ``data_kind`` ("image" or
    "points") picks the kind of tiny data for a variant that accepts both. ``device`` and ``amp``
    (the trainer's keys) run the whole check elsewhere, e.g. on "cuda" under "bf16"; the fp16 run
    with a loss scaler happens on ``device`` whatever ``amp`` is. Bit-exact resume on a GPU needs
    ``torch.use_deterministic_algorithms(True)``.

    A class that no plugin registered is registered for the duration of the check, so a plugin's
    tests need not install the plugin first.
    """
    from ._plugins import registry, temporary_plugin

    if not isinstance(variant, str) and variant.name not in registry().variants:
        with temporary_plugin(_SingleVariant(variant), f"ganzoo.testing:{variant.name}"):
            assert registry().variants.get(variant.name) is variant, _registration_failure(variant)
            return check_variant(variant.name, tmp_path, settings=settings, steps=steps, data_kind=data_kind, device=device, amp=amp)
    reg = registry()
    cls = reg.variant(variant) if isinstance(variant, str) else variant
    tmp_path = Path(tmp_path)
    vset, tset = split_overrides(settings or {}, cls.Config(), TrainConfig())
    config = replace(cls.Config(), {"batch_size": 8, "steps": steps, **vset})
    request = cls.data_request(config)
    if data_kind is not None:  # for variants that take more than one kind of data
        request = dataclasses.replace(request, kind=data_kind)
    data = tiny_data(request)
    train = TrainConfig(seed=0, device=device, amp=amp, log_every=1, sample_every=0, checkpoint_every=1, num_samples=8, ema=True, ema_decay=0.5)
    train = replace(train, tset)

    def trainer(run_dir: Path, cfg=config, tcfg=train) -> Trainer:
        return Trainer(RunSpec(cls, cfg, tcfg, "tiny"), data, run_dir, progress=False, metrics=reg.metrics)

    t = trainer(tmp_path / "run")
    result = t.fit()

    # losses: finite scalars, logged every step
    assert len(t.history) == steps, f"{cls.name}: expected {steps} metric rows, got {len(t.history)}"
    for row in t.history:
        losses = {k: v for k, v in row.items() if k.startswith("loss")}
        assert losses, f"{cls.name}: train_step returned no losses (keys must start with 'loss')"
        bad = {k: v for k, v in losses.items() if not math.isfinite(v)}
        assert not bad, f"{cls.name}: non-finite losses at step {row['step']}: {bad}"

    # samples: the data's shape, in [-1, 1]
    samples = t.samples()
    expected = (t.variant.grid(train.num_samples)[0], *data.info.shape)
    assert tuple(samples.shape) == expected, f"{cls.name}: samples have shape {tuple(samples.shape)}, expected {expected}"
    assert torch.isfinite(samples).all(), f"{cls.name}: samples contain NaN or inf"
    if data.kind == "image":
        assert samples.min() >= -1.0 and samples.max() <= 1.0, f"{cls.name}: image samples outside [-1, 1]"

    # export round trip: loads through the public loader, generators only, and samples what the trainer sampled
    model = load_export(result.export_dir, reg.variants)
    assert model.name == cls.name
    assert not model.variant.has_training_half, f"{cls.name}: the loaded model built its training half"
    extra = set(vars(model.variant)) & {a for a, v in vars(t.variant).items() if isinstance(v, (torch.nn.Module, torch.optim.Optimizer))} - set(cls.generator_names)
    assert not extra, f"{cls.name}: loading built {sorted(extra)}, which only training needs; build them in build_training"
    assert model.num_parameters() == sum(p.numel() for g in t.variant.generators().values() for p in g.parameters()), \
        f"{cls.name}: the loaded model holds more parameters than its generators"
    with t._ema_weights():
        for name, g in t.variant.generators().items():
            diff = _states_equal(g.state_dict(), model.variant.generators()[name].state_dict())
            assert not diff, f"{cls.name}: exported generator '{name}' differs from the trained one: {diff[:3]}"
    _check_outputs(cls, model, data)

    # checkpoint round trip: the final checkpoint restores every network
    ckpt = latest_checkpoint(t.dir.checkpoints)
    assert ckpt is not None and ckpt.name.endswith(f"{steps:08d}.safetensors"), f"{cls.name}: no final checkpoint"
    restored = trainer(tmp_path / "run")
    assert restored.resume() == steps
    for name, net in t.variant.networks().items():
        diff = _states_equal(net.state_dict(), restored.variant.networks()[name].state_dict())
        assert not diff, f"{cls.name}: checkpoint did not restore network '{name}': {diff[:3]}"

    # interrupted after `steps` and resumed: ends bit-identical to a run that was never interrupted
    longer = dataclasses.replace(config, steps=steps + 1)
    straight = trainer(tmp_path / "straight", longer)
    straight.fit()
    trainer(tmp_path / "stopped", longer).fit(stop_at=steps)
    resumed = trainer(tmp_path / "stopped", longer)
    assert resumed.resume() == steps
    resumed.fit()
    for name, net in straight.variant.networks().items():
        diff = _states_equal(net.state_dict(), resumed.variant.networks()[name].state_dict())
        assert not diff, f"{cls.name}: resumed run diverged from the uninterrupted one in '{name}': {diff[:3]}"

    # mixed precision: forced fp16 autocast with a loss scaler, every step through ganzoo.update
    fp16 = dataclasses.replace(train, amp="fp16")
    half = trainer(tmp_path / "fp16", tcfg=fp16)
    try:
        half.fit()
    except GanzooError as exc:
        raise AssertionError(f"{cls.name}: under fp16 with loss scaling: {exc}") from None
    assert half.precision.scaler is not None and half.precision.state() is not None, f"{cls.name}: fp16 ran without a loss scaler"
    for row in half.history:
        bad = {k: v for k, v in row.items() if k.startswith("loss") and not math.isfinite(v)}
        assert not bad, f"{cls.name}: non-finite losses under fp16 at step {row['step']}: {bad}"


def _check_outputs(cls: type[Variant], model, data: InMemoryData) -> None:
    """What a loaded model gives its user: samples, translations or upscaled images, in [0, 1]."""
    if cls.task == Task.UNPAIRED_TRANSLATION:
        a = data.x[:3].float() / 255
        for direction in ("a2b", "b2a"):
            out = model.translate(a, direction)
            assert out.shape == a.shape, f"{cls.name}: translate({direction}) gave shape {tuple(out.shape)} for {tuple(a.shape)}"
            assert out.min() >= 0.0 and out.max() <= 1.0, f"{cls.name}: Model.translate must return images in [0, 1]"
            assert torch.equal(out, model.translate(a, direction)), f"{cls.name}: translate is not deterministic"
        odd = torch.rand(a.shape[1], a.shape[2] + 3, a.shape[3] + 1, generator=torch.Generator().manual_seed(0))
        assert model.translate(odd).shape == odd.shape, f"{cls.name}: translate needs inputs of any size (pad and crop inside the variant)"
        return
    if cls.task == Task.SUPER_RESOLUTION:
        s = cls.scale
        lr = data.x[:2, :, : data.x.shape[2] // s, : data.x.shape[3] // s].float() / 255
        out = model.upscale(lr)
        expected = (2, lr.shape[1], lr.shape[2] * s, lr.shape[3] * s)
        assert tuple(out.shape) == expected, f"{cls.name}: upscale gave shape {tuple(out.shape)}, expected {expected}"
        assert out.min() >= 0.0 and out.max() <= 1.0, f"{cls.name}: Model.upscale must return images in [0, 1]"
        odd = torch.rand(lr.shape[1], lr.shape[2] + 3, lr.shape[3] + 1, generator=torch.Generator().manual_seed(0))
        assert model.upscale(odd).shape[-2:] == (odd.shape[1] * s, odd.shape[2] * s), f"{cls.name}: upscale needs inputs of any size"
        return
    again = model.sample(4, seed=3)
    assert tuple(again.shape) == (4, *data.info.shape), f"{cls.name}: loaded model samples shape {tuple(again.shape)}"
    assert torch.equal(again, model.sample(4, seed=3)), f"{cls.name}: sampling with the same seed is not repeatable"
    if data.kind == "image":
        assert again.min() >= 0.0 and again.max() <= 1.0, f"{cls.name}: Model.sample must return images in [0, 1]"


class _SingleVariant:
    """A throwaway plugin object that registers one variant class."""

    def __init__(self, cls: type[Variant]):
        self.cls = cls

    @hookimpl
    def register_variants(self, register):
        register(self.cls)


def _registration_failure(cls: type[Variant]) -> str:
    from ._plugins import registry

    errors = [f.error for f in registry().failures if f.plugin == f"ganzoo.testing:{getattr(cls, 'name', cls)}"]
    return f"variant {cls!r} could not be registered: {'; '.join(errors) or 'unknown reason'}"
