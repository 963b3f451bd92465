"""Training throughput of every variant's step, and DCGAN against the reference training loop.

    python benchmarks/throughput.py [--seconds 20] [--only dcgan gan ...]
    python benchmarks/throughput.py --device cuda [--seconds 3]     # the GPU benchmark (below)
    python benchmarks/throughput.py --device cpu --quick            # the same code path, downscaled
    python benchmarks/throughput.py --contention [--steps 120]      # thread counts, idle and beside a busy process
    python benchmarks/throughput.py --profile cyclegan              # where one variant's step spends its time

For each variant at its default config on its default data: real images (or points) consumed per
second by `train_step`, measured after warm-up over about ``--seconds`` seconds, and the achieved
GFLOP/s (FLOPs of one step counted by torch.utils.flop_counter, forward and backward). Beside them,
in the same run and on the same images: a faithful re-implementation of pytorch/examples'
dcgan/main.py loop (a DataLoader with per-sample torchvision transforms and its default 2 workers,
Sigmoid + BCELoss, separate real and fake passes through D) with our DCGAN's architecture, batch
size and precision; and the fp32 matmul GFLOP/s of this machine as the ceiling. Writes
benchmarks/results/throughput.md. Nothing else should run meanwhile: the numbers are wall-clock.

With ``--device``, the device benchmark instead (benchmarks/results/throughput-<device>.md, with
the device's name): every variant at its default config and at a GPU-sized one (the paper's
widths, batch 128 where the paper's own batch is smaller than that), in fp32 and bf16, eager and
(for DCGAN, or every variant with --compile-all) torch.compile; achieved TFLOP/s against the dense
matmul TFLOP/s measured in the same run; the pytorch/examples reference loop on the same device
(fp32, eager, its DataLoader) with the ratio; and the 2-D MLPs as one model and as 64 seeds
trained together (torch.func), against 64 sequential single-seed runs.
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

from ganzoo._plugins import registry as ganzoo_registry
from ganzoo.precision import resolve as resolve_precision

HERE = Path(__file__).resolve().parent


def cpu_model() -> str:
    """The CPU's model name and its bf16 units, as the header of a CPU result says which machine it was."""
    name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")), platform.processor() or platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    caps = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    units = [label for key, label in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX-512 BF16")) if caps.get(key)]
    return f"{name} ({', '.join(units) if units else 'no bf16 units'})"


def end_to_end(steps: int, repeats: int = 3) -> list[tuple[str, float, float]]:
    """`ganzoo run dcgan --steps N` as a user runs it, in fp32 and with amp auto, alternating so that
    a slow spell of a shared machine falls on both: (pair, fp32 images/s, auto images/s) per repeat."""
    pairs = []
    for i in range(repeats):
        off, _ = run_rate("dcgan", 0, steps, amp="off")
        auto, _ = run_rate("dcgan", 0, steps, amp="auto")
        pairs.append((str(i + 1), off, auto))
        print(f"dcgan end to end, pair {i + 1}: fp32 {off:.0f} images/s, auto {auto:.0f} ({auto / off:.2f}x)", flush=True)
    return pairs


def matmul_gflops(n: int = 2048, seconds: float = 3.0, m: int | None = None, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of (m x n) @ (n x n) in ``dtype`` (fp32 by default); m = n by default."""
    m = m or n
    a, b = torch.randn(m, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
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


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn, per_call: int, seconds: float, warmup: int = 3, device: str = "cpu") -> float:
    """Items per second of ``fn`` (each call handles ``per_call`` items); on a GPU the clock stops
    only once the queued kernels have run."""
    for _ in range(warmup):
        fn()
    _sync(device)
    t0, calls = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        fn()
        calls += 1
        if calls % 10 == 0:
            _sync(device)
    _sync(device)
    return per_call * calls / (time.perf_counter() - t0)


def ours(name: str, seconds: float, data: str | None = None, settings: dict | None = None, device: str = "cpu",
         flops: float | None = None) -> tuple[float, float, float]:
    """(items/s, GFLOP/s, FLOPs of one step) of the variant's own step through the trainer's machinery; ``settings``
    are `--set` keys (amp, compile, widths...). ``flops``: of one step, when already counted (a
    compiled step cannot be counted)."""
    import tempfile

    from ganzoo.training import prepare

    from ganzoo._plugins import registry

    with tempfile.TemporaryDirectory() as tmp:
        trainer = prepare(registry(), name, data=data, settings={"device": device, **(settings or {})}, out=f"{tmp}/run", progress=False)
        step = [0]

        def one():
            with trainer.precision.step():
                trainer.variant.train_step(trainer.stream, step[0])
            step[0] += 1

        position = trainer.stream.position
        if flops is None:
            flops = step_flops(one)
        else:
            one()
        per_step = (trainer.stream.position - position) * trainer.stream.global_batch
        rate = timed(one, per_step, seconds, device=device)
        return rate, flops * rate / per_step / 1e9, flops


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


def reference(seconds: float, device: str = "cpu", size: int = 32, width: int | None = None, batch: int | None = None) -> tuple[float, float]:
    """pytorch/examples dcgan/main.py's loop, with our DCGAN's architecture, batch size and dtype
    (fp32, eager), on ``device``: its DataLoader, and each batch copied to the device as main.py does."""
    import torchvision.transforms as T
    from ganzoo_dcgan import DCGANConfig

    from ganzoo.nets import DCGANGenerator, dcgan_discriminator, init_dcgan_

    cfg = DCGANConfig()
    nz, width, batch = cfg.z_dim, width or cfg.g_width, batch or cfg.batch_size
    dataset = ReferenceDigits(T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize((0.5,), (0.5,))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=2, drop_last=True)
    torch.manual_seed(0)
    netG = init_dcgan_(DCGANGenerator(nz, 1, size, width)).to(device)
    netD = nn.Sequential(init_dcgan_(dcgan_discriminator(1, size, width)), nn.Sigmoid()).to(device)
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
        real = data[0].to(device)
        b = real.size(0)
        label = torch.full((b,), 1.0, device=device)
        errD_real = criterion(netD(real).view(-1), label)
        errD_real.backward()
        noise = torch.randn(b, nz, 1, 1, device=device)
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
    rate = timed(one, batch, seconds, device=device)
    return rate, flops * rate / batch / 1e9


def plain_2d(seconds: float, device: str = "cpu") -> tuple[float, float]:
    """A plain eager PyTorch loop for `gan` on ring8: the same PacGAN networks, batch size and Adam,
    real batches indexed from an in-memory tensor, BCE on logits; nothing from ganzoo's trainer."""
    import torch.nn.functional as F
    from ganzoo_gan import GANConfig

    from ganzoo import DataRequest
    from ganzoo.data import load_data
    from ganzoo._plugins import registry
    from ganzoo.nets import mlp

    cfg = GANConfig()
    x = load_data("ring8", DataRequest(kind=None), registry().datasets).x.to(device)
    torch.manual_seed(0)
    G = mlp([2, 400, 400, 400, 400, 2], batchnorm=True).to(device)
    D = mlp([2, 200, 200, 200, 1], maxout_pieces=cfg.maxout_pieces).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    b = cfg.batch_size

    def one():
        real = x[torch.randint(len(x), (b,), device=device)]
        with torch.no_grad():
            fake = G(torch.randn(b, 2, device=device))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(G(torch.randn(b, 2, device=device)))).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    flops = step_flops(one)
    rate = timed(one, b, seconds, device=device)
    share = matmul_share(one) if device == "cpu" else float("nan")
    return rate, flops * rate / b / 1e9, share


def batched_2d(seconds: float, members: int = 8, device: str = "cpu") -> tuple[float, float]:
    """The plain loop's networks for ``members`` independent seeds trained as one batched model
    (torch.func.stack_module_state + vmap; one Adam over the stacked weights, which is the same
    elementwise update as one Adam per seed): what the issue proposes for the benchmark's seeds."""
    import copy

    import torch.nn.functional as F
    from torch.func import functional_call, stack_module_state, vmap

    from ganzoo import DataRequest
    from ganzoo.data import load_data
    from ganzoo._plugins import registry
    from ganzoo.nets import mlp
    from ganzoo_gan import GANConfig

    cfg = GANConfig()
    x = load_data("ring8", DataRequest(kind=None), registry().datasets).x.to(device)
    gs, ds = [], []
    for seed in range(members):
        torch.manual_seed(seed)
        gs.append(mlp([2, 400, 400, 400, 400, 2], batchnorm=True).to(device))
        ds.append(mlp([2, 200, 200, 200, 1], maxout_pieces=cfg.maxout_pieces).to(device))
    (gp, gb), (dp, db) = stack_module_state(gs), stack_module_state(ds)
    g_base, d_base = copy.deepcopy(gs[0]).to("meta"), copy.deepcopy(ds[0]).to("meta")
    G = vmap(lambda p, b, z: functional_call(g_base, (p, b), (z,)))
    D = vmap(lambda p, b, v: functional_call(d_base, (p, b), (v,)))
    opt_g = torch.optim.Adam(gp.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(dp.values(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    b = cfg.batch_size

    def one():
        real = x[torch.randint(len(x), (members, b), device=device)]
        with torch.no_grad():
            fake = G(gp, gb, torch.randn(members, b, 2, device=device))
        # Sum over seeds of each seed's mean loss: every seed's weights get exactly its own gradient.
        loss_d = (F.softplus(-D(dp, db, real)).mean((1, 2)) + F.softplus(D(dp, db, fake)).mean((1, 2))).sum()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(dp, db, G(gp, gb, torch.randn(members, b, 2, device=device)))).mean((1, 2)).sum()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    flops = step_flops(one)
    rate = timed(one, members * b, seconds, device=device)
    return rate, flops * rate / (members * b) / 1e9


# The GPU-sized configs: the paper's widths, and batch 128 where the paper's own batch is smaller.
GPU_SIZED = {
    "gan": {"batch_size": 128},  # the default G and D are already the paper's MNIST networks
    "cgan": {"arch": "conv", "image_size": 64, "width": 128, "batch_size": 128},
    "dcgan": {"image_size": 64, "g_width": 128, "d_width": 128, "batch_size": 128},  # the paper's 64x64 G and D, batch 128
    "lsgan": {"image_size": 64, "g_width": 128, "d_width": 128, "batch_size": 128},
    "wgan": {"image_size": 64, "g_width": 128, "d_width": 128, "batch_size": 128},
    "wgan-gp": {"image_size": 64, "g_width": 128, "d_width": 128, "batch_size": 128},
    # The paper's 128x128 G (64 channels, 6 blocks) and 70x70 PatchGAN; its batch is 1, 16 keeps a GPU busy.
    "cyclegan": {"image_size": 128, "g_width": 64, "n_blocks": 6, "d_width": 64, "d_layers": 3, "batch_size": 16},
    "srgan": {"n_blocks": 16, "g_width": 64, "d_width": 64, "batch_size": 16},  # the paper's SRResNet and D, its batch 16
}


def dense_tflops(device: str, dtype: torch.dtype, n: int, seconds: float) -> float:
    """TFLOP/s of an n x n x n matmul in ``dtype`` on ``device``: the ceiling the conv nets are held to."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    rate = timed(lambda: a @ b, 1, seconds, device=device)
    return 2 * n**3 * rate / 1e12


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads)"


def device_main(args) -> int:
    """The device benchmark (module docstring): one run, one report, ratios measured side by side."""
    import ganzoo

    device, quick = args.device, args.quick
    seconds = args.seconds if args.seconds is not None else (0.3 if quick else 2.0)
    t_start = time.perf_counter()
    n = 8192 if device.startswith("cuda") else (512 if quick else 2048)
    peak_bf16 = dense_tflops(device, torch.bfloat16, n, seconds)
    peak_fp32 = dense_tflops(device, torch.float32, n, seconds)
    print(f"{device_name(device)}: dense matmul {peak_bf16:.1f} TFLOP/s bf16, {peak_fp32:.1f} fp32 ({n}^3)", flush=True)
    names = args.only or ganzoo.list_variants()
    configs = [("default", {})] + ([] if quick else [("gpu-sized", None)])
    compiled_for = set(names) if args.compile_all else ({"dcgan"} if not quick else set())
    rows, best = [], {}
    for name in names:
        for label, settings in configs:
            settings = GPU_SIZED.get(name, {}) if settings is None else settings
            flops = None
            # bf16 autocast on a CPU is an emulation, far slower than fp32: the quick CPU run skips it
            for dtype in ("fp32",) if (quick and device == "cpu") else ("fp32", "bf16"):
                for compiled in (False, True):
                    if compiled and name not in compiled_for:
                        continue
                    run = {**settings, "amp": "off" if dtype == "fp32" else "bf16", "compile": compiled}
                    try:
                        rate, gflops, counted = ours(name, seconds, settings=run, device=device, flops=flops)
                    except Exception as exc:  # a failure is a result here: the report says which and why
                        rows.append((name, label, dtype, "compiled" if compiled else "eager", "FAILED", str(exc).splitlines()[0][:80], "", ""))
                        print(" | ".join(rows[-1]), flush=True)
                        continue
                    flops = counted  # the eager fp32 step's count serves the bf16 and compiled runs of the same config
                    tflops = gflops / 1e3
                    peak = peak_bf16 if dtype == "bf16" else peak_fp32
                    rows.append((name, label, dtype, "compiled" if compiled else "eager", f"{rate:,.0f}",
                                 f"{tflops:.2f}" if tflops == tflops else "n/a", f"{100 * tflops / peak:.1f} %" if tflops == tflops else "n/a", ""))
                    best[(name, label, dtype, compiled)] = (rate, tflops)
                    print(" | ".join(rows[-1]), flush=True)
    size_label = "gpu-sized" if not quick else "default"
    dc = GPU_SIZED["dcgan"] if not quick else {}
    ref_rate, ref_gflops = reference(seconds, device=device, size=dc.get("image_size", 32), width=dc.get("g_width"), batch=dc.get("batch_size"))
    ours_key = ("dcgan", size_label, "bf16" if not (quick and device == "cpu") else "fp32", "dcgan" in compiled_for)
    ours_rate, ours_tflops = best.get(ours_key, (float("nan"), float("nan")))
    peak_ours = peak_bf16 if ours_key[2] == "bf16" else peak_fp32
    ours_desc = ("bf16 + channels_last + compile" if ours_key[3] else f"{ours_key[2]} + channels_last, eager") + \
        (" (a --quick smoke run, not the target's configuration)" if quick else "")
    members = 8 if quick else 64
    single_rate, single_gflops, _ = plain_2d(seconds, device=device)
    stacked_rate, stacked_gflops = batched_2d(seconds, members=members, device=device)
    print(f"reference dcgan loop ({size_label}, fp32 eager): {ref_rate:,.0f} images/s; ours {ours_rate:,.0f} "
          f"({ours_rate / ref_rate:.2f}x); 2-D: one seed {single_rate:,.0f} points/s, {members} together {stacked_rate:,.0f} "
          f"({stacked_rate / single_rate:.1f}x)", flush=True)
    title = "GPU" if device.startswith("cuda") else "device"
    lines = [
        f"# Training throughput on a {title}: {device_name(device)}",
        "",
        f"`python benchmarks/throughput.py --device {device}{' --quick' if quick else ''} --seconds {seconds:g}`, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}; {(time.perf_counter() - t_start) / 60:.1f} minutes. Items are images (points for 2-D data) "
        "consumed by the training step, through ganzoo's trainer (in-memory data, channels_last for conv nets).",
        "",
        f"Dense matmul ({n}x{n}x{n}) on this device: **{peak_bf16:.1f} TFLOP/s bf16**, {peak_fp32:.1f} TFLOP/s fp32; "
        "the % column is the achieved TFLOP/s (FLOPs of an eager step, torch.utils.flop_counter) against the same dtype's.",
        "",
        "| variant | config | dtype | mode | items/s | TFLOP/s | of dense matmul |  |",
        "|---|---|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
        "GPU-sized configs: " + "; ".join(f"`{k}` {v}" for k, v in GPU_SIZED.items()) + ".",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| DCGAN ({size_label}) {ours_desc} vs the pytorch/examples loop (fp32, eager, DataLoader with 2 workers) "
        f"on the same device: >= 3x | {ours_rate:,.0f} vs {ref_rate:,.0f} images/s = **{ours_rate / ref_rate:.2f}x** | "
        f"{'yes' if ours_rate / ref_rate >= 3 else 'no'} |",
        f"| DCGAN ({size_label}) achieved TFLOP/s >= 40 % of {ours_key[2]} dense matmul | {ours_tflops:.2f} of {peak_ours:.1f} = "
        f"**{100 * ours_tflops / peak_ours:.1f} %** | {'yes' if ours_tflops / peak_ours >= 0.4 else 'no'} |",
        f"| 2-D MLP GANs (PacGAN's ring8 networks, batch 100): {members} seeds together (torch.func.vmap) >= 20x the points/s of "
        f"{members} sequential single-seed runs | {stacked_rate:,.0f} vs {single_rate:,.0f} points/s = **{stacked_rate / single_rate:.1f}x** | "
        f"{'yes' if stacked_rate / single_rate >= 20 else 'no'} |",
        "",
        "Sequential single-seed runs consume points at one run's rate, so that rate is the baseline.",
    ]
    out = HERE / "results" / f"throughput-{device.split(':')[0]}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    if args.report:
        Path(args.report).mkdir(parents=True, exist_ok=True)
        (Path(args.report) / out.name).write_text(out.read_text())
    print(f"wrote {out}")
    return 0


def run_rate(variant: str, threads: int, steps: int, env: dict | None = None, amp: str = "auto") -> tuple[float, int]:
    """images/s of `ganzoo run VARIANT` at ``threads`` (0: the default choice) over its steps after
    the first log interval (start-up and warm-up left out), and the thread count the run used."""
    import json
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ganzoo", "run", variant, "--steps", str(steps), "--set", f"log_every={steps // 4}", "--set", "sample_every=0",
               "--set", "checkpoint_every=0", "--set", f"threads={threads}", "--set", f"amp={amp}", "--out", f"{tmp}/run", "-q"]
        full = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
        done = subprocess.run(cmd, capture_output=True, text=True, env={**full, **(env or {})})
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
        rows = [json.loads(line) for line in Path(f"{tmp}/run/metrics.jsonl").read_text().splitlines()]
        rates = [r["images_per_s"] for r in rows if "images_per_s" in r][1:]
        used = json.loads(Path(f"{tmp}/run/config.json").read_text())["torch_threads"]
        return sum(rates) / len(rates), used


def profile_main(args) -> int:
    """Where a variant's training step spends its time, op by op (torch.profiler, self CPU time),
    in fp32 and in bf16 autocast: benchmarks/results/profile-VARIANT.md."""
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    from ganzoo._plugins import registry
    from ganzoo.training import prepare

    lines = [f"# Where {args.profile}'s training step spends its time", "",
             f"`python benchmarks/throughput.py --profile {args.profile}` on {cpu_model()}, {platform.machine()}, {torch.get_num_threads()} threads, torch "
             f"{torch.__version__}, {time.strftime('%Y-%m-%d')}: {PROFILE_STEPS} steps after 3 of warm-up, at the variant's default config, "
             "the ops with the most self CPU time. \"matmul-class\" ops are the convolutions and matrix products (the rate the "
             "% of peak compares with); the rest is elementwise work, normalisation, copies and layout changes around them.", ""]
    peaks = {"off": matmul_gflops(), "bf16": matmul_gflops(dtype=torch.bfloat16)}
    flops = float("nan")
    why = []
    for amp in ("off", "bf16"):
        with tempfile.TemporaryDirectory() as tmp:
            trainer = prepare(registry(), args.profile, settings={"amp": amp}, out=f"{tmp}/run", progress=False)
            step = [0]

            def one():
                with trainer.precision.step():
                    trainer.variant.train_step(trainer.stream, step[0])
                step[0] += 1

            for _ in range(3):
                one()
            if amp == "off":  # a step's FLOPs, counted once in fp32 (autocast changes the dtype, not the count)
                flops = step_flops(one)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                t0 = time.perf_counter()
                for _ in range(PROFILE_STEPS):
                    one()
                wall = time.perf_counter() - t0
            trainer.dir.release()
        events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in events) / 1e6
        heavy = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS) / 1e6
        lines += [f"## {'fp32' if amp == 'off' else 'bf16 autocast'}", "",
                  f"{wall / PROFILE_STEPS * 1000:.0f} ms a step; matmul-class ops take {100 * heavy / total:.0f} % of the profiled self time "
                  f"({heavy:.2f} of {total:.2f} s).", "", "| op | self CPU s | share | calls |", "|---|---|---|---|"]
        lines += [f"| `{e.key}` | {e.self_cpu_time_total / 1e6:.3f} | {100 * e.self_cpu_time_total / 1e6 / total:.1f} % | {e.count} |" for e in events[:15]]
        lines.append("")
        print(f"{args.profile} amp={amp}: {wall / PROFILE_STEPS * 1000:.0f} ms/step, matmul-class {100 * heavy / total:.0f} %", flush=True)
        # The step's FLOPs over its wall time, and over the matmul-class ops' own time alone: the
        # second is the ceiling if every other op (copies, norms, elementwise, Python) cost nothing.
        peak = peaks[amp]
        whole = flops / (wall / PROFILE_STEPS) / 1e9
        own = flops / (heavy * wall / total / PROFILE_STEPS) / 1e9
        why.append(f"- {'fp32' if amp == 'off' else 'bf16'}: the step runs at {whole:.0f} GFLOP/s, {100 * whole / peak:.0f} % of the "
                   f"{peak:.0f} GFLOP/s matmul peak; its convolutions and matrix products alone run at {own:.0f} GFLOP/s, "
                   f"**{100 * own / peak:.0f} %** of it, and the other ops take {100 * (1 - heavy / total):.0f} % of the time.")
    lines += ["## Why not 50 % of the matmul rate", "",
              f"A step's FLOPs ({flops / 1e9:.1f} GFLOP, counted in fp32) over the measured time, against the 2048x2048 matmul peak of "
              "its precision. The wall time here is under the profiler, which adds a little to the small ops:", "", *why, "",
              "The convolutions' own rate is the ceiling: with every other op free, the step could reach that share and no more. "
              "Where it is below 50 %, the layers' shapes (small images, a batch of 16, 3-channel first and last layers, 1x1 and "
              "3x3 kernels over few pixels) keep oneDNN's kernels far from a large square matmul's rate, and nothing around "
              "them can lift that (these numbers are with channels_last, the default, already on); where it is above, the gap is the other ops, and their table above says which.", ""]
    out = HERE / "results" / f"profile-{args.profile}.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")
    return 0


PROFILE_STEPS = 5
MATMUL_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::mkldnn_convolution", "aten::convolution_backward",
              "aten::_convolution", "aten::convolution", "aten::linear")


def contention_main(args) -> int:
    """`ganzoo run dcgan` at 1 thread, at one per core, and at the default, on an idle machine and
    beside one competing process (a pure-Python busy loop: one core's worth of a browser tab)."""
    import subprocess

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    steps = args.steps
    settings = [("1 thread", 1, None), (f"{cores} threads", cores, None),
                (f"{cores} threads, OMP_WAIT_POLICY=passive", cores, {"OMP_WAIT_POLICY": "passive"}), ("default", 0, None)]
    table = []
    for condition in ("idle", "one competing process"):
        competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if condition != "idle" else None
        try:
            time.sleep(1.0)
            rates = {}
            for label, threads, env in settings:
                rate, used = run_rate(args.variant, threads, steps, env)
                rates[label] = (rate, used)
                print(f"{condition}: {label}: {rate:.0f} images/s ({used} thread{'s' * (used != 1)})", flush=True)
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()
        if competitor is not None:
            contended = {label: r for label, (r, _) in rates.items()}
        best = max(r for label, (r, _) in rates.items() if "passive" not in label)
        default, chose = rates["default"]
        table.append((condition, *(f"{rates[label][0]:.0f}" for label, _, _ in settings[:-1]), f"{default:.0f} ({chose} thread{'s' * (chose != 1)})",
                      f"{best / default:.2f}x", "yes" if best / default <= 1.5 else "no"))
    lines = [
        f"{CONTENTION_HEADING}: thread count under contention",
        "",
        f"`python benchmarks/throughput.py --contention --steps {steps}` on {cpu_model()}, {platform.machine()}, with {cores} usable cores, torch "
        f"{torch.__version__}, {time.strftime('%Y-%m-%d')}: `ganzoo run {args.variant} --steps {steps} --set threads=N` in a fresh process "
        "for each setting, images/s over the steps after the first log interval (start-up and warm-up left out), the default "
        "precision (`amp` auto). The competing process is a pure-Python busy loop, one core's worth of load. The default "
        "(`threads=0`) counts the idle cores over 0.2 s before the run starts (ganzoo/_threads.py). One run per cell: "
        "on this shared VM the same setting varies by about 15 % from run to run.",
        "",
        "Why two threads collapse beside a busy process: every parallel op ends at OpenMP's barrier, and one of the two "
        "threads shares its core with the other process, so each of the step's thousands of small ops waits for that "
        "thread's next time slice. Spin-waiting is not what costs most: with `OMP_WAIT_POLICY=passive` (threads sleep at the "
        f"barrier instead of spinning) the contended run gives {contended[settings[2][0]]:.0f} images/s against "
        f"{contended[settings[1][0]]:.0f} spinning, both far below one thread's {contended[settings[0][0]]:.0f}. "
        "One thread has no barrier to wait at. The default "
        "decides once, before the run starts: a process that starts competing later is not seen (a changed thread "
        "count would change the weights mid-run).",
        "",
        "| condition | " + " | ".join(label for label, _, _ in settings[:-1]) + " | default (its choice) | best vs default | default within 1.5x |",
        "|" + "---|" * (len(settings) + 3),
        *["| " + " | ".join(row) + " |" for row in table],
        "",
    ]
    out = HERE / "results" / "throughput.md"  # this section of it replaced (or added); the rest is the main benchmark's
    kept = out.read_text().split(CONTENTION_HEADING)[0].rstrip() + "\n\n" if out.exists() else ""
    out.write_text(kept + "\n".join(lines))
    print(f"wrote {out}")
    return 0


CONTENTION_HEADING = "## A busy machine"


def main() -> int:
    import ganzoo

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=None, help="timed seconds per measurement (default 20; 2 with --device, 0.3 with --quick)")
    parser.add_argument("--only", nargs="+", help="variants to measure (default: all)")
    parser.add_argument("--device", help="run the device benchmark on this device (cuda, cuda:1, cpu) instead of the CPU comparison")
    parser.add_argument("--quick", action="store_true", help="with --device: default configs only, no compilation, short timings (a smoke run)")
    parser.add_argument("--compile-all", action="store_true", help="with --device: measure torch.compile for every variant, not only DCGAN")
    parser.add_argument("--report", metavar="DIR", help="with --device: also copy the results file into DIR")
    parser.add_argument("--contention", action="store_true", help="the thread-count benchmark, idle and beside a competing process "
                        "(its section of benchmarks/results/throughput.md)")
    parser.add_argument("--steps", type=int, default=120, help="with --contention: training steps per measurement")
    parser.add_argument("--e2e-steps", type=int, default=300, help="steps of each end-to-end `ganzoo run dcgan` (fp32 against auto)")
    parser.add_argument("--variant", default="dcgan", help="with --contention: the variant trained")
    parser.add_argument("--profile", metavar="VARIANT", help="profile one variant's step in fp32 and bf16 (benchmarks/results/profile-VARIANT.md)")
    args = parser.parse_args()
    if args.contention:
        return contention_main(args)
    if args.profile:
        return profile_main(args)
    if args.device:
        return device_main(args)
    if args.seconds is None:
        args.seconds = 20
    t_start = time.perf_counter()
    peak = matmul_gflops()
    peak_bf16 = matmul_gflops(dtype=torch.bfloat16)
    print(f"matmul: fp32 {peak:.1f} GFLOP/s, bf16 {peak_bf16:.1f} GFLOP/s; amp auto here: {resolve_precision('auto', torch.device('cpu'))}", flush=True)
    rows = []
    ref_rate, ref_gflops = reference(args.seconds)
    print(f"reference dcgan loop: {ref_rate:.0f} images/s, {ref_gflops:.1f} GFLOP/s", flush=True)
    for name in args.only or ganzoo.list_variants():
        rate, gflops, flops = ours(name, args.seconds, settings={"amp": "off"})
        rate16, gflops16, _ = ours(name, args.seconds, settings={"amp": "bf16"}, flops=flops)
        ratio = f"{rate / ref_rate:.2f}x" if name == "dcgan" else ""
        counted = gflops == gflops  # not NaN
        auto = "bf16" if ganzoo_registry().variant(name).cpu_bf16 and resolve_precision("auto", torch.device("cpu")) == "bf16" else "fp32"
        rows.append((name, f"{rate:.0f}", f"{gflops:.1f}" if counted else "n/a", f"{100 * gflops / peak:.0f} %" if counted else "n/a",
                     f"{rate16:.0f}", f"{100 * gflops16 / peak_bf16:.0f} %" if counted else "n/a", f"{rate16 / rate:.2f}x", auto, ratio))
        print(" | ".join(rows[-1]), flush=True)
    # The 2-D MLPs: ganzoo's gan on ring8 against a plain eager loop of the same networks, and
    # the matmul rate at their layer shape (a batch of 100 through 400x400), which bounds both.
    small_peak = matmul_gflops(400, m=100)
    plain_rate, plain_gflops, plain_share = plain_2d(args.seconds)
    gan2d_rate, gan2d_gflops, _ = ours("gan", args.seconds, data="ring8", settings={"amp": "off"})  # fp32, as the plain loop
    batched_rate, batched_gflops = batched_2d(args.seconds)
    print(f"2-D: plain {plain_rate:.0f} points/s ({plain_gflops:.1f} GFLOP/s), ganzoo {gan2d_rate:.0f} ({gan2d_gflops:.1f}); "
          f"matmul 100x400x400 {small_peak:.1f} GFLOP/s; the plain loop spends {100 * plain_share:.0f} % of its time in matmuls", flush=True)
    lines = [
        "# Training throughput",
        "",
        f"`python benchmarks/throughput.py --seconds {args.seconds:g}` on {cpu_model()}, {platform.machine()}, {os.cpu_count()} CPU cores "
        f"({torch.get_num_threads()} torch threads), torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; "
        f"{(time.perf_counter() - t_start) / 60:.0f} minutes. Each variant at its default config on its default data; "
        "items are images (points for 2-D data) consumed by the training step.",
        "",
        f"Matmul on this machine (2048x2048, the ceilings for the % columns): fp32 **{peak:.1f} GFLOP/s**, bf16 **{peak_bf16:.1f} GFLOP/s**. "
        f"This CPU {'has' if resolve_precision('auto', torch.device('cpu')) == 'bf16' else 'lacks'} bf16 units (AMX or AVX-512 BF16). "
        "Each variant's step is measured in fp32 (`amp=off`) and under bf16 autocast (`amp=bf16`); a step's FLOPs are counted once, in fp32. "
        "`--amp auto` trains in bf16 on such a CPU only the variants that declare `cpu_bf16` (those whose step measured faster in bf16 on both bf16 CPUs we ran this on: an AMD EPYC with AVX-512 BF16 on 2026-12-06, this Xeon with AMX on 2026-12-07), on image data; "
        "the `auto` column says which.",
        "",
        f"Reference loop (pytorch/examples dcgan/main.py: DataLoader with per-sample transforms and 2 workers, Sigmoid + BCELoss, "
        f"our DCGAN's architecture, batch size and fp32): **{ref_rate:.0f} images/s**, {ref_gflops:.1f} GFLOP/s.",
        "",
        "| variant | fp32 items/s | fp32 GFLOP/s | of fp32 matmul | bf16 items/s | of bf16 matmul | bf16 vs fp32 | auto | fp32 vs reference loop |",
        "|---|---|---|---|---|---|---|---|---|",
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
    if "dcgan" in (args.only or ["dcgan"]):
        pairs = end_to_end(args.e2e_steps)
        ratios = sorted(auto / off for _, off, auto in pairs)
        lines += [
            "",
            "## dcgan end to end",
            "",
            f"`ganzoo run dcgan --steps {args.e2e_steps}` as a user runs it (data loading, logging and the thread choice included; "
            "images/s after the first log interval), `--amp off` against the default `auto`, in fresh processes, "
            "alternating pairs. This is the number a user sees; the table above times the step alone.",
            "",
            "| pair | fp32 images/s | auto images/s | auto vs fp32 |",
            "|---|---|---|---|",
        ] + [f"| {i} | {off:.0f} | {auto:.0f} | {auto / off:.2f}x |" for i, off, auto in pairs] + [
            "",
            f"Median **{ratios[len(ratios) // 2]:.2f}x** (range {ratios[0]:.2f}-{ratios[-1]:.2f}x); auto here: "
            f"{'bf16' if ganzoo_registry().variant('dcgan').cpu_bf16 and resolve_precision('auto', torch.device('cpu')) == 'bf16' else 'fp32'}.",
        ]
    out = HERE / "results" / "throughput.md"
    out.parent.mkdir(exist_ok=True)
    contention = out.read_text().partition(CONTENTION_HEADING) if out.exists() else ("", "", "")
    out.write_text("\n".join(lines) + "\n" + (f"\n{contention[1]}{contention[2]}" if contention[1] else ""))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
