"""Mixed precision and torch.compile through the trainer, on the CPU path of the same code."""

import functools

import pytest
import torch

import ganzoo
from ganzoo.losses import gradient_penalty
from ganzoo.testing import check_variant
from ganzoo import precision as P
from ganzoo.training.checkpoint import latest_checkpoint, read_checkpoint

FAST = {"g_width": 8, "d_width": 8}


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
@pytest.mark.parametrize("name", ["dcgan", "wgan-gp"])
def test_variants_train_resume_and_export_under_mixed_precision(name, amp, tmp_path):
    # wgan-gp steps one optimizer five times per step (n_critic) and takes a gradient penalty.
    check_variant(name, tmp_path, settings={"amp": amp, **FAST}, steps=2)


def test_gradient_penalty_is_unchanged_by_loss_scaling():
    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    plain = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(1))
    fp16 = P.Precision("fp16", torch.device("cpu"))
    with fp16.step():  # at the initial scale of 2^16 the scaled input gradients overflow fp16: the penalty
        overflowed = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(1))
    # falls back to the unscaled gradient (a NaN penalty would stop the run as a divergence)
    assert torch.isfinite(overflowed) and overflowed.item() == pytest.approx(plain.item(), rel=2e-2)
    fp16.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    with fp16.step():  # the penalty differentiates the scaled output...
        scaled = gradient_penalty(critic, real, fake, torch.Generator().manual_seed(1))
    assert scaled.dtype == torch.float32
    assert scaled.item() == pytest.approx(plain.item(), rel=2e-2)  # ...and unscales it: same penalty, fp16 rounding aside


def test_grad_scaler_state_is_checkpointed(tmp_path):
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=2, batch_size=8, amp="fp16", **FAST)
    _, meta = read_checkpoint(latest_checkpoint(result.run_dir / "checkpoints"))
    assert meta["grad_scaler"]["scale"] > 0


@pytest.mark.parametrize("units", [True, False])
def test_amp_auto_is_bf16_on_a_cpu_with_bf16_units_and_a_run_keeps_what_it_chose(units, tmp_path, monkeypatch, cli):
    import json

    from ganzoo._plugins import registry
    from ganzoo.training import prepare_resume

    monkeypatch.setattr(P, "cpu_has_bf16_units", lambda: units)
    chosen = "bf16" if units else "off"
    assert P.resolve("auto", torch.device("cpu")) == chosen and P.resolve("auto", torch.device("cpu"), cpu_bf16=False) == "off"
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=2, batch_size=8, sample_every=0, **FAST)
    doc = json.loads((result.run_dir / "config.json").read_text())
    assert doc["train"]["amp"] == "auto" and doc["precision"] == chosen  # the intent, and what it chose here

    def resumed_precision():
        trainer = prepare_resume(registry(), result.run_dir, steps=3, progress=False)
        trainer.dir.release()
        return trainer.precision.mode

    monkeypatch.setattr(P, "cpu_has_bf16_units", lambda: not units)  # resumed on another machine: the same precision
    assert resumed_precision() == chosen
    del doc["precision"]  # a run written before the choice was recorded chose fp32 on every CPU, and resumes so
    (result.run_dir / "config.json").write_text(json.dumps(doc))
    assert resumed_precision() == "off"
    done = cli("run", "dcgan", "--set", "amp=fp8")
    assert done.returncode == 2 and "amp" in done.stderr


def test_bf16_units_are_read_from_the_cpu_itself():
    import platform

    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the check below reads x86 flags from /proc/cpuinfo")
    flags = set(open("/proc/cpuinfo").read().split())
    assert P.cpu_has_bf16_units() == bool({"avx512_bf16", "amx_bf16"} & flags)


def test_compiled_networks_checkpoint_and_export_as_plain_ones(tmp_path, monkeypatch):
    # The eager backend exercises the wrapping without a C++ toolchain; inductor is the default.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    result = ganzoo.train("dcgan", out=str(tmp_path / "c"), steps=2, batch_size=8, compile=True, **FAST)
    tensors, _ = read_checkpoint(latest_checkpoint(result.run_dir / "checkpoints"))
    assert not [k for k in tensors if "_orig_mod" in k]
    plain = ganzoo.train("dcgan", out=str(tmp_path / "p"), steps=2, batch_size=8, **FAST)
    assert torch.equal(ganzoo.load(str(result.export_dir)).sample(4), ganzoo.load(str(plain.export_dir)).sample(4))


def test_amp_auto_keeps_fp32_where_bf16_was_not_measured_faster(tmp_path, monkeypatch):
    from ganzoo._plugins import registry
    from ganzoo.training import prepare

    monkeypatch.setattr(P, "cpu_has_bf16_units", lambda: True)

    def chosen(name, data=None, **settings):
        trainer = prepare(registry(), name, data=data, settings={"steps": 1, **settings}, out=tmp_path / f"{name}-{data}", progress=False)
        trainer.dir.release()
        return trainer.precision.mode

    assert chosen("dcgan", **FAST) == "bf16" and chosen("gan") == "bf16"  # declared faster (Variant.cpu_bf16), on images
    assert chosen("wgan", **FAST) == "off"  # not declared: its step gained nothing measurable
    assert chosen("gan", data="ring8") == "off"  # 2-D points stay fp32: bf16 rounds values near 1 to steps of 0.008
