"""WGAN and WGAN-GP, two registered names on one implementation.

- ``wgan``: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017. https://arxiv.org/abs/1701.07875
  Algorithm 1: a critic without sigmoid trained n_critic = 5 times per generator step, weights
  clipped to [-c, c] with c = 0.01, RMSProp with lr 5e-5, batch 64; DCGAN stacks (with batchnorm).
- ``wgan-gp``: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017.
  https://arxiv.org/abs/1704.00028 Algorithm 1: clipping replaced by a gradient penalty with
  lambda = 10 at random interpolates, Adam with lr 1e-4 and betas (0, 0.9), n_critic = 5, and no
  batchnorm in the critic (Section 4: the penalty is per sample, batchnorm couples the samples).

The reference code's extra critic iterations early in training (100 per generator step for the
first 25 steps) are not in either paper's algorithm and are not used here.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo.losses import d_loss_wasserstein, g_loss_wasserstein, gradient_penalty
from ganzoo.nets import DCGANGeneratorHalf, dcgan_discriminator_for, frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class WGANConfig(ganzoo.VariantConfig):
    steps: int = 3000  # demo budget (generator steps; each has n_critic critic steps): ~2 minutes on 2 CPU cores
    batch_size: int = 64  # WGAN Algorithm 1 (m = 64)
    # DCGAN stacks at 16x16, 32x32 or 64x64. 16 by default: the embedded digits are 8x8, and with
    # 5 critic steps per generator step (and RMSProp at 5e-5) 32x32 does not reach recognisable
    # digits within the 3-minute CPU demo. Use --set image_size=32 or 64 for MNIST or photos.
    image_size: Literal[16, 32, 64] = 16
    channels: Literal[1, 3] | None = None  # None takes the dataset's channels
    z_dim: ganzoo.PositiveInt = 100  # noise dimensions (DCGAN)
    g_width: ganzoo.Width = 32  # as dcgan: a quarter of the paper's width keeps the CPU demo in budget
    d_width: ganzoo.Width = 32  # as dcgan
    n_critic: ganzoo.PositiveInt = 5  # critic steps per generator step (Algorithm 1)
    clip: ganzoo.PositiveFloat = 0.01  # weight clipping c (Algorithm 1)
    lr: ganzoo.PositiveFloat = 5e-5  # RMSProp learning rate (Algorithm 1)


@dataclasses.dataclass
class WGANGPConfig(ganzoo.VariantConfig):
    steps: int = 1500  # demo budget (generator steps; each has n_critic critic steps): ~2 minutes on 2 CPU cores
    batch_size: int = 64  # WGAN-GP Algorithm 1 (m = 64)
    image_size: Literal[16, 32, 64] = 16  # 16 by default for the CPU demo, as in WGANConfig; 32 or 64 for real data
    channels: Literal[1, 3] | None = None  # None takes the dataset's channels
    z_dim: ganzoo.PositiveInt = 100  # noise dimensions (DCGAN)
    g_width: ganzoo.Width = 32  # as dcgan: a quarter of the paper's width keeps the CPU demo in budget
    d_width: ganzoo.Width = 32  # as dcgan
    n_critic: ganzoo.PositiveInt = 5  # critic steps per generator step (Algorithm 1)
    gp_lambda: ganzoo.NonNegativeFloat = 10.0  # gradient penalty weight (Algorithm 1)
    critic_norm: Literal["none", "layer"] = "none"  # no batchnorm in the critic; the paper suggests layer norm as a drop-in
    lr: ganzoo.PositiveFloat = 1e-4  # Adam learning rate (Algorithm 1)
    beta1: ganzoo.Decay = 0.0  # Adam beta1 (Algorithm 1)
    beta2: ganzoo.Decay = 0.9  # Adam beta2 (Algorithm 1)


class WGAN(DCGANGeneratorHalf, ganzoo.GDVariant):
    name = "wgan"
    summary = "Wasserstein GAN: critic with weight clipping, RMSProp, n_critic = 5"
    paper = "Arjovsky, Chintala & Bottou 2017, https://arxiv.org/abs/1701.07875"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    Config = WGANConfig
    spatial_noise = True

    def critic_norm(self) -> str:
        return "batch"

    def make_optimizer(self, params):
        return torch.optim.RMSprop(params, lr=self.config.lr)

    def build_training(self):
        cfg = self.config
        self.D = dcgan_discriminator_for(self, cfg.d_width, norm=self.critic_norm())
        self.opt_g = self.make_optimizer(self.G.parameters())
        self.opt_d = self.make_optimizer(self.D.parameters())

    def critic_loss(self, real, fake):
        """The critic's loss for one step, and the extra terms to log."""
        return d_loss_wasserstein(self.D(self.packed(real)), self.D(self.packed(fake))), {}

    def after_critic_step(self):
        with torch.no_grad():
            for p in self.D.parameters():
                p.clamp_(-self.config.clip, self.config.clip)

    def train_step(self, batches, step):
        for _ in range(self.config.n_critic):
            real = batches.next().x
            with torch.no_grad():
                fake = self.fake(len(real))
            d_loss, extra = self.critic_loss(real, fake)
            ganzoo.update(self.opt_d, d_loss)
            self.after_critic_step()

        with frozen(self.D):
            g_loss = g_loss_wasserstein(self.D(self.packed(self.fake(self.config.batch_size))))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(), **extra}


class WGANGP(WGAN):
    name = "wgan-gp"
    summary = "WGAN with gradient penalty: no clipping, no batchnorm in the critic, Adam"
    paper = "Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028"
    Config = WGANGPConfig

    def critic_norm(self) -> str:
        return self.config.critic_norm

    def make_optimizer(self, params):
        return torch.optim.Adam(params, lr=self.config.lr, betas=(self.config.beta1, self.config.beta2))

    def critic_loss(self, real, fake):
        real, fake = self.packed(real), self.packed(fake)  # with packing, the penalty is per packed input
        wasserstein = d_loss_wasserstein(self.D(real), self.D(fake))
        penalty = gradient_penalty(self.D, real, fake)
        return wasserstein + self.config.gp_lambda * penalty, {"loss_gp": penalty.detach()}

    def after_critic_step(self):
        pass


@ganzoo.hookimpl
def register_variants(register):
    register(WGAN)
    register(WGANGP)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
