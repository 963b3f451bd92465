"""SRGAN: Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
Network", CVPR 2017. https://arxiv.org/abs/1609.04802

x4 super-resolution. The generator is SRResNet (Fig. 4): a 9x9 conv + PReLU, B residual blocks
(conv-BN-PReLU-conv-BN with a skip), conv-BN with a global skip, two conv + PixelShuffle(2) + PReLU
stages, a 9x9 conv. The discriminator is the paper's VGG-style network: eight 3x3 convs with
BN + LeakyReLU(0.2), alternately stride 1 and 2 with channels 64 -> 512, then Dense(1024),
LeakyReLU, Dense(1). Training as in the paper: first SRResNet alone on pixel MSE (``pretrain_steps``),
then SRGAN from those weights with content loss + 1e-3 x adversarial loss. Content loss is VGG54
(the paper's choice: MSE of VGG19 conv5_4 features scaled by 1/12.75) when VGG19's ImageNet weights
can be loaded, else pixel MSE (the paper's "SRGAN-MSE"); the config, the run log and the model card
record which. LR inputs are made on the fly from the HR crops by bicubic x1/4 downsampling, the
same function the harness's PSNR/SSIM metric uses (ganzoo.eval.sr).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.pretrained import register_shipped
from ganzoo._weights import RemoteWeights
from ganzoo.errors import DataError, GanzooError
from ganzoo.eval.sr import bicubic_downscale, bicubic_upscale
from ganzoo.losses import d_loss_bce, g_loss_nonsaturating
from ganzoo.nets import frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


log = logging.getLogger(__name__)


@dataclasses.dataclass
class SRGANConfig(ganzoo.VariantConfig):
    steps: int = 1500  # demo budget (SRResNet phase included): about 5 minutes on 2 CPU cores
    batch_size: int = 16  # paper
    hr_size: Annotated[int, ganzoo.Range(ge=16, le=1024)] = 96  # HR crop side (paper); LR crops are hr_size / 4
    # The paper's G has 16 blocks of 64 channels and its D starts at 64 channels: at 96x96 one step
    # of both takes seconds on 2 CPU cores. The demo defaults keep every layer type and halve the
    # widths and depth; --set n_blocks=16 --set g_width=64 --set d_width=64 restores the paper's.
    n_blocks: ganzoo.NonNegativeInt = 4  # residual blocks in SRResNet (paper: 16)
    g_width: ganzoo.Width = 32  # channels of SRResNet (paper: 64)
    d_width: ganzoo.Width = 16  # channels of D's first conv, doubled every second conv (paper: 64)
    # Not in the paper: G adds its output to the bicubic upscaling of its input (VDSR's global
    # residual, Kim et al. 2016), so it starts at bicubic's PSNR and spends a CPU budget of 10^3
    # steps (the paper: 10^6) on the missing detail instead of on re-learning colour and layout.
    bicubic_skip: bool = True  # False: the paper's SRResNet, tanh output learned from scratch
    pretrain_steps: ganzoo.NonNegativeInt = 1000  # SRResNet (MSE) steps before adversarial training (paper: 10^6 of 10^6 + 2x10^5)
    # auto: vgg54 when VGG19's weights are on disk ($GANZOO_VGG19_WEIGHTS or the cache), else mse;
    # vgg54 downloads them once if needed. The resolved choice is what config.json records.
    content: Literal["auto", "vgg54", "mse"] = "auto"
    # Weight of the adversarial loss (paper). With pixel-MSE content (content "mse": no VGG19 weights)
    # 1e-3 draws diagonal hatching on flat areas of the photos, which SRResNet alone does not; the zoo's
    # srgan-photos uses 1e-4, which leaves a trace of it (benchmarks/results/quality.md, srgan).
    adversarial_weight: ganzoo.NonNegativeFloat = 1e-3
    # The paper pretrains at 1e-4 for 10^6 steps; in the demo's 1,000 steps that ends 1.5 dB below
    # bicubic on the held-out photos, 1e-3 ends level with it (measured, benchmarks/results/quality.md).
    pretrain_lr: ganzoo.PositiveFloat = 1e-3  # Adam learning rate of the SRResNet (MSE) phase
    # Not in the paper (constant lr, 10^6 steps): in a short budget the last steps at full lr leave
    # G wherever the noise of its final batches put it; a cosine decay to 0 settles it.
    pretrain_decay: bool = True  # cosine-decay pretrain_lr to 0 over the SRResNet phase
    # Not in the paper, which crops 350,000 ImageNet images: our crop bank is 4,000 crops of 14
    # photos, seen several times over; a random flip / 90-degree rotation per crop (the 8 symmetries
    # of the square, EDSR's augmentation, Lim et al. 2017) makes each one 8 different crops.
    augment: bool = True
    # Not in the paper: ICNR initialisation of the convolutions before each PixelShuffle (Aitken et al.
    # 2017, "Checkerboard artifact free sub-pixel convolution", arXiv:1707.02937): the r^2 sub-pixel
    # phases start as equal copies (nearest-neighbour upsampling) instead of independent kernels. Off
    # by default: the zoo recipe with it (seed 0) kept a regular grid on flat sky where the default
    # init leaves diagonal hatching, and gained less over bicubic (Y +0.76 dB against +0.95, RGB +0.56
    # against +0.73; benchmarks/results/quality.md).
    icnr: bool = False
    lr: ganzoo.PositiveFloat = 1e-4  # Adam learning rate of the adversarial phase (paper)
    beta1: ganzoo.Decay = 0.9  # Adam beta1 (paper)
    lr_drop_at: ganzoo.UnitFloat = 0.5  # fraction of the adversarial phase after which lr drops 10x (paper: 10^5 of 2x10^5)


VGG19 = RemoteWeights(
    what="the VGG19 ImageNet weights",
    url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",  # torchvision's VGG19_Weights.IMAGENET1K_V1
    sha256="dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44",
    env="GANZOO_VGG19_WEIGHTS",
    filename="vgg19-imagenet-features.safetensors",
    keep="features.",
)


def dihedral(x: torch.Tensor) -> torch.Tensor:
    """Each square image of the batch under one of the 8 symmetries of the square (from the global
    RNG, which the trainer seeds): a horizontal flip, a vertical flip and a transpose, each with
    probability 1/2, applied to the whole batch with masks rather than a loop over images."""
    flips = torch.rand(3, x.shape[0], 1, 1, 1, device=x.device) < 0.5
    x = torch.where(flips[0], x.flip(-1), x)
    x = torch.where(flips[1], x.flip(-2), x)
    return torch.where(flips[2], x.transpose(-1, -2), x)


class SRResidual(nn.Module):
    """conv-BN-PReLU-conv-BN with a skip: one residual block of SRResNet (Fig. 4)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1, self.norm1, self.act = nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch), nn.PReLU(ch)
        self.conv2, self.norm2 = nn.Conv2d(ch, ch, 3, padding=1), nn.BatchNorm2d(ch)

    def forward(self, x):
        return x + self.norm2(self.conv2(self.act(self.norm1(self.conv1(x)))))


class Upsample2x(nn.Module):
    """conv to 4x the channels, PixelShuffle(2), PReLU: one x2 stage of SRResNet."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv, self.shuffle, self.act = nn.Conv2d(ch, ch * 4, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(ch)

    def forward(self, x):
        return self.act(self.shuffle(self.conv(x)))


@torch.no_grad()
def icnr_(conv: nn.Conv2d, scale: int = 2) -> None:
    """Initialise ``conv`` (before a PixelShuffle(scale)) so that its scale^2 sub-pixel phases start
    identical (ICNR, Aitken et al. 2017): one kernel per output channel, drawn as PyTorch's default
    init draws a conv's (the same fan-in, so the same scale), repeated for each phase in the order
    PixelShuffle reads them (channel c*scale^2 + phase). The upsampled output then starts free of
    checkerboard patterns: every phase of a pixel sees the same filter."""
    out, fan_in = conv.out_channels // scale**2, conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
    sub = torch.empty(out, *conv.weight.shape[1:])
    nn.init.kaiming_uniform_(sub, a=math.sqrt(5))
    conv.weight.copy_(sub.repeat_interleave(scale**2, dim=0))
    if conv.bias is not None:
        bias = torch.empty(out).uniform_(-1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
        conv.bias.copy_(bias.repeat_interleave(scale**2))


class SRResNet(nn.Module):
    """LR image (B, C, h, w) in [-1, 1] -> (B, C, h*scale, w*scale) (Ledig et al. 2017, Fig. 4): a 9x9
    conv + PReLU, residual blocks, conv-BN with a global skip, log2(scale) x2 PixelShuffle stages,
    a 9x9 conv. With ``bicubic_skip`` the output is added to the bicubic upscaling of the input
    (VDSR's global residual) instead of passing through tanh; clamp it to [-1, 1]. Plain torch."""

    def __init__(self, channels: int, width: int, n_blocks: int, scale: int = 4, bicubic_skip: bool = False):
        super().__init__()
        self.scale, self.bicubic_skip = scale, bicubic_skip
        self.head, self.head_act = nn.Conv2d(channels, width, 9, padding=4), nn.PReLU(width)
        self.blocks = nn.Sequential(*[SRResidual(width) for _ in range(n_blocks)])
        self.trunk, self.trunk_norm = nn.Conv2d(width, width, 3, padding=1), nn.BatchNorm2d(width)
        self.up = nn.Sequential(*[Upsample2x(width) for _ in range(scale.bit_length() - 1)])  # log2(scale) stages
        self.tail = nn.Conv2d(width, channels, 9, padding=4)
        if bicubic_skip:  # start exactly at bicubic upscaling
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, lr):
        h = self.head_act(self.head(lr))
        out = self.tail(self.up(h + self.trunk_norm(self.trunk(self.blocks(h)))))
        if self.bicubic_skip:
            return F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False) + out
        return torch.tanh(out)


def discriminator(channels: int, width: int, hr_size: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.LeakyReLU(0.2, True)]
    ch, side = width, hr_size
    for i in range(7):  # k3n64s2, k3n128s1, k3n128s2, ..., k3n512s2 (Fig. 4)
        stride = 2 if i % 2 == 0 else 1
        out = width * 2 ** ((i + 1) // 2)
        layers += [nn.Conv2d(ch, out, 3, stride=stride, padding=1), nn.BatchNorm2d(out), nn.LeakyReLU(0.2, True)]
        ch, side = out, (side + 1) // 2 if stride == 2 else side
    layers += [nn.Flatten(), nn.Linear(ch * side * side, 1024), nn.LeakyReLU(0.2, True), nn.Linear(1024, 1)]
    return nn.Sequential(*layers)


class VGG54(nn.Module):
    """phi_{5,4}: VGG19 up to the ReLU after conv5_4 (torchvision's features[:36]), frozen; images in
    [-1, 1] are normalised as ImageNet's. Features are scaled by 1/12.75 as in the paper."""

    def __init__(self, state: dict[str, torch.Tensor] | None):
        super().__init__()
        from torchvision.models.vgg import cfgs, make_layers

        # torchvision's vgg19().features, built without vgg19()'s classifier: its 120 M parameters
        # (2 s of random init and 480 MB) would be thrown away.
        self.net = make_layers(cfgs["E"])[:36]
        if state is not None:
            own = {k.removeprefix("features."): v for k, v in state.items()
                   if k.count(".") == 2 and k.split(".")[1].isdigit() and int(k.split(".")[1]) < 36}
            try:
                self.net.load_state_dict(own)
            except RuntimeError as exc:  # a file of another network, or of another VGG
                raise ganzoo.GanzooError(f"the VGG19 weights do not fit VGG19's features ({str(exc).splitlines()[0][:160]}); "
                                         f"give ${VGG19.env} torchvision's vgg19() weights as safetensors") from None
        self.net.requires_grad_(False).eval()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def forward(self, x):
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return self.net(((x + 1) / 2 - self.mean) / self.std) / 12.75

    def train(self, mode: bool = True):  # always in eval mode
        return super().train(False)


class SRGAN(ganzoo.Variant):
    name = "srgan"
    summary = "x4 super-resolution: SRResNet generator pretrained on MSE, then adversarial with VGG54 content loss"
    paper = "Ledig et al. 2017, https://arxiv.org/abs/1609.04802"
    task = ganzoo.Task.SUPER_RESOLUTION
    default_dataset = "photos"
    cpu_bf16 = True  # bf16 autocast measured faster on CPUs with bf16 units (benchmarks/results/throughput.md)
    Config = SRGANConfig
    scale = 4

    @classmethod
    def data_request(cls, config):
        return ganzoo.DataRequest(size=config.hr_size, channels=3, crop=True)

    @classmethod
    def check_data(cls, config, data):
        super().check_data(config, data)
        if config.hr_size % cls.scale:
            raise DataError(f"srgan: hr_size must be a multiple of {cls.scale}, got {config.hr_size}")

    format1_module_order = ("head", "blocks", "up", "tail")  # 0.1's SRResNet, in forward order

    @classmethod
    def generator_args(cls, config, data):
        return {"channels": data.shape[0], "width": config.g_width, "n_blocks": config.n_blocks, "scale": cls.scale,
                "bicubic_skip": config.bicubic_skip}

    @classmethod
    def build_generators(cls, args):
        return {"G": SRResNet(**args)}

    def input_spec(self):
        return {"x": {"shape": [self.data.shape[0], "h", "w"], "dtype": "float32", "range": [-1.0, 1.0],
                      "meaning": f"a low-resolution image, any size; the output is {self.scale}x larger (clamp it to [-1, 1])"}}

    def build_training(self):
        cfg, c = self.config, self.data.shape[0]
        if cfg.icnr:  # an initialisation: a resumed run loads its own weights over it
            for stage in self.G.up:
                icnr_(stage.conv, 2)
        self.D = discriminator(c, cfg.d_width, self.data.shape[-1]).to(self.device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
        self.vgg = None
        if cfg.content == "auto":
            cfg.content = "vgg54" if VGG19.available() else "mse"
            if cfg.content == "mse":
                log.warning("srgan: no VGG19 weights on disk (%s unset, none cached): content loss is pixel MSE "
                            "(the paper's SRGAN-MSE); --set content=vgg54 downloads them once", VGG19.env)
        if cfg.content == "vgg54":
            self.vgg = VGG54(VGG19.load()).to(self.device)

    def networks(self):
        return {"generator": self.G, "discriminator": self.D}

    def optimizers(self):
        return {"generator": self.opt_g, "discriminator": self.opt_d}

    def content_loss(self, sr, hr):
        if self.vgg is None:
            return F.mse_loss(sr, hr)
        return F.mse_loss(self.vgg(sr), self.vgg(hr))

    def lr_at(self, step: int) -> float:
        """SRResNet phase: pretrain_lr, cosine-decayed to 0 if pretrain_decay. Adversarial phase: lr,
        dropped 10x after lr_drop_at of it (the paper's schedule)."""
        cfg = self.config
        if step < cfg.pretrain_steps:
            return cfg.pretrain_lr * (0.5 * (1 + math.cos(math.pi * step / cfg.pretrain_steps)) if cfg.pretrain_decay else 1.0)
        drop = step >= cfg.pretrain_steps + cfg.lr_drop_at * (cfg.steps - cfg.pretrain_steps)
        return cfg.lr * (0.1 if drop else 1.0)

    def train_step(self, batches, step):
        cfg = self.config
        hr = batches.next().x
        if cfg.augment:
            hr = dihedral(hr)
        lr_img = bicubic_downscale(hr, self.scale)
        if step < cfg.pretrain_steps:  # phase 1: SRResNet on pixel MSE
            for group in self.opt_g.param_groups:
                group["lr"] = self.lr_at(step)
            loss = F.mse_loss(self.G(lr_img), hr)
            ganzoo.update(self.opt_g, loss)
            return {"loss_mse": loss.detach()}
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = self.lr_at(step)
        sr = self.G(lr_img)
        loss_d = d_loss_bce(self.D(hr), self.D(sr.detach()))
        ganzoo.update(self.opt_d, loss_d)
        with frozen(self.D):
            content = self.content_loss(sr, hr)
            adversarial = g_loss_nonsaturating(self.D(sr))  # -log D(G(LR)), Eq. 6
            loss_g = content + cfg.adversarial_weight * adversarial
        ganzoo.update(self.opt_g, loss_g)
        return {"loss_content": content.detach(), "loss_adversarial": adversarial.detach(), "loss_d": loss_d.detach()}

    # -- sampling ------------------------------------------------------------------------------

    def upscale(self, x):
        return self.G(x).clamp(-1, 1)

    def sample_inputs(self, n, rng, labels=None):
        raise GanzooError("srgan upscales images rather than sampling noise: use `ganzoo upscale` or model.upscale(images)")

    def grid(self, n):
        k = max(1, n // 3)
        return 3 * k, 3  # each row: bicubic upscaling of the LR input, SRGAN's output, the HR original

    def example_inputs(self, data, n, rng):
        idx = torch.randperm(len(data.x), generator=rng)[: n // 3]
        return {"hr": data.as_model_input(data.x[idx.to(data.x.device)]).to(self.device)}

    def generate(self, hr):
        lr_img = bicubic_downscale(hr, self.scale)
        bicubic = bicubic_upscale(lr_img, self.scale)
        return torch.stack([bicubic, self.G(lr_img).clamp(-1, 1), hr], dim=1).flatten(0, 1)


@ganzoo.hookimpl
def register_variants(register):
    register(SRGAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
