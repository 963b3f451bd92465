"""DCGAN: Radford, Metz & Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016. https://arxiv.org/abs/1511.06434

The paper's architecture guidelines (Section 3): strided convolutions in D and fractionally-strided
ones in G instead of pooling, batchnorm in both except G's output and D's input layers, no fully
connected hidden layers, ReLU in G with tanh at the output, LeakyReLU(0.2) in D. Training (Section
4): weights from N(0, 0.02), Adam with lr 2e-4 and beta1 0.5, mini-batches of 128, z of 100 dims
drawn uniformly in the paper (we draw N(0, 1), as the authors' own later code and every common
re-implementation do; it trains the same and matches the rest of the zoo).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import torch

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo.losses import d_loss_bce, g_loss_nonsaturating
from ganzoo.nets import DCGANGeneratorHalf, dcgan_discriminator_for, frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class DCGANConfig(ganzoo.VariantConfig):
    steps: int = 1500  # demo budget: recognisable digits in about 2 minutes on 2 CPU cores
    batch_size: int = 128  # paper, Section 4
    image_size: Literal[32, 64] = 32  # paper: 64 for LSUN/faces, 32 for CIFAR-10; 32 fits digits/MNIST
    channels: Literal[1, 3] | None = None  # image channels; None takes the dataset's (1 for digits, 3 for CIFAR-10)
    z_dim: ganzoo.PositiveInt = 100  # paper, Section 4
    g_width: ganzoo.Width = 32  # channels of G's last hidden layer (128 at 4x4 for 32x32). The paper's 64x64 G has 128
    # (1024 at 4x4); a quarter of that keeps the offline demo within ~2 minutes on 2 CPU cores and
    # is ample for 8x8 digits upscaled to 32x32. Use --set g_width=128 --set d_width=128 for the paper's width.
    d_width: ganzoo.Width = 32  # channels of D's first layer (mirrors g_width; the paper's D has 128)
    lr: ganzoo.PositiveFloat = 2e-4  # paper: 0.001 was too high
    beta1: ganzoo.Decay = 0.5  # paper: 0.9 oscillated and was unstable
    beta2: ganzoo.Decay = 0.999  # Adam default, unchanged in the paper
    # Not in the paper (a constant lr): a linear decay to 0 from this fraction of the run on
    # (ganzoo.linear_decay, CycleGAN's schedule), so G settles instead of chasing D to the last
    # step. 1.0 keeps the paper's constant rate; the zoo's dcgan-digits recipe uses it.
    decay_from: ganzoo.UnitFloat = 1.0
    # Not in the paper: the R1 penalty (Mescheder et al. 2018, eq. 9), gamma / 2 * E||grad_x D(x)||^2
    # on real batches added to D's loss, which keeps D from growing steep around the training
    # images it memorises on small data. 0 keeps the paper's unregularised D.
    r1: ganzoo.NonNegativeFloat = 0.0
    # Not in the paper: a disconnected latent of this many equally likely components (DeLiGAN's
    # mixture of Gaussians, Gurumurthy et al. 2017; ganzoo.nets.LatentComponents), so G need not
    # draw the half-formed digits a connected latent forces between classes. 0: the paper's N(0, I).
    latent_components: ganzoo.NonNegativeInt = 0


class DCGAN(DCGANGeneratorHalf, ganzoo.GDVariant):
    name = "dcgan"
    summary = "Deep convolutional GAN: strided conv G and D with batchnorm"
    paper = "Radford, Metz & Chintala 2015, https://arxiv.org/abs/1511.06434"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    cpu_bf16 = True  # bf16 autocast measured faster on CPUs with bf16 units (benchmarks/results/throughput.md)
    Config = DCGANConfig
    spatial_noise = True

    def build_training(self) -> None:
        cfg = self.config
        self.D = dcgan_discriminator_for(self, cfg.d_width)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def train_step(self, batches, step):
        if self.config.decay_from < 1:
            ganzoo.linear_decay((self.opt_g, self.opt_d), self.config.lr, step, self.config.steps, self.config.decay_from)
        real = batches.next().x
        fake = self.fake(len(real))
        d_loss = d_loss_bce(self.D(self.packed(real)), self.D(self.packed(fake.detach())))
        logs = {}  # loss_d stays the adversarial part, comparable with unregularised runs
        ganzoo.update(self.opt_d, self.with_r1(d_loss, real, self.config.r1, logs))
        with frozen(self.D):
            g_loss = g_loss_nonsaturating(self.D(self.packed(fake)))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(), **logs}


@ganzoo.hookimpl
def register_variants(register):
    register(DCGAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
