"""R3GAN: Huang, Gokaslan, Kuleshov & Tompkin, "The GAN is dead; long live the GAN! A Modern GAN
Baseline", NeurIPS 2024. https://arxiv.org/abs/2501.05441

What makes it modern is the loss, not tricks: the relativistic pairing loss (RpGAN, each real
judged against one fake) with zero-centred gradient penalties on real (R1) and on fake (R2) data,
which the paper proves gives local convergence where RpGAN or R1 alone does not. With that loss
stable, the architecture drops StyleGAN's crutches (no normalisation, no mapping network, no
minibatch-std) for a plain ResNet in the ConvNeXt manner (Section 4, config E): residual blocks of
1x1 expand -> grouped 3x3 -> 1x1 compress with inverted bottlenecks, leaky ReLU with a learned
bias, bilinear resampling around 1x1 transition convolutions, a learned 4x4 basis in G and a
depthwise 4x4 one in D, and fix-up initialisation (each branch's last layer starts at zero, the
others scaled by L^(-1/4)). G is averaged by EMA for sampling. With an MLP backbone of the same
residual form it also trains on 2-D points.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.losses import d_loss_relativistic, g_loss_relativistic, r1_penalty, r2_penalty
from ganzoo.nets import frozen
from ganzoo.pretrained import register_shipped

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)

@dataclasses.dataclass
class R3GANConfig(ganzoo.VariantConfig):
    steps: int = 800  # demo budget: under 3 minutes on 2 CPU cores (R1 and R2 cost a double backward each step)
    # The paper trains CIFAR-10 with batches of 512 for 200 M images; 64 keeps a step cheap on a CPU.
    batch_size: int = 64
    # 16 by default, for the CPU demo: the embedded digits are 8x8, and each stage of residual blocks
    # at 32x32 (with R1 and R2's double backward) costs more than DCGAN's whole step. 32 is CIFAR-10's.
    image_size: Literal[16, 32, 64, 128] = 16  # 64 and 128 for folders of photos (`ganzoo prepare` them first)
    channels: Literal[1, 3] | None = None  # None takes the dataset's
    backbone: Literal["auto", "conv", "mlp"] = "auto"  # auto: conv for images, mlp for 2-D points
    z_dim: ganzoo.PositiveInt = 64  # noise dimensions (the paper: 64 for CIFAR-10, with no mapping network)
    # The paper's CIFAR-10 G has stages of 768 channels (config E); at a CPU's budget the widths halve
    # with each doubling of resolution, from `width` at 4x4 down to `min_width`, keeping every layer
    # type and the block structure. G and D mirror each other.
    width: ganzoo.Width = 64  # channels of the 4x4 stage
    min_width: ganzoo.Width = 16  # channels of the stages at the highest resolutions
    group_size: ganzoo.PositiveInt = 16  # channels per group of the 3x3 convolutions (paper: 16... 96 by width)
    expansion: ganzoo.PositiveInt = 2  # inverted bottleneck: the block's inner width is this times the stage's (paper: 2)
    blocks: ganzoo.PositiveInt = 1  # residual blocks per stage (paper: 2 for CIFAR-10)
    # R1 and R2 each weigh gamma / 2 (eq. 3). The paper tunes gamma per dataset; its CIFAR-10 value,
    # 0.05, is for 50,000 images: on the 1,797 embedded digits 1 scores FID 154 +- 13 at 3,000 steps
    # where 0.05 scored 248 (benchmarks/results/quality.md, r3gan-fid).
    gamma: ganzoo.NonNegativeFloat = 1.0
    # Adam learning rate, both networks. The paper's 2e-4 is for batches of 512 over 200 M images (with
    # cosine decay); at batches of 64 and a CPU's 10^5 images it learns too slowly: on digits, at 3,000
    # steps with gamma 1, 1e-3 scores FID 33.8 +- 3.6 over 3 seeds where 2e-4 scores 154 +- 13 (quality.md, r3gan-fid).
    lr: ganzoo.PositiveFloat = 1e-3
    # Adam (beta1, beta2) = (0, 0.99) in the paper. Its cosine schedules of lr, gamma and beta2 over
    # tens of millions of images are left out: at 10^5 images they would barely move.
    beta1: ganzoo.Decay = 0.0
    beta2: ganzoo.Decay = 0.99


class R3Module(nn.Module):
    """What every R3GAN module shares, kept on a class so the model card's torch-only code (which
    shows classes) is complete: the activation's gain, the variance-scaling init, resampling."""

    GAIN = math.sqrt(2 / (1 + 0.2**2))  # leaky ReLU(0.2)'s variance-preserving gain

    @staticmethod
    def init_(layer: nn.Module, gain: float) -> nn.Module:
        """Weights from N(0, gain^2 / fan_in); gain 0 is fix-up's zero start."""
        fan_in = layer.weight[0].numel()
        with torch.no_grad():
            layer.weight.normal_(0, gain / math.sqrt(fan_in)) if gain else layer.weight.zero_()
        return layer

    @staticmethod
    def resample(x: torch.Tensor, factor: float) -> torch.Tensor:
        """Bilinear resampling, antialiased when going down (the paper's [1, 2, 1] filters' role);
        computed in float32, since CPU kernels have no half-precision antialiasing."""
        y = F.interpolate(x.float(), scale_factor=factor, mode="bilinear", align_corners=False, antialias=factor < 1)
        return y.to(x.dtype)

    @staticmethod
    def stage_widths(size: int, width: int, min_width: int) -> list[int]:
        """Channels of each stage, 4x4 first, up to size x size: halving per stage, at least min_width."""
        return [max(min_width, width >> i) for i in range(int(math.log2(size)) - 1)]


class BiasedLeakyReLU(R3Module):
    """Leaky ReLU(0.2) with a learned bias per channel, the paper's only nonlinearity."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        return F.leaky_relu(x + self.bias.view(shape), 0.2)


class ResidualBlock(R3Module):
    """x + compress(act(grouped 3x3(act(expand(x))))) (the paper's Fig. 4); ``conv=False`` is the
    same with linear layers, for points. ``depth``: blocks in the network, for fix-up scaling."""

    def __init__(self, channels: int, expansion: int, groups: int, depth: int, conv: bool = True):
        super().__init__()
        inner = channels * expansion
        gain = self.GAIN * depth ** (-1 / 4)  # L^(-1 / (2m - 2)) with m = 3 layers per branch
        if conv:
            self.expand = self.init_(nn.Conv2d(channels, inner, 1, bias=False), gain)
            self.mix = self.init_(nn.Conv2d(inner, inner, 3, padding=1, groups=groups, bias=False), gain)
            self.compress = self.init_(nn.Conv2d(inner, channels, 1, bias=False), 0)
        else:
            self.expand = self.init_(nn.Linear(channels, inner, bias=False), gain)
            self.mix = self.init_(nn.Linear(inner, inner, bias=False), gain)
            self.compress = self.init_(nn.Linear(inner, channels, bias=False), 0)
        self.act1, self.act2 = BiasedLeakyReLU(inner), BiasedLeakyReLU(inner)

    def forward(self, x):
        return x + self.compress(self.act2(self.mix(self.act1(self.expand(x)))))


class Transition(R3Module):
    """Between stages: a 1x1 convolution to the next stage's width, at the lower of the two
    resolutions (before a 2x upsampling in G, after a 2x downsampling in D), as the paper's."""

    def __init__(self, cin: int, cout: int, up: bool):
        super().__init__()
        self.up = up
        self.conv = self.init_(nn.Conv2d(cin, cout, 1, bias=False), 1.0) if cin != cout else nn.Identity()

    def forward(self, x):
        return self.resample(self.conv(x), 2) if self.up else self.conv(self.resample(x, 0.5))


class R3Generator(R3Module):
    """z (B, z_dim) -> image (B, C, size, size) in [-1, 1]: a learned 4x4 basis modulated by a linear
    map of z, then stages of residual blocks joined by transitions (1x1 convolution, bilinear 2x
    upsampling), and a 1x1 convolution to the image's channels. Plain torch: the model card shows
    this class."""

    def __init__(self, z_dim: int, channels: int, size: int, width: int, min_width: int, group_size: int, expansion: int, blocks: int):
        super().__init__()
        widths = self.stage_widths(size, width, min_width)
        depth = blocks * len(widths)
        self.basis = nn.Parameter(torch.randn(widths[0], 4, 4))
        self.modulation = self.init_(nn.Linear(z_dim, widths[0], bias=False), 1.0)
        self.stages = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(w, expansion, max(1, w * expansion // group_size), depth) for _ in range(blocks))) for w in widths
        )
        self.transitions = nn.ModuleList(Transition(a, b, up=True) for a, b in zip(widths, widths[1:]))
        self.to_image = self.init_(nn.Conv2d(widths[-1], channels, 1), 1.0)

    def forward(self, z):
        x = self.basis.unsqueeze(0) * self.modulation(z.flatten(1)).view(z.shape[0], -1, 1, 1)
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.transitions[i - 1](x))
        return torch.tanh(self.to_image(x))


class R3Discriminator(R3Module):
    """image -> logit: a 1x1 convolution from the image, stages of residual blocks joined by
    transitions (bilinear 2x downsampling, 1x1 convolution), a depthwise 4x4 basis and a linear
    read-out: the generator mirrored."""

    def __init__(self, channels: int, size: int, width: int, min_width: int, group_size: int, expansion: int, blocks: int):
        super().__init__()
        widths = self.stage_widths(size, width, min_width)[::-1]  # highest resolution first
        depth = blocks * len(widths)
        self.from_image = self.init_(nn.Conv2d(channels, widths[0], 1), self.GAIN)
        self.act = BiasedLeakyReLU(widths[0])
        self.stages = nn.ModuleList(
            nn.Sequential(*(ResidualBlock(w, expansion, max(1, w * expansion // group_size), depth) for _ in range(blocks))) for w in widths
        )
        self.transitions = nn.ModuleList(Transition(a, b, up=False) for a, b in zip(widths, widths[1:]))
        self.basis = self.init_(nn.Conv2d(widths[-1], widths[-1], 4, groups=widths[-1], bias=False), 1.0)
        self.out = self.init_(nn.Linear(widths[-1], 1), 1.0)

    def forward(self, x):
        x = self.act(self.from_image(x))
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.transitions[i - 1](x))
        return self.out(self.basis(x).flatten(1)).squeeze(1)


class R3MLP(R3Module):
    """The residual form for vectors: linear in, residual MLP blocks, linear out (tanh-free: 2-D
    points are unbounded). D maps points to a logit; R3PointGenerator maps z to points."""

    def __init__(self, inputs: int, outputs: int, width: int, expansion: int, blocks: int):
        super().__init__()
        self.inp = self.init_(nn.Linear(inputs, width), self.GAIN)
        self.act = BiasedLeakyReLU(width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, expansion, 1, blocks, conv=False) for _ in range(blocks)))
        self.out = self.init_(nn.Linear(width, outputs), 1.0)

    def forward(self, x):
        return self.out(self.blocks(self.act(self.inp(x.flatten(1)))))


class R3PointGenerator(R3MLP):
    """z (B, z_dim) -> points (B, dim)."""

    def __init__(self, z_dim: int, dim: int, width: int, expansion: int, blocks: int):
        super().__init__(z_dim, dim, width, expansion, blocks)


class R3GAN(ganzoo.GDVariant):
    name = "r3gan"
    summary = "Modern baseline: relativistic pairing loss with R1 + R2, normalisation-free ResNet, EMA"
    paper = "Huang, Gokaslan, Kuleshov & Tompkin 2024, https://arxiv.org/abs/2501.05441"
    task = ganzoo.Task.UNCONDITIONAL
    default_dataset = "digits"
    Config = R3GANConfig
    train_defaults = {"ema": True, "ema_decay": 0.999}  # the paper samples from an EMA of G

    @classmethod
    def data_request(cls, config):
        kind = {"conv": "image", "mlp": "points"}.get(config.backbone)
        return ganzoo.DataRequest(kind=kind, size=config.image_size, channels=config.channels)

    @classmethod
    def generator_args(cls, config, data):
        if data.kind == "points":  # R3PointGenerator's arguments
            return {"z_dim": config.z_dim, "dim": data.shape[0], "width": config.width, "expansion": config.expansion, "blocks": config.blocks}
        return {"z_dim": config.z_dim, "channels": data.shape[0], "size": data.shape[1], "width": config.width,
                "min_width": config.min_width, "group_size": config.group_size, "expansion": config.expansion, "blocks": config.blocks}

    @classmethod
    def build_generators(cls, args):
        return {"G": R3PointGenerator(**args) if "dim" in args else R3Generator(**args)}

    def build_training(self):
        cfg, a = self.config, self.args
        if "dim" in a:
            self.D = R3MLP(math.prod(self.d_input_shape), 1, cfg.width, cfg.expansion, cfg.blocks).to(self.device)
        else:
            self.D = R3Discriminator(self.d_input_shape[0], a["size"], cfg.width, cfg.min_width, cfg.group_size, cfg.expansion,
                                     cfg.blocks).to(self.device)
        betas = (cfg.beta1, cfg.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=betas)

    def grid(self, n):
        return (max(n, 1000), None) if self.data.kind == "points" else (n, None)

    def _d(self, x):
        return self.D(self.packed(x)).reshape(-1)

    def train_step(self, batches, step):
        cfg = self.config
        real = batches.next().x
        with torch.no_grad():
            fake = self.fake(len(real))
        d_real, d_fake = self._d(real), self._d(fake)
        adversarial = d_loss_relativistic(d_real, d_fake)
        penalty = r1_penalty(self._d, real) + r2_penalty(self._d, fake) if cfg.gamma else adversarial.new_zeros(())
        ganzoo.update(self.opt_d, adversarial + cfg.gamma / 2 * penalty)  # eq. 3: L + gamma/2 R1 + gamma/2 R2
        with frozen(self.D):
            fake = self.fake(len(real))
            g_loss = g_loss_relativistic(self._d(real), self._d(fake))
        ganzoo.update(self.opt_g, g_loss)
        return {"loss_d": adversarial.detach(), "loss_g": g_loss.detach(), "r1_r2": penalty.detach()}


@ganzoo.hookimpl
def register_variants(register):
    register(R3GAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)
