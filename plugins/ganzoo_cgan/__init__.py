"""CGAN: Mirza & Osindero, "Conditional Generative Adversarial Nets", 2014. https://arxiv.org/abs/1411.1784

Generator and discriminator both receive the class label. The paper's MNIST networks (Section
4.1): G maps z (100 dims) to 200 ReLU units and the one-hot label to 1000 ReLU units, joins them
into 1200 ReLU units and outputs the image; D maps the image to a maxout layer of 240 units x 5
pieces and the label to one of 50 units x 5 pieces, joins them into a maxout layer of 240 units x
4 pieces, with dropout 0.5, and outputs one logit; the MLPs also train on labelled 2-D points
(ring8, grid25), conditioned on the mode. ``arch = "conv"`` swaps in the DCGAN stacks
with the label as extra input: concatenated to z for G, as one-hot planes beside the image for D.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo.losses import d_loss_bce, g_loss_nonsaturating
from ganzoo.nets import DCGANGenerator, Dense, Maxout, dcgan_discriminator, frozen, init_dcgan_

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class CGANConfig(ganzoo.VariantConfig):
    steps: int = 3000  # demo budget: about 2 minutes on 2 CPU cores
    batch_size: int = 100  # the paper's MNIST setup
    arch: Literal["mlp", "conv"] = "mlp"  # the paper's MLPs, or DCGAN stacks conditioned on the label
    image_size: ganzoo.ImageSize = 28  # 28x28 as MNIST in the paper (the conv arch needs 32 or 64)
    channels: Literal[1, 3] | None = None  # None keeps the dataset's channels
    z_dim: ganzoo.PositiveInt = 100  # noise dimensions (paper)
    dropout: ganzoo.UnitFloat = 0.5  # D's dropout (paper)
    width: ganzoo.Width = 32  # conv arch only: channels of G's last / D's first layer (as dcgan)
    # The paper used SGD with momentum and a decay schedule; Adam with DCGAN's settings gets there
    # within the CPU budget.
    lr: ganzoo.PositiveFloat = 2e-4  # Adam learning rate, both networks
    beta1: ganzoo.Decay = 0.5  # Adam beta1
    beta2: ganzoo.Decay = 0.999  # Adam beta2


class ConditionalMLPGenerator(nn.Module):
    """(z, y) -> sample of class y: the paper's G (Section 4.1). z goes to 200 ReLU units, the
    one-hot label to 1000, both join in 1200 ReLU units and a linear output (tanh for images).
    ``y`` is a class index (B,). Plain torch."""

    def __init__(self, z_dim: int, num_classes: int, shape: list[int], tanh: bool = True):
        super().__init__()
        self.z_dim, self.num_classes, self.shape, self.tanh = z_dim, num_classes, tuple(shape), tanh
        self.noise = Dense(z_dim, 200)
        self.label = Dense(num_classes, 1000)
        self.hidden = Dense(1200, 1200)
        self.out = nn.Linear(1200, math.prod(shape))

    def forward(self, z, y):
        onehot = F.one_hot(y, self.num_classes).to(z.dtype)
        x = self.out(self.hidden(torch.cat([self.noise(z), self.label(onehot)], dim=1)))
        return (torch.tanh(x) if self.tanh else x).view(len(z), *self.shape)


class ConditionalDCGANGenerator(DCGANGenerator):
    """(z, y) -> image of class y: DCGAN's G fed z concatenated with the one-hot label. Plain torch."""

    def __init__(self, z_dim: int, num_classes: int, channels: int, size: int, width: int):
        super().__init__(z_dim + num_classes, channels, size, width)
        self.z_dim, self.num_classes = z_dim, num_classes

    def forward(self, z, y):
        onehot = F.one_hot(y, self.num_classes).to(z.dtype)
        return super().forward(torch.cat([z.flatten(1), onehot], dim=1))


class MLPDiscriminator(nn.Module):
    def __init__(self, features: int, label_features: int, dropout: float):
        super().__init__()
        self.x = nn.Sequential(nn.Flatten(), Maxout(features, 240, 5), nn.Dropout(dropout))
        self.y = nn.Sequential(Maxout(label_features, 50, 5), nn.Dropout(dropout))
        self.out = nn.Sequential(Maxout(290, 240, 4), nn.Dropout(dropout), nn.Linear(240, 1))

    def forward(self, x, y_onehot):
        return self.out(torch.cat([self.x(x), self.y(y_onehot)], dim=1))


class CGAN(ganzoo.GDVariant):
    name = "cgan"
    summary = "Conditional GAN: G and D see the class label; sample any digit on demand"
    paper = "Mirza & Osindero 2014, https://arxiv.org/abs/1411.1784"
    task = ganzoo.Task.CONDITIONAL
    default_dataset = "digits"
    cpu_bf16 = True  # bf16 autocast measured faster on CPUs with bf16 units (benchmarks/results/throughput.md)
    Config = CGANConfig

    @classmethod
    def data_request(cls, config):
        # The MLPs also take labelled 2-D points (ring8/grid25, conditioned on the mode).
        kind = None if config.arch == "mlp" else "image"
        return ganzoo.DataRequest(kind=kind, size=config.image_size, channels=config.channels, labels=True)

    @classmethod
    def check_data(cls, config, data):
        super().check_data(config, data)
        size = data.shape[-1]
        if config.arch == "conv" and data.kind == "image" and (size < 8 or size & (size - 1)):
            raise ganzoo.GanzooError(f"cgan with arch=conv needs image_size 32 or 64 (a power of two), got {size}")

    format1_module_order = ("z", "y", "out")  # 0.1's MLP generator: noise branch, label branch, joint layers

    @classmethod
    def generator_args(cls, config, data):
        if config.arch == "mlp":
            return {"z_dim": config.z_dim, "num_classes": data.num_classes, "shape": list(data.shape),
                    "tanh": data.kind != "points"}
        return {"z_dim": config.z_dim, "num_classes": data.num_classes, "channels": data.shape[0],
                "size": data.shape[-1], "width": config.width}

    @classmethod
    def build_generators(cls, args):
        if "shape" in args:  # arch=mlp; the conv generator takes channels/size/width instead
            return {"G": ConditionalMLPGenerator(**args)}
        return {"G": init_dcgan_(ConditionalDCGANGenerator(**args))}

    def build_training(self):
        cfg = self.config
        shape = self.data.shape
        if cfg.arch == "mlp":
            self.D = MLPDiscriminator(math.prod(self.d_input_shape), self.num_classes * self.pack, cfg.dropout).to(self.device)
        else:
            self.D = init_dcgan_(dcgan_discriminator((shape[0] + self.num_classes) * self.pack, shape[-1], cfg.width)).to(self.device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    @property
    def num_classes(self) -> int:
        return int(self.args["num_classes"])

    def input_spec(self):
        return {**super().input_spec(),
                "y": {"shape": [], "dtype": "int64", "range": [0, self.num_classes - 1], "meaning": "class index; io.id2label names it"}}

    def grid(self, n):
        if self.data.kind == "points":
            n = max(n, 1000)
        per_class = max(1, n // self.num_classes)
        return per_class * self.num_classes, per_class  # one row per class

    def _onehot(self, y):
        return F.one_hot(y, self.num_classes).float()

    def _d(self, x, y):
        onehot = self._onehot(y)
        if self.config.arch == "mlp":
            return self.D(self.packed(x), self.packed(onehot))
        planes = onehot[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        return self.D(self.packed(torch.cat([x, planes], dim=1)))

    def generate(self, z, y):
        return self.G(z, y)

    def train_step(self, batches, step):
        batch = batches.next()
        real, y = batch.x, batch.y
        fake = self.generate(self.noise(len(real), self.z_dim), y)
        d_loss = d_loss_bce(self._d(real, y), self._d(fake.detach(), y))
        ganzoo.update(self.opt_d, d_loss)
        with frozen(self.D):
            g_loss = g_loss_nonsaturating(self._d(fake, y))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach()}

    def sample_inputs(self, n, rng, labels=None):
        if labels is None:  # classes in contiguous blocks: row i of the grid is class i
            labels = torch.arange(n) * self.num_classes // n
        return {"z": self.noise(n, self.z_dim, rng), "y": torch.as_tensor(labels).long().to(self.device)}


@ganzoo.hookimpl
def register_variants(register):
    register(CGAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
