"""Adversarial losses, written on the discriminator's raw outputs (logits / critic scores).

Working on logits rather than sigmoid probabilities keeps the BCE losses numerically stable
(``softplus`` instead of ``log(sigmoid)``): the reference DCGAN loop's ``Sigmoid + BCELoss``
saturates to exactly 0 or 1 in float32 and then stops learning. Every function returns a scalar
mean over the batch. The names give the loss's paper; each docstring gives its formula.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def d_loss_bce(real: Tensor, fake: Tensor) -> Tensor:
    """Goodfellow et al. 2014: -E[log D(x)] - E[log(1 - D(G(z)))], with D = sigmoid(logits)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def g_loss_minimax(fake: Tensor) -> Tensor:
    """The original generator objective, E[log(1 - D(G(z)))], minimised; saturates early in training."""
    return -F.softplus(fake).mean()


def g_loss_nonsaturating(fake: Tensor) -> Tensor:
    """The paper's practical alternative: -E[log D(G(z))], strong gradients while D is winning."""
    return F.softplus(-fake).mean()


def d_loss_least_squares(real: Tensor, fake: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]."""
    return 0.5 * (real - b).pow(2).mean() + 0.5 * (fake - a).pow(2).mean()


def g_loss_least_squares(fake: Tensor, c: float = 1.0) -> Tensor:
    """Mao et al. 2017, eq. 2: 1/2 E[(D(G(z)) - c)^2]."""
    return 0.5 * (fake - c).pow(2).mean()


def d_loss_wasserstein(real: Tensor, fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: the critic maximises E[f(x)] - E[f(G(z))], so it minimises the negative."""
    return fake.mean() - real.mean()


def g_loss_wasserstein(fake: Tensor) -> Tensor:
    """Arjovsky et al. 2017: -E[f(G(z))]. Also the generator loss used with the hinge critic."""
    return -fake.mean()


def d_loss_hinge(real: Tensor, fake: Tensor) -> Tensor:
    """Lim & Ye 2017 / Miyato et al. 2018: E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


g_loss_hinge = g_loss_wasserstein


def _input_gradient(critic, x: Tensor) -> Tensor:
    """d(sum critic(x)) / dx with the graph kept (a penalty on it trains the critic). Under fp16 loss
    scaling the scaled output is differentiated (no underflow) and the gradient unscaled, as in
    PyTorch's AMP recipe for gradient penalties."""
    from .precision import active_scaler

    out = critic(x).float().sum()
    scaler = active_scaler()
    if scaler is None:
        (grad,) = torch.autograd.grad(out, x, create_graph=True)
        return grad
    (scaled,) = torch.autograd.grad(scaler.scale(out), x, create_graph=True)
    grad = scaled / scaler.get_scale()
    if not bool(torch.isfinite(grad).all()):  # the scale overflowed fp16 here (it adapts to the weights' gradients, not these)
        (grad,) = torch.autograd.grad(out, x, create_graph=True)
    return grad


def gradient_penalty(critic, real: Tensor, fake: Tensor, rng: torch.Generator | None = None) -> Tensor:
    """Gulrajani et al. 2017: E[(||grad f(x_hat)||_2 - 1)^2] at random interpolates x_hat of real and fake."""
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    if rng is None:
        eps = torch.rand(shape, device=real.device, dtype=real.dtype)
    else:
        eps = torch.rand(shape, generator=rng).to(real.device, real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad = _input_gradient(critic, x_hat)
    return (grad.float().flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def zero_centred_penalty(critic, x: Tensor) -> Tensor:
    """E[||grad_x D(x)||_2^2], the zero-centred gradient penalty: R1 on real data (Mescheder et al.
    2018, "Which Training Methods for GANs do actually Converge?", eq. 9) and R2 on generated data.
    Multiply by gamma / 2 for the papers' weighting; R3GAN (Huang et al. 2024) applies both."""
    x = x.detach().requires_grad_(True)
    return _input_gradient(critic, x).float().flatten(1).pow(2).sum(1).mean()


def r1_penalty(critic, real: Tensor) -> Tensor:
    """R1 (Mescheder et al. 2018): the zero-centred gradient penalty on real data."""
    return zero_centred_penalty(critic, real)


def r2_penalty(critic, fake: Tensor) -> Tensor:
    """R2 (Mescheder et al. 2018; R3GAN, Huang et al. 2024): the zero-centred gradient penalty on generated data."""
    return zero_centred_penalty(critic, fake)


def d_loss_relativistic(real: Tensor, fake: Tensor) -> Tensor:
    """Relativistic pairing GAN (RpGAN; Jolicoeur-Martineau 2019; R3GAN eq. 2, f = softplus(-t)):
    E[softplus(-(D(x_r) - D(x_f)))], each real paired with one fake."""
    return F.softplus(fake - real).mean()


def g_loss_relativistic(real: Tensor, fake: Tensor) -> Tensor:
    """RpGAN's generator loss: E[softplus(-(D(x_f) - D(x_r)))] (R3GAN eq. 2 with the roles swapped)."""
    return F.softplus(real - fake).mean()


def cycle_consistency(x: Tensor, reconstructed: Tensor) -> Tensor:
    """||F(G(x)) - x||_1, the cycle-consistency loss of CycleGAN (Zhu et al. 2017, Eq. 2), mean over pixels."""
    return (reconstructed - x).abs().mean()


def identity(x: Tensor, mapped: Tensor) -> Tensor:
    """||G(y) - y||_1 for y already in G's target domain: CycleGAN's identity loss (Section 5.2,
    after Taigman et al. 2017), which keeps colours and content a mapping need not change."""
    return (mapped - x).abs().mean()


class HistoryBuffer:
    """The discriminator's history of generated images (Shrivastava et al. 2017; CycleGAN Section 4):
    each fake in a batch is, with probability 1/2, swapped for one of up to ``capacity`` earlier
    fakes (which is then replaced by it), so D does not forget what G used to produce. Its contents
    are training state: ``state``/``load_state`` go into checkpoints. Random draws come from the
    global RNG, which the trainer seeds and checkpoints."""

    def __init__(self, capacity: int = 50):
        self.capacity = capacity
        self.images: Tensor | None = None  # (count, C, H, W), detached
        self.count = 0

    def query(self, fakes: Tensor) -> Tensor:
        if self.capacity == 0:
            return fakes
        fakes = fakes.detach()
        if self.images is None:
            self.images = fakes.new_zeros((self.capacity, *fakes.shape[1:]))
        out = fakes.clone()
        for i in range(len(fakes)):  # at most batch-size iterations of cheap tensor ops
            if self.count < self.capacity:
                self.images[self.count] = fakes[i]
                self.count += 1
            elif float(torch.rand(())) < 0.5:
                j = int(torch.randint(0, self.capacity, ()))
                out[i] = self.images[j]
                self.images[j] = fakes[i]
        return out

    def state(self, prefix: str) -> dict[str, Tensor]:
        if self.images is None:
            return {}
        return {f"{prefix}.images": self.images, f"{prefix}.count": torch.tensor(self.count)}

    def load_state(self, state: dict[str, Tensor], prefix: str) -> None:
        if f"{prefix}.images" in state:
            self.images = state[f"{prefix}.images"].clone()
            self.count = int(state[f"{prefix}.count"])
