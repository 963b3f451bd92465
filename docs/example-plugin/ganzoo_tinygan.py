"""tinygan: a fully connected GAN on flattened images, as small as a complete ganzoo variant gets.

Architecture and losses follow Goodfellow et al. 2014 (https://arxiv.org/abs/1406.2661) in spirit,
with ReLU/LeakyReLU MLPs instead of maxout, to keep the example short.
"""

import dataclasses
import math

import torch
from torch import nn

import ganzoo
from ganzoo.losses import d_loss_bce, g_loss_nonsaturating
from ganzoo.nets import frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class TinyGANConfig(ganzoo.VariantConfig):
    steps: int = 500  # demo budget (VariantConfig's range, >= 1, still applies)
    batch_size: int = 64  # real images per step
    image_size: ganzoo.ImageSize = 16  # images are served at image_size x image_size
    z_dim: ganzoo.PositiveInt = 32  # noise dimensions
    hidden: ganzoo.Width = 256  # units in each hidden layer
    lr: ganzoo.PositiveFloat = 2e-4  # Adam learning rate for both networks


class TinyGenerator(nn.Module):
    """z (B, z_dim) -> image (B, *shape) in [-1, 1]. Plain torch: the model card shows this class
    to users who run the export without ganzoo."""

    def __init__(self, z_dim: int, hidden: int, shape: list[int]):
        super().__init__()
        self.shape = tuple(shape)
        self.hidden = nn.Linear(z_dim, hidden)
        self.out = nn.Linear(hidden, math.prod(shape))

    def forward(self, z):
        return torch.tanh(self.out(torch.relu(self.hidden(z)))).view(len(z), *self.shape)


class TinyGAN(ganzoo.Variant):
    name = "tinygan"
    summary = "Fully connected GAN on flattened images (example plugin)"
    paper = "Goodfellow et al. 2014, https://arxiv.org/abs/1406.2661"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    Config = TinyGANConfig
    generator_names = ("G",)  # the attribute holding the generator; its tensors export as "G.*"

    # -- the generator half: all that ganzoo.load builds ----------------------------------------

    @classmethod
    def generator_args(cls, config, data):
        # data.shape is the shape of one sample, e.g. (1, 16, 16)
        return {"z_dim": config.z_dim, "hidden": config.hidden, "shape": list(data.shape)}

    @classmethod
    def build_generators(cls, args):
        return {"G": TinyGenerator(**args)}

    def input_spec(self):
        return {"z": {"shape": [self.args["z_dim"]], "dtype": "float32", "distribution": "normal", "mean": 0.0, "std": 1.0}}

    def sample_inputs(self, n, rng, labels=None):
        self.reject_labels(labels)
        return {"z": self.noise(n, self.args["z_dim"], rng)}

    def generate(self, z):
        return self.G(z)

    # -- the training half ----------------------------------------------------------------------

    def build_training(self):
        cfg = self.config
        # D is built for d_input_shape and fed packed(x), so `--set pack=2` (PacGAN) works too.
        self.D = nn.Sequential(
            nn.Flatten(), nn.Linear(math.prod(self.d_input_shape), cfg.hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.hidden, 1),
        ).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=(0.5, 0.999))

    def networks(self):
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self):
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def train_step(self, batches, step):
        real = batches.next().x  # images in [-1, 1] on self.device
        fake = self.G(self.noise(len(real), self.config.z_dim))
        d_loss = d_loss_bce(self.D(self.packed(real)), self.D(self.packed(fake.detach())))
        ganzoo.update(self.opt_d, d_loss)  # zero_grad, backward, step: with loss scaling under fp16
        with frozen(self.D):  # no weight gradients for D during G's step
            g_loss = g_loss_nonsaturating(self.D(self.packed(fake)))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": d_loss.detach(), "loss_g": g_loss.detach()}


@ganzoo.hookimpl
def register_variants(register):
    register(TinyGAN)
