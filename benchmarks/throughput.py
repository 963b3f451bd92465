"""Training throughput of every variant's step, and DCGAN against the reference training loop.

    python benchmarks/throughput.py [--seconds 20] [--only dcgan gan ...]

For each variant at its default config on its default data: real images (or points) consumed per
second by `train_step`, measured after warm-up over about ``--seconds`` seconds, and the achieved
GFLOP/s (FLOPs of one step counted by torch.utils.flop_counter, forward and backward). Beside them,
in the same run and on the same images: a faithful re-implementation of pytorch/examples'
dcgan/main.py loop (a DataLoader with per-sample torchvision transforms and its default 2 workers,
Sigmoid + BCELoss, separate real and fake passes through D) with our DCGAN's architecture, batch
size and precision; and the fp32 matmul GFLOP/s of this machine as the ceiling. Writes
benchmarks/results/throughput.md. Nothing else should run meanwhile: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent


def matmul_gflops(n: int = 2048, seconds: float = 3.0, m: int | None = None) -> float:
    """fp32 GFLOP/s of (m x n) @ (n x n); m = n by default."""
    m = m or n
    a, b = torch.randn(m, n), torch.randn(n, n)
    a @ b
    t0, reps = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        a @ b
        reps += 1
    return 2 * m * n * n * reps / (time.perf_counter() - t0) / 1e9


def step_flops(fn) -> float:
    """FLOPs of one call; NaN where the counter cannot follow (autograd.grad in WGAN-GP's penalty)."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with FlopCounterMode(display=False) as counter:
            fn()
    except RuntimeError:
        fn()  # keep the step count the same as if it had been counted
        return float("nan")
    return counter.get_total_flops()


def matmul_share(fn, steps: int = 20) -> float:
    """Fraction of the wall time of ``steps`` calls spent inside matrix multiplications (aten::mm,
    addmm, bmm, convolution), from torch.profiler: the rest is what removing overhead could save."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        wall = time.perf_counter() - t0
    heavy = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::mkldnn_convolution", "aten::convolution_backward")
    return sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in heavy) / 1e6 / wall


def timed(fn, per_call: int, seconds: float, warmup: int = 3) -> float:
    """Items per second of ``fn`` (each call handles ``per_call`` items)."""
    for _ in range(warmup):
        fn()
    t0, calls = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
    return per_call * calls / (time.perf_counter() - t0)


def ours(name: str, seconds: float, data: str | None = None) -> tuple[float, float]:
    """(items/s, GFLOP/s) of the variant's own step through the trainer's machinery."""
    import tempfile

    from ganzoo.training import prepare

    with tempfile.TemporaryDirectory() as tmp:
        trainer = prepare(name, data=data, settings={}, out=f"{tmp}/run", progress=False)
        step = [0]

        def one():
            with trainer.precision.step():
                trainer.variant.train_step(trainer.stream, step[0])
            step[0] += 1

        position = trainer.stream.position
        flops = step_flops(one)
        per_step = (trainer.stream.position - position) * trainer.stream.global_batch
        rate = timed(one, per_step, seconds)
        return rate, flops * rate / per_step / 1e9


class ReferenceDigits(torch.utils.data.Dataset):
    """The digits as PIL images, transformed one sample at a time like torchvision's datasets."""

    def __init__(self, transform):
        from PIL import Image
        from sklearn.datasets import load_digits

        images = (load_digits().images * (255 / 16)).round().astype("uint8")
        self.images = [Image.fromarray(im, mode="L") for im in images]
        self.transform = transform

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.transform(self.images[i]), 0


def reference(seconds: float) -> tuple[float, float]:
    """pytorch/examples dcgan/main.py's loop, with our DCGAN's architecture, batch size and dtype."""
    import torchvision.transforms as T
    from ganzoo_dcgan import DCGANConfig

    from ganzoo.nets import dcgan_discriminator, dcgan_generator, init_dcgan_

    cfg = DCGANConfig()
    size, nz = 32, cfg.z_dim
    dataset = ReferenceDigits(T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, num_workers=2, drop_last=True)
    torch.manual_seed(0)
    netG = init_dcgan_(dcgan_generator(nz, 1, size, cfg.g_width))
    netD = nn.Sequential(init_dcgan_(dcgan_discriminator(1, size, cfg.d_width)), nn.Sigmoid())
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    batches = iter(())

    def one():
        nonlocal batches
        try:
            data = next(batches)
        except StopIteration:
            batches = iter(loader)
            data = next(batches)
        netD.zero_grad()
        real = data[0]
        b = real.size(0)
        label = torch.full((b,), 1.0)
        errD_real = criterion(netD(real).view(-1), label)
        errD_real.backward()
        noise = torch.randn(b, nz, 1, 1)
        fake = netG(noise)
        label.fill_(0.0)
        errD_fake = criterion(netD(fake.detach()).view(-1), label)
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        label.fill_(1.0)
        errG = criterion(netD(fake).view(-1), label)
        errG.backward()
        optG.step()

    flops = step_flops(one)
    rate = timed(one, cfg.batch_size, seconds)
    return rate, flops * rate / cfg.batch_size / 1e9


def plain_2d(seconds: float) -> tuple[float, float]:
    """A plain eager PyTorch loop for `gan` on ring8: the same PacGAN networks, batch size and Adam,
    real batches indexed from an in-memory tensor, BCE on logits; nothing from ganzoo's trainer."""
    import torch.nn.functional as F
    from ganzoo_gan import GANConfig

    from ganzoo import DataRequest
    from ganzoo.data import load_data
    from ganzoo.nets import mlp

    cfg = GANConfig()
    x = load_data("ring8", DataRequest(kind=None)).x
    torch.manual_seed(0)
    G = mlp([2, 400, 400, 400, 400, 2], batchnorm=True)
    D = mlp([2, 200, 200, 200, 1], maxout_pieces=cfg.maxout_pieces)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    b = cfg.batch_size

    def one():
        real = x[torch.randint(len(x), (b,))]
        with torch.no_grad():
            fake = G(torch.randn(b, 2))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(b, 2)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    flops = step_flops(one)
    rate = timed(one, b, seconds)
    share = matmul_share(one)
    return rate, flops * rate / b / 1e9, share


def batched_2d(seconds: float, members: int = 8) -> tuple[float, float]:
    """The plain loop's networks for ``members`` independent seeds trained as one batched model
    (torch.func.stack_module_state + vmap; one Adam over the stacked weights, which is the same
    elementwise update as one Adam per seed): what the issue proposes for the benchmark's seeds."""
    import copy

    import torch.nn.functional as F
    from torch.func import functional_call, stack_module_state, vmap

    from ganzoo import DataRequest
    from ganzoo.data import load_data
    from ganzoo.nets import mlp
    from ganzoo_gan import GANConfig

    cfg = GANConfig()
    x = load_data("ring8", DataRequest(kind=None)).x
    gs, ds = [], []
    for seed in range(members):
        torch.manual_seed(seed)
        gs.append(mlp([2, 400, 400, 400, 400, 2], batchnorm=True))
        ds.append(mlp([2, 200, 200, 200, 1], maxout_pieces=cfg.maxout_pieces))
    (gp, gb), (dp, db) = stack_module_state(gs), stack_module_state(ds)
    g_base, d_base = copy.deepcopy(gs[0]).to("meta"), copy.deepcopy(ds[0]).to("meta")
    G = vmap(lambda p, b, z: functional_call(g_base, (p, b), (z,)))
    D = vmap(lambda p, b, v: functional_call(d_base, (p, b), (v,)))
    opt_g = torch.optim.Adam(gp.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(dp.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    b = cfg.batch_size

    def one():
        real = x[torch.randint(len(x), (members, b))]
        with torch.no_grad():
            fake = G(gp, gb, torch.randn(members, b, 2))
        # Sum over seeds of each seed's mean loss: every seed's weights get exactly its own gradient.
        loss_d = (F.softplus(-D(dp, db, real)).mean((1, 2)) + F.softplus(D(dp, db, fake)).mean((1, 2))).sum()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(dp, db, G(gp, gb, torch.randn(members, b, 2)))).mean((1, 2)).sum()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    flops = step_flops(one)
    rate = timed(one, members * b, seconds)
    return rate, flops * rate / (members * b) / 1e9


def main() -> int:
    import ganzoo

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20, help="timed seconds per measurement (default 20)")
    parser.add_argument("--only", nargs="+", help="variants to measure (default: all)")
    args = parser.parse_args()
    t_start = time.perf_counter()
    peak = matmul_gflops()
    print(f"fp32 matmul: {peak:.1f} GFLOP/s", flush=True)
    rows = []
    ref_rate, ref_gflops = reference(args.seconds)
    print(f"reference dcgan loop: {ref_rate:.0f} images/s, {ref_gflops:.1f} GFLOP/s", flush=True)
    for name in args.only or ganzoo.list_variants():
        rate, gflops = ours(name, args.seconds)
        ratio = f"{rate / ref_rate:.2f}x" if name == "dcgan" else ""
        counted = gflops == gflops  # not NaN
        rows.append((name, f"{rate:.0f}", f"{gflops:.1f}" if counted else "n/a", f"{100 * gflops / peak:.0f} %" if counted else "n/a", ratio))
        print(" | ".join(rows[-1]), flush=True)
    # The 2-D MLPs: ganzoo's gan on ring8 against a plain eager loop of the same networks, and
    # the matmul rate at their layer shape (a batch of 100 through 400x400), which bounds both.
    small_peak = matmul_gflops(400, m=100)
    plain_rate, plain_gflops, plain_share = plain_2d(args.seconds)
    gan2d_rate, gan2d_gflops = ours("gan", args.seconds, data="ring8")
    batched_rate, batched_gflops = batched_2d(args.seconds)
    print(f"2-D: plain {plain_rate:.0f} points/s ({plain_gflops:.1f} GFLOP/s), ganzoo {gan2d_rate:.0f} ({gan2d_gflops:.1f}); "
          f"matmul 100x400x400 {small_peak:.1f} GFLOP/s; the plain loop spends {100 * plain_share:.0f} % of its time in matmuls", flush=True)
    lines = [
        "# Training throughput",
        "",
        f"`python benchmarks/throughput.py --seconds {args.seconds:g}` on {platform.machine()} with {os.cpu_count()} CPU cores "
        f"({torch.get_num_threads()} torch threads), torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; "
        f"{(time.perf_counter() - t_start) / 60:.0f} minutes. Each variant at its default config on its default data; "
        "items are images (points for 2-D data) consumed by the training step.",
        "",
        f"fp32 matmul on this machine: **{peak:.1f} GFLOP/s** (2048x2048, the ceiling for the % column).",
        "",
        f"Reference loop (pytorch/examples dcgan/main.py: DataLoader with per-sample transforms and 2 workers, Sigmoid + BCELoss, "
        f"our DCGAN's architecture, batch size and fp32): **{ref_rate:.0f} images/s**, {ref_gflops:.1f} GFLOP/s.",
        "",
        "| variant | items/s | GFLOP/s | of matmul peak | vs reference loop |",
        "|---|---|---|---|---|",
    ] + ["| " + " | ".join(r) + " |" for r in rows] + [
        "",
        "## The small MLPs on 2-D points",
        "",
        "`gan` on ring8 (PacGAN's networks: G 4x400 ReLU + batchnorm, D 3x200 maxout x5; batch 100) through ganzoo's trainer, "
        "beside a plain eager PyTorch loop of the same networks, batch, Adam and loss (real batches indexed from an in-memory tensor). "
        f"The layers' own matmul shape (100x400 @ 400x400) runs at **{small_peak:.1f} GFLOP/s** here: a step's FLOPs at that rate "
        "bound how fast any loop can go.",
        "",
        f"Profile of the plain loop (torch.profiler, 20 steps): **{100 * plain_share:.0f} %** of its wall time is spent inside "
        "the matrix multiplications themselves, so removing every other cost (Python, allocations, optimizer, "
        f"elementwise kernels) could speed it up by at most {1 / max(plain_share, 1e-9):.2f}x; the last column is the other bound, "
        "the step's FLOPs run at the layer shape's matmul rate.",
        "",
        "| loop | points/s | GFLOP/s | of matmul at the layer shape | vs plain loop | ceiling vs plain loop |",
        "|---|---|---|---|---|---|",
        f"| plain eager | {plain_rate:.0f} | {plain_gflops:.1f} | {100 * plain_gflops / small_peak:.0f} % | 1.00x | {small_peak / plain_gflops:.2f}x |",
        f"| ganzoo `gan` | {gan2d_rate:.0f} | {gan2d_gflops:.1f} | {100 * gan2d_gflops / small_peak:.0f} % | {gan2d_rate / plain_rate:.2f}x | |",
        f"| 8 seeds as one batched model (torch.func.vmap), points of all seeds | {batched_rate:.0f} | {batched_gflops:.1f} | "
        f"{100 * batched_gflops / small_peak:.0f} % | {batched_rate / plain_rate:.2f}x | |",
    ]
    out = HERE / "results" / "throughput.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
