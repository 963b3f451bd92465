"""CycleGAN: Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV 2017. https://arxiv.org/abs/1703.10593

Two generators G: A -> B and F: B -> A (the paper's ResNet generators after Johnson et al. 2016:
c7s1-k, two stride-2 downsamplings, residual blocks, two stride-2 upsamplings, c7s1-C; instance
norm, reflection padding) and two 70x70-style PatchGAN discriminators. Losses as in the paper:
least-squares adversarial loss, cycle consistency weighted lambda = 10, identity loss 0.5 * lambda;
each D sees a history of 50 generated images; Adam lr 2e-4, beta1 0.5, with the learning rate
decayed linearly to zero over the second half of training.

Sizes scale down by config for small images: at 32x32 the paper's 9 blocks of 256 channels see
8x8 feature maps, so the defaults use fewer, narrower blocks and a 3-layer PatchGAN (see Config).
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import nn

import ganzoo
from ganzoo.augment import recolor
from ganzoo.pretrained import register_shipped
from ganzoo.losses import HistoryBuffer, cycle_consistency, d_loss_least_squares, g_loss_least_squares, identity
from ganzoo.errors import ConfigError, DataError
from ganzoo.nets import frozen

GANZOO_PLUGIN_API = 2  # the plugin API this plugin is written against (docs/plugin-api.md)


@dataclasses.dataclass
class CycleGANConfig(ganzoo.VariantConfig):
    steps: int = 2000  # demo budget: about 5 minutes on 2 CPU cores on digits-typeset
    # The paper trains with batch size 1; instance norm makes the batch size irrelevant to the
    # networks, and 16 images per step use a CPU far better.
    batch_size: int = 16
    image_size: ganzoo.ImageSize = 32  # both domains are served at this size
    channels: Literal[1, 3] | None = None  # None keeps the dataset's channels
    # At 32x32 the paper's G (64 channels, 9 blocks: 11 M parameters) takes a second per step on
    # 2 CPU cores; 16 channels and 4 blocks (0.3 M) learn digits->typeset in the demo budget.
    g_width: ganzoo.Width = 16  # channels of G's first layer (paper: 64); the downsampled layers have 2x and 4x
    n_blocks: ganzoo.NonNegativeInt = 4  # residual blocks (paper: 9 at 256x256, 6 at 128x128)
    downsampling: Annotated[int, ganzoo.Range(ge=0, le=6)] = 2  # stride-2 stages before the blocks, and as many upsampling ones after (paper: 2)
    d_width: ganzoo.Width = 32  # channels of D's first layer (paper: 64)
    d_layers: Annotated[int, ganzoo.Range(ge=0, le=6)] = 2  # stride-2 layers of D after the first (paper: 3 -> 70x70 patches; 2 suits 32x32)
    lambda_cycle: ganzoo.NonNegativeFloat = 10.0  # cycle-consistency weight of A->B->A, and of B->A->B unless lambda_cycle_b says otherwise (paper)
    # The official code weights the two cycles apart (--lambda_A, --lambda_B). When B holds detail A
    # cannot (digits-m: the photo behind each digit), B->A->B can only be met by G_ba hiding that
    # detail in its output, which keeps G_ba(b) in B's style; a small lambda_cycle_b lets G_ba drop it.
    lambda_cycle_b: ganzoo.NonNegativeFloat | None = None  # weight of B->A->B (and of G_ab's identity loss, as the official code); None: lambda_cycle
    lambda_identity: ganzoo.NonNegativeFloat = 0.5  # identity weight as a fraction of lambda_cycle (paper: 0.5)
    history: ganzoo.NonNegativeInt = 50  # generated images each discriminator remembers (paper)
    lr: ganzoo.PositiveFloat = 2e-4  # Adam learning rate, all networks (paper)
    beta1: ganzoo.Decay = 0.5  # Adam beta1 (paper)
    beta2: ganzoo.Decay = 0.999  # Adam beta2 (paper)
    decay_from: ganzoo.UnitFloat = 0.5  # fraction of training after which the lr decays linearly to 0 (paper: half)
    # Not in the paper (0 turns each off). Cycle consistency alone lets G hide the input in
    # invisible detail and draw any plausible image (Chu et al. 2017, "CycleGAN, a Master of
    # Steganography"); these two losses make that harder. Kept as opt-in knobs for that failure:
    # on digits-typeset neither beats the paper's losses (quality.md's digits-typeset rows), since
    # the domains there differ in shape, which no style-keeping loss can supply.
    shape_weight: ganzoo.NonNegativeFloat = 0.0  # weight of |pool(G(x)) - pool(x)|_1: the translation keeps x's coarse layout
    shape_size: ganzoo.PositiveInt = 8  # side of the average-pooled image that shape_weight compares
    cycle_noise: ganzoo.NonNegativeFloat = 0.0  # std of Gaussian noise added to G(x) before the cycle back: destroys hidden codes
    # Not in the paper. Undoing G_ab's output, G_ba learns to read G_ab's one colour scheme and not
    # the shapes in it: on digits-m the zoo's G_ba read 99.8 % of G_ab(a)'s digits and 3 % once
    # their channels were permuted, so it failed on real B, whose photos come in every colour. With
    # this, the cycle back from the named domain's translations is also taken from a random
    # recolouring of them (ganzoo.augment.recolor: channels permuted and inverted at random, random
    # brightness, saturation and contrast), detached, so it trains the return translator alone and
    # G's own losses stay the paper's. "b": G_ab(a) recoloured, for G_ba; "a": G_ba(b), for G_ab.
    # Detached on purpose: a recoloured cycle that also trains the first translator pushes it to
    # outputs whose colours survive recolouring (grey), at the cost of its own task.
    cycle_recolor: Literal["", "a", "b", "ab"] = ""
    # CyCADA's semantic consistency (Hoffman et al. 2018, Eq. 4): a classifier f trained on domain
    # A's labels (this run's own, trained alongside, never the harness's judges) must give G(x) the
    # class it gives x, both ways. It makes training use domain A's labels, so it is off by default.
    semantic_weight: ganzoo.NonNegativeFloat = 0.0  # weight of the semantic loss; > 0 needs a dataset with labels on domain A
    semantic_from: ganzoo.NonNegativeInt = 200  # the semantic loss starts once f has trained this many steps
    # f trained on domain A alone reads domain B poorly (a digits classifier gets about 70 % of the
    # typeset digits), and its pseudo-labels then cap how well B->A can keep the class. CyCADA
    # trains its target classifier f_T on the translated source G(A) with A's labels; doing so for f
    # teaches it domain B's look as G learns it.
    semantic_translated: bool = True  # f also learns from G(x), x in A, with x's label
    # Not in CyCADA. f, having learnt B's look from G(A), also reads G_ba(b) when G_ba leaves b in B's
    # style (and CyCADA's f_S cannot label B at all), so the B->A semantic loss does not ask G_ba to
    # change the style. With this on, a second classifier trained on A alone reads G_ba(b) and must
    # find f's label for b in it: G_ba(b) has to be a digit domain A's own classifier recognises.
    semantic_a_only: bool = False  # B->A's semantic loss is read by a classifier of domain A alone (needs semantic_weight > 0)


def weighted_cycles(cfg: CycleGANConfig, cycle_a, cycle_b, idt_a, idt_b):
    """The cycle and identity terms of G's loss. Each identity loss is weighted as the cycle of the
    domain its input comes from, as in the official code: G_ab(b) ~ b as B->A->B, G_ba(a) ~ a as
    A->B->A. With one weight (lambda_cycle_b None) the sums keep the paper's form,
    lambda * (cycle_a + cycle_b), so the paper's configuration computes exactly its arithmetic."""
    if cfg.lambda_cycle_b is None:
        return cfg.lambda_cycle * (cycle_a + cycle_b), cfg.lambda_cycle * cfg.lambda_identity * (idt_b + idt_a)
    lambda_a, lambda_b = cfg.lambda_cycle, cfg.lambda_cycle_b
    return lambda_a * cycle_a + lambda_b * cycle_b, cfg.lambda_identity * (lambda_b * idt_b + lambda_a * idt_a)


def shape_consistency(x, translated, size: int):
    """Mean L1 between the two images average-pooled to size x size: what survives pooling is the
    layout (where the strokes are), not the style, so a translation between domains that differ in
    style only can keep it while the adversarial loss changes everything finer."""
    return torch.nn.functional.l1_loss(torch.nn.functional.adaptive_avg_pool2d(translated, size),
                                       torch.nn.functional.adaptive_avg_pool2d(x, size))


def semantic_consistency(classifier, x, translated, reader=None):
    """CyCADA, Eq. 4: cross-entropy of classifier(translated) against the class the classifier
    predicts for x (a pseudo-label, so x's own labels are not needed on either side). ``reader``,
    when given, reads the translation instead of the classifier that labelled x."""
    with torch.no_grad():
        target = classifier(x).argmax(1)
    return torch.nn.functional.cross_entropy((reader or classifier)(translated), target)


def small_classifier(channels: int, size: int, classes: int) -> nn.Sequential:
    """Two stride-2 convs and a linear layer: enough for digits, cheap beside the generators."""
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2, True),
        nn.Flatten(), nn.Linear(64 * ((size + 3) // 4) ** 2, classes),
    )


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convs with instance norm and a skip (Johnson et al. 2016)."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(ch, ch, 3)
        self.conv2 = nn.Conv2d(ch, ch, 3)

    def forward(self, x):
        h = torch.relu(F.instance_norm(self.conv1(F.pad(x, (1, 1, 1, 1), mode="reflect"))))
        return x + F.instance_norm(self.conv2(F.pad(h, (1, 1, 1, 1), mode="reflect")))


class ResnetGenerator(nn.Module):
    """c7s1-w, d2w, d4w, R4w x n_blocks, u2w, uw, c7s1-C (Johnson et al. 2016; CycleGAN appendix),
    with ``downsampling`` stride-2 stages (2 in the paper); instance norm, reflection padding.

    Images of any size: the input is padded to a multiple of 2**downsampling (reflected, or
    replicated where the image is too small to reflect) and the output cropped back. Plain torch."""

    def __init__(self, channels: int, width: int, n_blocks: int, downsampling: int = 2):
        super().__init__()
        self.downsampling = downsampling
        w = width
        self.stem = nn.Conv2d(channels, w, 7)
        self.down = nn.ModuleList(nn.Conv2d(w * 2**i, w * 2 ** (i + 1), 3, stride=2, padding=1) for i in range(downsampling))
        self.blocks = nn.Sequential(*[ResnetBlock(w * 2**downsampling) for _ in range(n_blocks)])
        self.up = nn.ModuleList(
            nn.ConvTranspose2d(w * 2 ** (i + 1), w * 2**i, 3, stride=2, padding=1, output_padding=1)
            for i in reversed(range(downsampling))
        )
        self.to_image = nn.Conv2d(w, channels, 7)

    def forward(self, x):
        h, w = x.shape[-2:]
        m = 2**self.downsampling
        pad_h, pad_w = -h % m, -w % m
        if pad_h or pad_w:
            mode = "reflect" if pad_h < h and pad_w < w else "replicate"
            x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
        edge = "reflect" if min(x.shape[-2:]) > 3 else "replicate"  # reflection needs more pixels than the pad
        y = torch.relu(F.instance_norm(self.stem(F.pad(x, (3, 3, 3, 3), mode=edge))))
        for conv in self.down:
            y = torch.relu(F.instance_norm(conv(y)))
        y = self.blocks(y)
        for conv in self.up:
            y = torch.relu(F.instance_norm(conv(y)))
        y = torch.tanh(self.to_image(F.pad(y, (3, 3, 3, 3), mode="reflect")))
        return y[..., :h, :w]


def patch_discriminator(channels: int, width: int, n_layers: int) -> nn.Sequential:
    """C64-C128-C256-C512 PatchGAN (Isola et al. 2017): stride-2 4x4 convs, then a stride-1 one and a
    1-channel output map; instance norm on all but the first layer; LeakyReLU 0.2."""
    layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    ch = width
    for i in range(1, n_layers + 1):
        stride = 2 if i < n_layers else 1
        out = width * min(2**i, 8)
        layers += [nn.Conv2d(ch, out, 4, stride=stride, padding=1), nn.InstanceNorm2d(out), nn.LeakyReLU(0.2, True)]
        ch = out
    layers += [nn.Conv2d(ch, 1, 4, stride=1, padding=1)]
    return nn.Sequential(*layers)


def init_normal_(net: nn.Module, std: float = 0.02) -> nn.Module:
    """Weights from N(0, 0.02), biases 0: the official implementation's initialisation."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


class CycleGAN(ganzoo.Variant):
    name = "cyclegan"
    summary = "Unpaired image-to-image translation: two ResNet generators, PatchGANs, cycle consistency"
    paper = "Zhu et al. 2017, https://arxiv.org/abs/1703.10593"
    task = ganzoo.Task.UNPAIRED_TRANSLATION
    default_dataset = "digits-typeset"
    Config = CycleGANConfig

    @classmethod
    def data_request(cls, config):
        return ganzoo.DataRequest(size=config.image_size, channels=config.channels, domains=2)

    @classmethod
    def check_data(cls, config, data):
        super().check_data(config, data)
        if config.image_size % 2**config.downsampling:
            raise DataError(f"cyclegan: image_size must be a multiple of {2**config.downsampling} ({config.downsampling} stride-2 stages), got {config.image_size}")
        for key in ("shape_weight", "cycle_noise", "semantic_weight", "lambda_cycle", "lambda_identity", "lambda_cycle_b"):
            if (getattr(config, key) or 0) < 0:
                raise ConfigError(f"cyclegan: {key} must be 0 or more, got {getattr(config, key)}")
        if config.shape_size < 1:
            raise ConfigError(f"cyclegan: shape_size must be at least 1, got {config.shape_size}")
        if config.semantic_a_only and config.semantic_weight <= 0:
            raise ConfigError("cyclegan: semantic_a_only changes the semantic loss, which is off: set semantic_weight > 0 too")
        if config.semantic_weight > 0 and not data.num_classes:
            raise DataError(f"cyclegan: semantic_weight needs class labels on domain A, and dataset '{data.name}' has none")

    generator_names = ("G_ab", "G_ba")
    format1_generator_names = ("g_ab", "g_ba")

    @classmethod
    def generator_args(cls, config, data):
        return {"channels": data.shape[0], "width": config.g_width, "n_blocks": config.n_blocks, "downsampling": config.downsampling}

    @classmethod
    def build_generators(cls, args):
        return {"G_ab": init_normal_(ResnetGenerator(**args)), "G_ba": init_normal_(ResnetGenerator(**args))}

    def input_spec(self):
        c = self.data.shape[0]
        return {"x": {"shape": [c, "H", "W"], "dtype": "float32", "range": [-1.0, 1.0],
                      "meaning": "an image of the source domain, any size (padded to a multiple of "
                                 f"{2 ** int(self.args['downsampling'])} and cropped back inside the generator)"}}

    def build_training(self):
        cfg, c = self.config, self.data.shape[0]
        self.D_a = init_normal_(patch_discriminator(c, cfg.d_width, cfg.d_layers)).to(self.device)
        self.D_b = init_normal_(patch_discriminator(c, cfg.d_width, cfg.d_layers)).to(self.device)
        betas = (cfg.beta1, cfg.beta2)
        # One optimiser for both generators and one for both discriminators, as the official code.
        self.opt_g = torch.optim.Adam(itertools.chain(self.G_ab.parameters(), self.G_ba.parameters()), lr=cfg.lr, betas=betas)
        self.opt_d = torch.optim.Adam(itertools.chain(self.D_a.parameters(), self.D_b.parameters()), lr=cfg.lr, betas=betas)
        self.history_a, self.history_b = HistoryBuffer(cfg.history), HistoryBuffer(cfg.history)
        self.classifier = self.reader_a = None
        if cfg.semantic_weight > 0:
            self.classifier = small_classifier(c, cfg.image_size, self.data.num_classes).to(self.device)
            self.opt_c = torch.optim.Adam(self.classifier.parameters(), lr=1e-3)
        if cfg.semantic_a_only:
            self.reader_a = small_classifier(c, cfg.image_size, self.data.num_classes).to(self.device)
            self.opt_r = torch.optim.Adam(self.reader_a.parameters(), lr=1e-3)

    def networks(self):
        nets = {"g_ab": self.G_ab, "g_ba": self.G_ba, "d_a": self.D_a, "d_b": self.D_b}
        if self.classifier is not None:
            nets["classifier_a"] = self.classifier
        if self.reader_a is not None:
            nets["reader_a"] = self.reader_a
        return nets

    def optimizers(self):
        opts = {"generators": self.opt_g, "discriminators": self.opt_d}
        if self.classifier is not None:
            opts["classifier_a"] = self.opt_c
        if self.reader_a is not None:
            opts["reader_a"] = self.opt_r
        return opts

    def extra_state(self):
        return {**self.history_a.state("history_a"), **self.history_b.state("history_b")}

    def load_extra_state(self, state):
        state = {k: v.to(self.device) for k, v in state.items()}
        self.history_a.load_state(state, "history_a")
        self.history_b.load_state(state, "history_b")

    def train_step(self, batches, step):
        cfg = self.config
        ganzoo.linear_decay((self.opt_g, self.opt_d), cfg.lr, step, cfg.steps, cfg.decay_from)  # the paper's schedule
        batch = batches.next()
        real_a, real_b = batch.x, batch.x_b
        n = min(len(real_a), len(real_b))
        real_a, real_b = real_a[:n], real_b[:n]

        with frozen(self.D_a), frozen(self.D_b):
            fake_b, fake_a = self.G_ab(real_a), self.G_ba(real_b)
            loss_gan = g_loss_least_squares(self.D_b(fake_b)) + g_loss_least_squares(self.D_a(fake_a))
            cycle_a = self._cycle(real_a, fake_b, self.G_ba, "b")
            cycle_b = self._cycle(real_b, fake_a, self.G_ab, "a")
            loss_cycle = cycle_a + cycle_b
            idt_a = idt_b = torch.zeros((), device=self.device)
            if cfg.lambda_identity > 0:
                idt_b, idt_a = identity(real_b, self.G_ab(real_b)), identity(real_a, self.G_ba(real_a))
            loss_idt = idt_b + idt_a
            cycle_term, identity_term = weighted_cycles(cfg, cycle_a, cycle_b, idt_a, idt_b)
            loss_shape = torch.zeros((), device=self.device)
            if cfg.shape_weight > 0:
                loss_shape = shape_consistency(real_a, fake_b, cfg.shape_size) + shape_consistency(real_b, fake_a, cfg.shape_size)
            loss_sem = torch.zeros((), device=self.device)
            if self.classifier is not None and step >= cfg.semantic_from:
                with frozen(*(m for m in (self.classifier, self.reader_a) if m is not None)):
                    loss_sem = (semantic_consistency(self.classifier, real_a, fake_b)
                                + semantic_consistency(self.classifier, real_b, fake_a, reader=self.reader_a))
            loss_g = (loss_gan + cycle_term + identity_term
                      + cfg.shape_weight * loss_shape + cfg.semantic_weight * loss_sem)
        ganzoo.update(self.opt_g, loss_g)
        extra = {"loss_shape": loss_shape.detach()} if cfg.shape_weight > 0 else {}
        if self.classifier is not None:  # f learns domain A's labels alongside G (CyCADA pretrains it instead)
            x_c, y_c = real_a, batch.y[:n]
            if cfg.semantic_translated:
                x_c, y_c = torch.cat([real_a, fake_b.detach()]), torch.cat([y_c, y_c])
            loss_c = torch.nn.functional.cross_entropy(self.classifier(x_c), y_c)
            ganzoo.update(self.opt_c, loss_c)
            extra |= {"loss_classifier": loss_c.detach(), "loss_semantic": loss_sem.detach()}
        if self.reader_a is not None:  # domain A's labels only: it never sees B's look
            loss_r = torch.nn.functional.cross_entropy(self.reader_a(real_a), batch.y[:n])
            ganzoo.update(self.opt_r, loss_r)
            extra["loss_reader_a"] = loss_r.detach()

        # The official code halves each D's loss so D learns slower than G.
        loss_d_a = 0.5 * d_loss_least_squares(self.D_a(real_a), self.D_a(self.history_a.query(fake_a)))
        loss_d_b = 0.5 * d_loss_least_squares(self.D_b(real_b), self.D_b(self.history_b.query(fake_b)))
        ganzoo.update(self.opt_d, loss_d_a + loss_d_b)
        return {"loss_g": loss_gan.detach(), "loss_cycle": loss_cycle.detach(), "loss_identity": loss_idt.detach(),
                **extra,
                "loss_d_a": loss_d_a.detach(), "loss_d_b": loss_d_b.detach()}

    def _cycle(self, real, translated, back, domain: str):
        """|real - back(translated)|, the cycle back from ``domain``; with cycle_recolor, plus the same
        from a recolouring of ``translated`` that only ``back`` learns from."""
        loss = cycle_consistency(real, back(self._noisy(translated)))
        if domain in self.config.cycle_recolor:
            loss = loss + cycle_consistency(real, back(self._noisy(recolor(translated.detach()))))
        return loss

    def _noisy(self, x):
        if self.config.cycle_noise <= 0:
            return x
        return x + self.config.cycle_noise * torch.randn_like(x)

    # -- sampling: translation, and the run's grid of input / translation / reconstruction ---------

    def translate(self, x, direction="a2b"):
        return (self.G_ab if direction == "a2b" else self.G_ba)(x)

    def sample_inputs(self, n, rng, labels=None):
        raise DataError("cyclegan translates images rather than sampling noise: use `ganzoo translate` or model.translate(images)")

    def grid(self, n):
        k = max(1, n // 6)
        return 6 * k, 6  # each row: A, G(A), F(G(A)), B, F(B), G(F(B))

    def example_inputs(self, data, n, rng):
        k = n // 6
        ia = torch.randperm(len(data.x), generator=rng)[:k]
        ib = torch.randperm(len(data.x_b), generator=rng)[:k]
        a = data.as_model_input(data.x[ia.to(data.x.device)]).to(self.device)
        b = data.as_model_input(data.x_b[ib.to(data.x_b.device)]).to(self.device)
        return {"a": a, "b": b}

    def generate(self, a, b):
        ab, ba = self.G_ab(a), self.G_ba(b)
        rows = torch.stack([a, ab, self.G_ba(ab), b, ba, self.G_ab(ba)], dim=1)  # (k, 6, C, H, W)
        return rows.flatten(0, 1)


@ganzoo.hookimpl
def register_variants(register):
    register(CycleGAN)


@ganzoo.hookimpl
def register_pretrained(register):
    register_shipped(register, __file__)  # the models in pretrained/*/, made by benchmarks/pretrained.py
