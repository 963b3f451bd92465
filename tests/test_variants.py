"""Behaviour specific to the GAN, CGAN, LSGAN, WGAN and WGAN-GP variants, and PacGAN packing."""

import math

import json

import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo import DataRequest
from ganzoo._plugins import registry
from ganzoo.config import replace
from ganzoo.data import BatchStream, load_data
from ganzoo.data.synthetic import SAMPLES, grid25_means, ring8_means
from ganzoo.errors import DataError
from ganzoo.testing import check_variant, tiny_data
from ganzoo.training import prepare


def build(name, data, pack=1, **settings):
    cls = registry().variant(name)
    torch.manual_seed(0)
    return cls(replace(cls.Config(), settings), data.info, "cpu", pack=pack)


# -- datasets -----------------------------------------------------------------------------------


def test_ring8_has_8_distinct_modes_on_the_unit_circle_with_sigma_001():
    means = ring8_means()
    angles = torch.atan2(means[:, 1], means[:, 0]) % (2 * math.pi)
    assert len(set(round(a, 6) for a in angles.tolist())) == 8
    assert torch.allclose(angles.sort().values, torch.arange(8) * 2 * math.pi / 8, atol=1e-6)
    d = load_data("ring8", DataRequest(kind="points"), registry().datasets)
    assert d.x.shape == (SAMPLES, 2) and d.num_classes == 8
    for k in range(8):
        pts = d.x[d.y == k]
        assert torch.allclose(pts.mean(0), means[k], atol=0.002)
        assert torch.allclose(pts.std(0), torch.full((2,), 0.01), rtol=0.05)


def test_grid25_has_25_modes_with_sigma_005():
    means = grid25_means()
    assert means.shape == (25, 2) and set(means.flatten().tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    d = load_data("grid25", DataRequest(kind="points"), registry().datasets)
    assert d.x.shape == (SAMPLES, 2)
    for k in (0, 12, 24):
        pts = d.x[d.y == k]
        assert torch.allclose(pts.mean(0), means[k], atol=0.005)
        assert torch.allclose(pts.std(0), torch.full((2,), 0.05), rtol=0.05)


def test_stacked_digits_stacks_three_independent_digits():
    base = load_data("digits", DataRequest(size=16), registry().datasets)
    d = load_data("stacked-digits", DataRequest(size=16), registry().datasets)
    assert d.x.shape[1:] == (3, 16, 16) and d.num_classes == 1000
    assert len(d.y.unique()) == 1000  # every mode occurs
    # each channel is one of the digits images, and the label encodes the three digits
    first = d.x[0]
    for c, digit in enumerate((d.y[0] // 100, d.y[0] // 10 % 10, d.y[0] % 10)):
        matches = (base.x[:, 0] == first[c]).flatten(1).all(1)
        assert matches.any() and (base.y[matches] == digit).all()


# -- packing ------------------------------------------------------------------------------------


def test_packing_widens_the_discriminator_input_and_nothing_else():
    data = tiny_data(DataRequest(size=32, channels=1))
    plain, packed = build("dcgan", data), build("dcgan", data, pack=2)
    d1, d2 = plain.D.state_dict(), packed.D.state_dict()
    assert d1["0.weight"].shape[1] == 1 and d2["0.weight"].shape[1] == 2
    assert {k: v.shape for k, v in d1.items() if k != "0.weight"} == {k: v.shape for k, v in d2.items() if k != "0.weight"}
    g1, g2 = plain.G.state_dict(), packed.G.state_dict()
    assert all(torch.equal(g1[k], g2[k]) for k in g1)  # the generator is untouched
    x = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 2, 2)
    grouped = packed.packed(x)
    assert grouped.shape == (2, 2, 2, 2)
    assert grouped[0, :, 0, 0].tolist() == [0.0, 1.0] and grouped[1, :, 0, 0].tolist() == [2.0, 3.0]
    points = build("gan", tiny_data(DataRequest(kind="points")), pack=3)
    assert points.D[1][0].linear.in_features == 6


@pytest.mark.parametrize("name", ["dcgan", "gan", "lsgan", "wgan-gp", "cgan"])
def test_every_variant_trains_packed(name, tmp_path):
    check_variant(name, tmp_path, settings={"pack": 2})


def test_batch_size_must_be_a_multiple_of_pack(tmp_path):
    with pytest.raises(ganzoo.GanzooError, match="batch_size 15 must be a multiple of pack 2"):
        prepare(registry(), "dcgan", settings={"batch_size": 15, "pack": 2}, out=tmp_path / "r")


# -- variant specifics --------------------------------------------------------------------------


def test_gan_takes_k_discriminator_batches_per_step_and_both_generator_losses():
    data = tiny_data(DataRequest(kind="points"), n=64)
    for g_loss in ("nonsaturating", "minimax"):
        v = build("gan", data, k=3, g_loss=g_loss, batch_size=8)
        stream = BatchStream(data, 8, seed=0)
        losses = v.train_step(stream, 0)
        assert stream.position == 3
        assert (losses["loss_g"] < 0) == (g_loss == "minimax")  # minimax loss E[log(1 - D)] is negative


def test_gan_latent_components_are_equally_likely_and_travel_with_the_export(tmp_path):
    from ganzoo.nets import MLPGenerator

    g = MLPGenerator(2, [8], [2], batchnorm=True, tanh=False, components=5)
    z = torch.randn(50_000, 2, generator=torch.Generator().manual_seed(0))
    share = torch.bincount((z[:, :1] > g.latent.edges).sum(1), minlength=5).double() / len(z)
    assert share.sub(0.2).abs().max() < 0.01  # the normal's quintiles: each component 1/5 of the latents
    # Across a component's edge G may jump: only the one-hot input changes, so the first layer's
    # pre-activation moves by the difference of the two components' columns, whatever z's step.
    edge = g.latent.edges[2].item()
    lin = g.layers[0].linear
    below, above = torch.tensor([[edge - 1e-6, 0.3]]), torch.tensor([[edge + 1e-6, 0.3]])
    assert torch.allclose(lin(torch.cat([torch.eye(5)[2:3], above], 1)) - lin(torch.cat([torch.eye(5)[1:2], below], 1)),
                          lin.weight[:, 2] - lin.weight[:, 1], atol=1e-4)
    assert "edges" not in g.state_dict()  # derived from `components`, not stored with the weights

    result = ganzoo.train("gan", data="ring8", out=str(tmp_path / "g"), steps=4, batch_size=50, g_hidden=(16,), d_hidden=(16,),
                          latent_components=5, progress=False)
    doc = json.loads((result.export_dir / "config.json").read_text())
    assert doc["generator"]["args"]["components"] == 5
    model = ganzoo.load(result.export_dir)
    assert model.generate(100, seed=1).shape == (100, 2)
    assert torch.equal(model.generate(100, seed=1), model.generate(100, seed=1))
    # without the option the generator's arguments are those exports made before it existed
    plain = ganzoo.train("gan", data="ring8", out=str(tmp_path / "p"), steps=2, batch_size=50, g_hidden=(16,), d_hidden=(16,), progress=False)
    assert "components" not in json.loads((plain.export_dir / "config.json").read_text())["generator"]["args"]


def test_wgan_clips_critic_weights_and_wgan_gp_has_no_batchnorm():
    data = tiny_data(DataRequest(size=32, channels=1))
    wgan = build("wgan", data, batch_size=8)
    wgan.train_step(BatchStream(data, 8, seed=0), 0)
    assert max(p.abs().max().item() for p in wgan.D.parameters()) <= 0.01
    assert isinstance(wgan.opt_d, torch.optim.RMSprop) and wgan.opt_d.defaults["lr"] == 5e-5
    gp = build("wgan-gp", data, batch_size=8)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gp.D.modules())
    assert gp.opt_d.defaults["betas"] == (0.0, 0.9) and gp.opt_d.defaults["lr"] == 1e-4
    losses = gp.train_step(BatchStream(data, 8, seed=0), 0)
    assert "loss_gp" in losses and losses["loss_gp"] >= 0


def test_lsgan_codings():
    data = tiny_data(DataRequest(size=32, channels=1))
    assert (build("lsgan", data).a, build("lsgan", data).b, build("lsgan", data).c) == (0.0, 1.0, 1.0)
    v = build("lsgan", data, coding="-1-1-0")
    assert (v.a, v.b, v.c) == (-1.0, 1.0, 0.0)


def test_cgan_grid_has_one_row_per_class_and_samples_the_asked_label():
    data = tiny_data(DataRequest(size=28, channels=1))
    v = build("cgan", data)
    n, nrow = v.grid(64)
    assert (n, nrow) == (60, 6)
    inputs = v.sample_inputs(n, torch.Generator().manual_seed(0))
    assert inputs["y"].view(10, 6).eq(torch.arange(10)[:, None]).all()
    sevens = v.sample_inputs(5, torch.Generator().manual_seed(0), labels=torch.full((5,), 7))
    assert sevens["y"].tolist() == [7] * 5


def test_cgan_refuses_data_without_labels(tmp_path):
    for i in range(4):
        Image.new("L", (8, 8), 100).save(tmp_path / f"{i}.png")
    with pytest.raises(DataError, match="variant 'cgan' needs class labels, but dataset .* has none"):
        prepare(registry(), "cgan", data=str(tmp_path), out=tmp_path / "r")


def test_conv_variant_refuses_points(tmp_path):
    with pytest.raises(DataError, match="dataset 'ring8' holds points data, but the variant trains on image data"):
        prepare(registry(), "dcgan", data="ring8", out=tmp_path / "r")


def test_r3gan_trains_on_points_with_its_mlp_and_samples_from_its_ema(tmp_path):
    import ganzoo

    result = ganzoo.train("r3gan", data="ring8", out=str(tmp_path / "r"), steps=3, batch_size=32, width=16, sample_every=0)
    doc = json.loads((result.export_dir / "config.json").read_text())
    assert doc["generator"]["class"] == "R3PointGenerator" and doc["training"]["ema"] is True  # the paper's EMA, by default
    assert "ema=" not in doc["training"]["command"]  # a variant's own trainer default needs no --set to reproduce
    points = ganzoo.load(result.export_dir).sample(10)
    assert points.shape == (10, 2) and bool(torch.isfinite(points).all())


def test_r3gan_starts_every_residual_branch_at_zero():
    """Fix-up initialisation: each block starts as the identity, so a deep G starts as a shallow one."""
    from ganzoo_r3gan import R3Generator, ResidualBlock

    g = R3Generator(z_dim=8, channels=1, size=16, width=32, min_width=16, group_size=16, expansion=2, blocks=2)
    blocks = [m for m in g.modules() if isinstance(m, ResidualBlock)]
    assert len(blocks) == 6 and all(torch.count_nonzero(b.compress.weight) == 0 for b in blocks)
    x = torch.randn(2, 32, 4, 4)
    assert torch.equal(blocks[0](x), x)
