"""Jacobian-based truncation: the norm it ranks latents by, the samples it keeps, and how eval records it."""

import json

import pytest
import torch

import ganzoo
from ganzoo import truncation as jbt
from ganzoo._plugins import registry
from ganzoo.errors import GanzooError


def _draw(dims):
    return lambda n, rng, labels=None: {"z": torch.randn(n, dims, generator=rng)}


@pytest.mark.parametrize("dims", [3, 20])  # the exact basis (<= PROBES dims) and Hutchinson's random directions
def test_jacobian_norm_of_a_linear_generator_is_its_frobenius_norm(dims):
    torch.manual_seed(0)
    a = torch.randn(5, dims)
    norms = jbt.jacobian_norms(lambda z: z @ a.T, _draw(dims)(400, torch.Generator().manual_seed(1)), torch.Generator().manual_seed(2))
    if dims <= jbt.PROBES:
        assert torch.allclose(norms, a.norm().expand(400), rtol=1e-4)
    else:  # unbiased for the square: the mean over many latents is close
        assert norms.pow(2).mean().item() == pytest.approx(a.norm().pow(2).item(), rel=0.1)
        assert norms.std() > 0  # and each latent's estimate is a random one


def _two_modes(z):
    """Points at (+-1, 0) joined by a steep bridge: d/dz0 tanh(10 z0) is 10 near z0 = 0 and ~0 far from it."""
    return torch.stack([torch.tanh(10 * z[:, 0]), 0.01 * z[:, 1]], 1)


def test_truncation_keeps_the_modes_and_drops_the_bridge_between_them():
    draw = _draw(2)
    rng = torch.Generator().manual_seed(0)
    plain = _two_modes(draw(4000, rng)["z"])
    limit = jbt.threshold(_two_modes, draw, 0.2, 1000)
    rng = torch.Generator().manual_seed(0)
    kept = torch.cat(list(jbt.truncated_batches(_two_modes, draw, draw(4000, rng), rng, limit, 1000)))
    bridge = lambda x: (x[:, 0].abs() < 0.9).float().mean().item()  # noqa: E731
    assert bridge(plain) > 0.1 and bridge(kept) == 0  # every sample between the modes is gone
    assert len(kept) == 4000 and 0.4 < (kept[:, 0] > 0).float().mean() < 0.6  # n samples, both modes kept evenly


def test_truncation_refuses_a_fraction_outside_0_1():
    for bad in (-0.1, 1.0, 2, True, "0.1"):
        with pytest.raises(GanzooError, match="fraction of latents to reject, in \\[0, 1\\)"):
            jbt.check_fraction(bad)


def test_a_redrawn_latent_keeps_its_label():
    def generate(z, y):  # the label, and a steep function of the noise
        return torch.stack([y.float(), torch.tanh(10 * z[:, 0])], 1)

    def draw(n, rng, labels=None):
        return {"z": torch.randn(n, 2, generator=rng), "y": torch.arange(n) % 10 if labels is None else labels}

    limit = jbt.threshold(generate, draw, 0.3, 250)
    rng = torch.Generator().manual_seed(0)
    asked = torch.arange(700) % 7
    out = torch.cat(list(jbt.truncated_batches(generate, draw, draw(700, rng, asked), rng, limit, 500)))
    assert torch.equal(out[:, 0], asked.float())  # position i still has the label asked for it
    assert out[:, 1].abs().min() > 0.5  # and a latent off the bridge


def test_model_sampling_with_truncation_is_repeatable_and_independent_of_batching(monkeypatch):
    monkeypatch.setattr(jbt, "CALIBRATION", 1000)  # a cheaper threshold; the sampler is the same
    model = ganzoo.create("cgan", image_size=8, z_dim=4)
    labels = torch.arange(10).repeat(70)  # 700 samples: two batches of GENERATE_BATCH
    whole = model.generate(700, seed=4, labels=labels, truncation=0.3)
    assert whole.shape == (700, *model.data.shape)
    assert torch.equal(whole, torch.cat(list(model.generate_batches(700, seed=4, labels=labels, truncation=0.3))))
    assert torch.equal(whole, model.generate(700, seed=4, labels=labels, truncation=0.3))
    plain = model.generate(700, seed=4, labels=labels)
    same = (whole == plain).flatten(1).all(1)
    assert 0.5 < same.float().mean() < 0.95  # the accepted first draws are kept, about 30 % were redrawn
    assert set(model._thresholds) == {0.3}  # calibrated once, for the model


def test_eval_records_truncated_results_under_their_own_name_beside_the_plain_ones(tmp_path, cli):
    result = ganzoo.train("gan", data="ring8", out=str(tmp_path / "g"), steps=20, batch_size=50, g_hidden=(16,), d_hidden=(16,))
    assert cli("eval", str(result.run_dir), "--metrics", "modes-pacgan-n2500-x10").returncode == 0
    assert cli("eval", str(result.run_dir), "--metrics", "modes-pacgan-n2500-x10", "--truncation", "0.1").returncode == 0
    doc = json.loads((result.export_dir / "eval.json").read_text())
    assert set(doc["metrics"]) == {"modes-pacgan-n2500-x10", "modes-pacgan-n2500-x10+jbt0.1"}
    truncated = doc["metrics"]["modes-pacgan-n2500-x10+jbt0.1"]
    assert "Jacobian-based truncation" in truncated["protocol"]["sampling"] and "0.9 quantile" in truncated["protocol"]["sampling"]
    assert "sampling" not in doc["metrics"]["modes-pacgan-n2500-x10"]["protocol"]
    # the recorded values are those of the samples Model.generate(..., truncation=0.1) gives
    from ganzoo.eval import evaluate

    again = evaluate(result.run_dir, registry(), ["modes-pacgan-n2500-x10"], write=False, truncation=0.1)
    assert again["metrics"]["modes-pacgan-n2500-x10+jbt0.1"]["values"] == truncated["values"]


def test_cli_refuses_bad_truncation_and_models_without_noise(tmp_path, cli):
    out = cli("sample", "dcgan-digits", "--truncation", "1.5", "-o", str(tmp_path / "g.png"))
    assert out.returncode == 2 and "truncation is the fraction of latents to reject" in out.stderr and "Traceback" not in out.stderr
    out = cli("eval", "cyclegan-digits-m", "--truncation", "0.1", "--out", str(tmp_path / "e"))
    assert out.returncode == 2 and "rather than sampling noise" in out.stderr and not (tmp_path / "e").exists()
