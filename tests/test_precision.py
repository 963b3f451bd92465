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


def test_amp_auto_is_off_on_cpu_and_bad_values_are_refused(cli):
    assert P.resolve("auto", torch.device("cpu")) == "off"
    done = cli("run", "dcgan", "--set", "amp=fp8")
    assert done.returncode == 2 and "amp" in done.stderr


def test_compiled_networks_checkpoint_and_export_as_plain_ones(tmp_path, monkeypatch):
    # The eager backend exercises the wrapping without a C++ toolchain; inductor is the default.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    result = ganzoo.train("dcgan", out=str(tmp_path / "c"), steps=2, batch_size=8, compile=True, **FAST)
    tensors, _ = read_checkpoint(latest_checkpoint(result.run_dir / "checkpoints"))
    assert not [k for k in tensors if "_orig_mod" in k]
    plain = ganzoo.train("dcgan", out=str(tmp_path / "p"), steps=2, batch_size=8, **FAST)
    assert torch.equal(ganzoo.load(str(result.export_dir)).sample(4), ganzoo.load(str(plain.export_dir)).sample(4))
