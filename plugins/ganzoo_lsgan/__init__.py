"""LSGAN: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017.
https://arxiv.org/abs/1611.04076

The discriminator is a regressor with a least-squares loss (Eq. 2): it pushes real outputs to b
and fake ones to a, while the generator pushes fake outputs to c. Both codings from the paper are
available: a=-1, b=1, c=0 (Eq. 8, where the objective is the Pearson chi^2 divergence) and a=0,
b=c=1 (Eq. 9, the 0-1 coding the paper's experiments use; our default). Networks are the DCGAN
stacks with DCGAN's optimiser settings.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo.losses import d_loss_least_squares, g_loss_least_squares
from ganzoo.nets import DCGANGeneratorHalf, dcgan_discriminator_for, frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)

CODINGS = {"0-1-1": (0.0, 1.0, 1.0), "-1-1-0": (-1.0, 1.0, 0.0)}  # name: (a, b, c)


@dataclasses.dataclass
class LSGANConfig(ganzoo.VariantConfig):
    steps: int = 2500  # demo budget: about 2 minutes on 2 CPU cores
    batch_size: int = 64  # paper, Section 4
    image_size: Literal[32, 64] = 32  # DCGAN-style stacks at 32x32 (digits, MNIST, CIFAR-10) or 64x64
    channels: Literal[1, 3] | None = None  # None takes the dataset's channels
    z_dim: ganzoo.PositiveInt = 100  # noise dimensions (DCGAN)
    g_width: ganzoo.Width = 32  # as dcgan: a quarter of the paper's width keeps the CPU demo in budget
    d_width: ganzoo.Width = 32  # as dcgan
    coding: Literal["0-1-1", "-1-1-0"] = "0-1-1"  # (a, b, c): Eq. 9 (the paper's experiments) or Eq. 8
    lr: ganzoo.PositiveFloat = 2e-4  # Adam learning rate (paper, Section 4)
    beta1: ganzoo.Decay = 0.5  # Adam beta1 (paper, Section 4)
    beta2: ganzoo.Decay = 0.999  # Adam beta2
    # Not in the paper: R1 on D as dcgan's r1 (gamma / 2 * E||grad_x D(x)||^2 on real batches); 0: none.
    r1: ganzoo.NonNegativeFloat = 0.0


class LSGAN(DCGANGeneratorHalf, ganzoo.GDVariant):
    name = "lsgan"
    summary = "Least-squares GAN: D regresses to codes a/b, G to c, on DCGAN stacks"
    paper = "Mao et al. 2017, https://arxiv.org/abs/1611.04076"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    cpu_bf16 = True  # bf16 autocast measured faster on CPUs with bf16 units (benchmarks/results/throughput.md)
    Config = LSGANConfig
    spatial_noise = True

    def build_training(self):
        cfg = self.config
        self.D = dcgan_discriminator_for(self, cfg.d_width)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)
        self.a, self.b, self.c = CODINGS[cfg.coding]

    def train_step(self, batches, step):
        real = batches.next().x
        fake = self.fake(len(real))
        d_loss = d_loss_least_squares(self.D(self.packed(real)), self.D(self.packed(fake.detach())), self.a, self.b)
        logs = {}
        ganzoo.update(self.opt_d, self.with_r1(d_loss, real, self.config.r1, logs))
        with frozen(self.D):
            g_loss = g_loss_least_squares(self.D(self.packed(fake)), self.c)
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(), **logs}


@ganzoo.hookimpl
def register_variants(register):
    register(LSGAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
