"""Loss functions against values computed by hand."""

import math

import pytest
import torch
from torch import nn

from ganzoo import losses

real = torch.tensor([2.0, 0.0])
fake = torch.tensor([-1.0, 1.0])


def sp(x):  # softplus by hand
    return math.log1p(math.exp(x))


def test_bce_discriminator():
    # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
    expected = (sp(-2) + sp(0)) / 2 + (sp(-1) + sp(1)) / 2
    assert losses.d_loss_bce(real, fake).item() == pytest.approx(expected)


def test_bce_discriminator_matches_probability_form():
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    assert losses.d_loss_bce(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)


def test_generator_minimax_and_nonsaturating():
    # minimax: mean log(1 - sigmoid(f)) = -mean softplus(f)
    assert losses.g_loss_minimax(fake).item() == pytest.approx(-(sp(-1) + sp(1)) / 2)
    # non-saturating: -mean log sigmoid(f) = mean softplus(-f)
    assert losses.g_loss_nonsaturating(fake).item() == pytest.approx((sp(1) + sp(-1)) / 2)


def test_nonsaturating_gives_stronger_gradient_when_d_wins():
    f = torch.tensor([-6.0], requires_grad=True)  # D is sure the sample is fake
    (g_mm,) = torch.autograd.grad(losses.g_loss_minimax(f), f)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(f), f)
    assert abs(g_ns.item()) > 100 * abs(g_mm.item())


def test_least_squares_both_codings():
    # a=0, b=1, c=1: 1/2 mean (r-1)^2 + 1/2 mean f^2
    assert losses.d_loss_least_squares(real, fake).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (1 + 1) / 2)
    assert losses.g_loss_least_squares(fake).item() == pytest.approx(0.5 * (4 + 0) / 2)
    # a=-1, b=1, c=0
    assert losses.d_loss_least_squares(real, fake, a=-1, b=1).item() == pytest.approx(0.5 * (1 + 1) / 2 + 0.5 * (0 + 4) / 2)
    assert losses.g_loss_least_squares(fake, c=0).item() == pytest.approx(0.5 * (1 + 1) / 2)


def test_wasserstein_and_hinge():
    assert losses.d_loss_wasserstein(real, fake).item() == pytest.approx(0.0 - 1.0)
    assert losses.g_loss_wasserstein(fake).item() == pytest.approx(0.0)
    # relu(1 - [2, 0]) = [0, 1]; relu(1 + [-1, 1]) = [0, 2]
    assert losses.d_loss_hinge(real, fake).item() == pytest.approx(0.5 + 1.0)


def test_gradient_penalty_known_norm():
    # f(x) = w . x has gradient w everywhere: penalty = (|w| - 1)^2 = (5 - 1)^2 for w = (3, 4)
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[3.0, 4.0]]))
    r, f = torch.randn(16, 2), torch.randn(16, 2)
    assert losses.gradient_penalty(critic, r, f).item() == pytest.approx(16.0)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([[0.6, 0.8]]))  # unit norm: no penalty
    assert losses.gradient_penalty(critic, r, f).item() == pytest.approx(0.0, abs=1e-10)


def test_relativistic_pairing_losses_by_hand():
    # D: pairs (2, -1) and (0, 1); RpGAN's D loss softplus(-(r - f)), its G loss softplus(-(f - r))
    assert losses.d_loss_relativistic(real, fake).item() == pytest.approx((sp(-3) + sp(1)) / 2)
    assert losses.g_loss_relativistic(real, fake).item() == pytest.approx((sp(3) + sp(-1)) / 2)


def test_r1_and_r2_of_a_known_linear_discriminator():
    # D(x) = w . x + b has gradient w everywhere: R1 = R2 = ||w||^2 = 9 + 16 = 25, for any x
    d = nn.Linear(2, 1)
    with torch.no_grad():
        d.weight.copy_(torch.tensor([[3.0, -4.0]]))
        d.bias.fill_(7.0)
    x = torch.randn(5, 2)
    assert losses.r1_penalty(d, x).item() == pytest.approx(25.0)
    assert losses.r2_penalty(d, x * 10).item() == pytest.approx(25.0)
    # D(x) = sum x^2 / 2 has gradient x: the penalty is the mean squared norm of the points
    quad = lambda t: 0.5 * t.pow(2).sum(1)  # noqa: E731
    pts = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    assert losses.zero_centred_penalty(quad, pts).item() == pytest.approx((5 + 9) / 2)
    # and it trains D: the penalty's gradient reaches the weights (2w for ||w||^2)
    penalty = losses.r1_penalty(d, x)
    (grad,) = torch.autograd.grad(penalty, d.weight)
    assert torch.allclose(grad, 2 * d.weight.detach())


def test_linear_decay_is_constant_then_ramps_to_zero_at_the_last_step():
    import ganzoo

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    rates = [ganzoo.linear_decay([opt], 0.1, step, 10, 0.5) for step in range(10)]
    assert rates[:6] == [0.1] * 6 and rates[9] == pytest.approx(0.02) and rates == sorted(rates, reverse=True)
    assert opt.param_groups[0]["lr"] == rates[-1]
    assert [ganzoo.linear_decay([opt], 0.1, step, 10, 1.0) for step in range(10)] == [0.1] * 10  # 1: constant


@pytest.mark.parametrize("variant", ["gan", "dcgan"])
def test_decay_from_ramps_both_optimizers_down_over_the_run(variant, tmp_path):
    from ganzoo._plugins import registry
    from ganzoo.training import prepare

    settings = {"steps": 4, "batch_size": 8, "decay_from": 0.5, "sample_every": 0, "checkpoint_every": 0}
    if variant == "dcgan":
        settings.update(g_width=8, d_width=8)
    trainer = prepare(registry(), variant, settings=settings, out=tmp_path / "r", progress=False)
    trainer.fit()
    lr = trainer.variant.config.lr
    for opt in (trainer.variant.opt_g, trainer.variant.opt_d):  # the last step (index 3) ran at lr * (1 - 1/2)
        assert opt.param_groups[0]["lr"] == pytest.approx(lr / 2)


@pytest.mark.parametrize("variant", ["dcgan", "lsgan", "gan"])
def test_r1_adds_gamma_half_the_real_batchs_gradient_norm_to_d_loss(variant, tmp_path, monkeypatch):
    """--set r1=gamma on dcgan, lsgan and gan: D is updated on loss_d + gamma/2 * E||grad_x D(x)||^2 over the real
    batch (Mescheder et al. eq. 9), recomputed here by autograd on a copy of D taken before the step."""
    import copy
    from types import SimpleNamespace

    import ganzoo
    from ganzoo._plugins import registry
    from ganzoo.training import prepare

    settings = {"steps": 1, "batch_size": 8, "r1": 3.0, "sample_every": 0, "checkpoint_every": 0}
    if variant == "gan":  # the MLP D on 2-D points: the mixtures are where gan's r1 is used
        data, shape = "ring8", (8, 2)
        settings.update(g_hidden=(16,), d_hidden=(16,))
    else:
        data, shape = None, (8, 1, 32, 32)
        settings.update(g_width=8, d_width=8)
    variant = prepare(registry(), variant, data=data, settings=settings, out=tmp_path / "r", progress=False).variant
    real = torch.rand(*shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    d_before = copy.deepcopy(variant.D)
    updates = []
    update = ganzoo.update
    monkeypatch.setattr(ganzoo, "update", lambda opt, loss: (updates.append((opt, loss.detach())), update(opt, loss)))
    logs = variant.train_step(SimpleNamespace(next=lambda: SimpleNamespace(x=real)), 0)

    x = real.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(d_before(x).sum(), x)
    r1 = grad.pow(2).flatten(1).sum(1).mean()
    (d_update,) = [loss for opt, loss in updates if opt is variant.opt_d]
    assert logs["r1"].item() == pytest.approx(r1.item(), rel=1e-5)
    assert d_update.item() == pytest.approx(logs["loss_d"].item() + 1.5 * r1.item(), rel=1e-5)
    assert r1.item() > 0
