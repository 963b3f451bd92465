"""GAN: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. https://arxiv.org/abs/1406.2661

Fully connected generator and discriminator, trained with Algorithm 1: ``k`` discriminator steps
per generator step (k = 1 in the paper's experiments), with the original minimax generator loss or
the non-saturating one the paper recommends in practice (Section 3). On images the networks are the
paper's MNIST networks (the authors' pylearn2 configuration): G with two ReLU layers of 1200 units,
D with two maxout layers of 240 units x 5 pieces and dropout (0.2 on the input, 0.5 on hidden
layers). On 2-D points they are the PacGAN ones (Lin et al. 2018, Appendix): G with four ReLU +
batchnorm layers of 400 units, D with three maxout layers of 200 units x 5 pieces.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch
from torch import nn

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo.losses import d_loss_bce, g_loss_minimax, g_loss_nonsaturating
from ganzoo.nets import MLPGenerator, frozen, mlp

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class GANConfig(ganzoo.VariantConfig):
    steps: int = 3000  # demo budget: about 2 minutes on 2 CPU cores
    batch_size: int = 100  # the paper's pylearn2 configuration
    image_size: ganzoo.ImageSize = 28  # images are served at 28x28 and flattened, as MNIST in the paper
    channels: Literal[1, 3] | None = None  # None keeps the dataset's channels
    z_dim: ganzoo.PositiveInt | None = None  # noise dimensions; None: 100 for images (paper), 2 for points (PacGAN)
    g_hidden: tuple[ganzoo.Width, ...] | None = None  # G's hidden layers; None: (1200, 1200) for images, (400,)*4 for points
    d_hidden: tuple[ganzoo.Width, ...] | None = None  # D's maxout layers; None: (240, 240) for images, (200,)*3 for points
    maxout_pieces: ganzoo.PositiveInt = 5  # pieces per maxout unit (paper and PacGAN)
    dropout: ganzoo.UnitFloat | None = None  # D's hidden dropout; None: 0.5 for images (paper), 0 for points (PacGAN)
    input_dropout: ganzoo.UnitFloat | None = None  # D's input dropout; None: 0.2 for images (paper), 0 for points
    k: ganzoo.PositiveInt = 1  # discriminator steps per generator step (Algorithm 1; the paper used k = 1)
    g_loss: Literal["nonsaturating", "minimax"] = "nonsaturating"  # the paper recommends non-saturating in practice
    # The paper trained with SGD + momentum and a hand-tuned decay over hundreds of epochs; Adam with
    # the DCGAN settings reaches the same samples within a CPU budget, as every re-implementation does.
    lr: ganzoo.PositiveFloat = 2e-4  # Adam learning rate, both networks
    beta1: ganzoo.Decay = 0.5  # Adam beta1
    beta2: ganzoo.Decay = 0.999  # Adam beta2
    # Fraction of training after which both lrs decay linearly to 0 (1: constant, as in the paper's
    # Adam-free setup there was a hand-tuned decay instead). On ring8/grid25, 0.5 lets G settle
    # on the modes rather than orbit them: the zoo's mixture models use it.
    decay_from: ganzoo.UnitFloat = 1.0
    # Not in the paper: the R1 penalty (Mescheder et al. 2018, eq. 9) as dcgan's r1, gamma / 2 *
    # E||grad_x D(x)||^2 on each real batch added to D's loss. 0 keeps the paper's unregularised D.
    r1: ganzoo.NonNegativeFloat = 0.0
    # Not in the paper: a disconnected latent of this many equally likely components (DeLiGAN's
    # mixture of Gaussians, Gurumurthy et al. 2017; ganzoo.nets.MLPGenerator), so G need not draw
    # the bridges a connected latent forces between separated modes. 0: the paper's N(0, I).
    latent_components: ganzoo.NonNegativeInt = 0


class GAN(ganzoo.GDVariant):
    name = "gan"
    summary = "The original GAN: MLP generator, maxout discriminator with dropout"
    paper = "Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    cpu_bf16 = True  # bf16 autocast measured faster on CPUs with bf16 units (benchmarks/results/throughput.md)
    Config = GANConfig

    @classmethod
    def data_request(cls, config):
        return ganzoo.DataRequest(kind=None, size=config.image_size, channels=config.channels)

    @classmethod
    def generator_args(cls, config, data):
        points = data.kind == "points"
        return {
            "z_dim": config.z_dim or (2 if points else 100),
            "hidden": list(config.g_hidden or ((400,) * 4 if points else (1200, 1200))),
            "shape": list(data.shape),
            "batchnorm": points,  # PacGAN's 2-D G has batchnorm; the paper's MNIST G has none
            "tanh": not points,  # images in [-1, 1]; points are unbounded
            **({"components": config.latent_components} if config.latent_components else {}),
        }

    @classmethod
    def build_generators(cls, args):
        return {"G": MLPGenerator(**args)}

    def build_training(self):
        cfg, points = self.config, self.data.kind == "points"
        d_hidden = list(cfg.d_hidden or ((200,) * 3 if points else (240, 240)))
        dropout = cfg.dropout if cfg.dropout is not None else (0.0 if points else 0.5)
        input_dropout = cfg.input_dropout if cfg.input_dropout is not None else (0.0 if points else 0.2)
        self.D = nn.Sequential(
            nn.Flatten(),
            mlp([math.prod(self.d_input_shape), *d_hidden, 1], maxout_pieces=cfg.maxout_pieces, dropout=dropout, input_dropout=input_dropout),
        ).to(self.device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def grid(self, n):
        return (max(n, 1000), None) if self.data.kind == "points" else (n, None)

    def train_step(self, batches, step):
        if self.config.decay_from < 1:
            ganzoo.linear_decay((self.opt_g, self.opt_d), self.config.lr, step, self.config.steps, self.config.decay_from)
        logs = {}  # loss_d stays the adversarial part, comparable with unregularised runs
        for _ in range(self.config.k):
            real = batches.next().x
            with torch.no_grad():
                fake = self.fake(len(real))
            d_loss = d_loss_bce(self.D(self.packed(real)), self.D(self.packed(fake)))
            ganzoo.update(self.opt_d, self.with_r1(d_loss, real, self.config.r1, logs))

        g_loss_fn = g_loss_nonsaturating if self.config.g_loss == "nonsaturating" else g_loss_minimax
        with frozen(self.D):
            g_loss = g_loss_fn(self.D(self.packed(self.fake(self.config.batch_size))))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach(), **logs}


@ganzoo.hookimpl
def register_variants(register):
    register(GAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
