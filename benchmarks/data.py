"""The data path at scale (#29): prepare rate, memory while training, start-up on a cache hit, and
the stream's own throughput, on a synthetic folder this script makes.

    python benchmarks/data.py [--n 50000] [--small 5000] [--work DIR]
    python benchmarks/data.py --quick           # n 4,000 / 1,000: checks the script, numbers indicative

The folder: N images of mixed sizes around 128 px (100-160 on each side), 1 in 10 grey PNG, 1 in
10 RGBA PNG, the rest JPEG, written once into --work (default /tmp/ganzoo-data-bench) and reused.
Measured, each against its target in #29:

- prepare rate on every core against one process (`ganzoo prepare --size 128 --workers 1|cores`);
- peak RSS of `ganzoo run r3gan --set image_size=128 --set stream=on` (8 steps) from the prepared N
  and from a prepared subset of `--small` images (sampled from /proc, medians of three runs each):
  growth with N must stay < 100 MB;
- time from the command to the first training step on the second run of the same folder (a cache
  hit): `ganzoo run dcgan --data FOLDER --set image_size=64 --steps 1`, whole command, torch import
  included;
- batches delivered by the stream alone (uint8 from the map to float on the CPU, batch 128 at 128
  px), and the same for two ranks, whose shares of an epoch are checked disjoint and complete.

Writes benchmarks/results/data.md. Nothing else should run meanwhile: the numbers are wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
RSS_RUNS = 3  # training runs of each size behind the peak-RSS medians
GANZOO = [sys.executable, "-m", "ganzoo"]


def _make(args: tuple[Path, int, int]) -> None:
    import numpy as np
    from PIL import Image

    folder, start, stop = args
    rng = np.random.default_rng(start)
    for i in range(start, stop):
        w, h = (int(v) for v in rng.integers(100, 161, 2))
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if i % 10 == 0:
            Image.fromarray(pixels[:, :, 0]).save(folder / f"{i:06d}.png")  # grey
        elif i % 10 == 1:
            rgba = np.concatenate([pixels, rng.integers(0, 256, (h, w, 1), dtype=np.uint8)], axis=2)
            Image.fromarray(rgba, "RGBA").save(folder / f"{i:06d}.png")
        else:
            Image.fromarray(pixels).save(folder / f"{i:06d}.jpg", quality=90)


def make_folder(folder: Path, n: int) -> Path:
    if folder.is_dir() and len(list(folder.iterdir())) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cores = os.cpu_count() or 1
    chunks = [(folder, i, min(n, i + 1000)) for i in range(0, n, 1000)]
    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_make, chunks))
    return folder


def timed(cmd: list[str], env: dict | None = None) -> float:
    """Wall seconds of a command, which must succeed."""
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - t0


def rss_of(cmd: list[str]) -> tuple[int, int]:
    """Peak memory of one child, sampled from /proc every 50 ms: (anonymous, file-backed) bytes. The
    anonymous part is the process's own memory; the file-backed part is the prepared file's pages
    it has touched, which the kernel reclaims under pressure."""
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    anon = file = 0
    while child.poll() is None:
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
        except OSError:
            break
        fields = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith(("RssAnon", "RssFile"))}
        anon, file = max(anon, fields.get("RssAnon", 0)), max(file, fields.get("RssFile", 0))
        time.sleep(0.05)
    if child.wait() != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {child.stderr.read()[-2000:] if child.stderr else ''}")
    return anon, file


def subset(prepared: Path, out: Path, n: int) -> Path:
    """The first ``n`` images of a prepared dataset, as a prepared dataset of its own."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    manifest = json.loads((prepared / "manifest.json").read_text())
    _, c, h, w = manifest["shape"]
    with open(prepared / "images.u8", "rb") as f:
        (out / "images.u8").write_bytes(f.read(n * c * h * w))
    manifest["shape"][0] = n
    from ganzoo.data.prepared import _sha256

    manifest["sha256"] = _sha256(out / "images.u8")
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def stream_rate(prepared: Path, world: int = 1, seconds: float = 5.0) -> tuple[float, bool]:
    """Images per second the stream delivers (as float, on the CPU), per rank; and whether the ranks'
    shares of one epoch are disjoint and together complete."""
    import torch

    from ganzoo.data import BatchStream
    from ganzoo.data.prepared import load_prepared
    from ganzoo.data.types import DataRequest

    data = load_prepared(prepared, DataRequest())
    streams = [BatchStream(data, 128, seed=0, rank=r, world=world, device="cpu") for r in range(world)]
    for s in streams:
        s.next()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for s in streams:
            x = s.next().x
            n += len(x)
    rate = n / (time.perf_counter() - t0) / world
    per_epoch = len(data) // (128 * world)
    shares = [set() for _ in range(world)]
    for r in range(world):
        probe = BatchStream(data, 128, seed=0, rank=r, world=world)
        for _ in range(per_epoch):
            shares[r] |= set(probe._indices(len(data), 0).tolist())
            probe.position += 1
    union = set().union(*shares)
    ok = sum(len(s) for s in shares) == len(union) == per_epoch * 128 * world
    del x, torch
    return rate, ok


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50_000)
    p.add_argument("--small", type=int, default=5_000)
    p.add_argument("--work", default="/tmp/ganzoo-data-bench")
    p.add_argument("--quick", action="store_true", help="n 4,000 and small 1,000")
    args = p.parse_args()
    if args.quick:
        args.n, args.small = 4_000, 1_000
    work = Path(args.work)
    cores = os.cpu_count() or 1
    env = {"GANZOO_DATA_DIR": str(work / "data-root")}
    t0 = time.perf_counter()
    folder = make_folder(work / f"folder-{args.n}", args.n)
    print(f"folder of {args.n:,} images: {time.perf_counter() - t0:.0f} s", flush=True)

    # Two of each, alternating, best of each: on a shared 2-core VM one slow spell would otherwise
    # decide the ratio (single runs of the same command differed by 15 %).
    ones, manys = [], []
    for _ in range(2):
        ones.append(timed([*GANZOO, "prepare", str(folder), "-o", str(work / "prep-1"), "--size", "128", "--workers", "1", "-q"]))
        manys.append(timed([*GANZOO, "prepare", str(folder), "-o", str(work / "prep"), "--size", "128", "--workers", str(cores), "-q"]))
    one, many = min(ones), min(manys)
    print(f"prepare: {args.n / one:.0f} images/s on 1 process, {args.n / many:.0f} on {cores} (runs: {ones}, {manys})", flush=True)
    small = subset(work / "prep", work / "prep-small", args.small)

    # Peak RSS is set by the training step's activations, and varies by +-100 MB from run to run with
    # the allocator's timing: three runs of each size, alternating, compared by their medians.
    train = ["run", "r3gan", "--set", "image_size=128", "--set", "stream=on", "--steps", "8", "--batch-size", "32",
             "--set", "sample_every=0", "--set", "checkpoint_every=0", "-q"]
    big_runs, small_runs = [], []
    for _ in range(RSS_RUNS):
        big_runs.append(rss_of([*GANZOO, *train, "--data", str(work / "prep"), "--out", str(work / "run-big")]))
        small_runs.append(rss_of([*GANZOO, *train, "--data", str(small), "--out", str(work / "run-small")]))
        shutil.rmtree(work / "run-big", ignore_errors=True)
        shutil.rmtree(work / "run-small", ignore_errors=True)
    rss_big, file_big = (statistics.median(v) for v in zip(*big_runs))
    rss_small, file_small = (statistics.median(v) for v in zip(*small_runs))
    spread = max(max(a for a, _ in runs) - min(a for a, _ in runs) for runs in (big_runs, small_runs)) / 2**20
    print(f"peak anonymous RSS (medians of {RSS_RUNS}): {rss_small / 2**20:.0f} MB at {args.small:,}, {rss_big / 2**20:.0f} MB at {args.n:,} "
          f"(file-backed: {file_small / 2**20:.0f} / {file_big / 2**20:.0f} MB; runs of one size differ by up to {spread:.0f} MB)", flush=True)

    shutil.rmtree(work / "data-root", ignore_errors=True)
    first_run = ["run", "dcgan", "--data", str(folder), "--set", "image_size=64", "--steps", "1", "--set", "sample_every=0", "-q"]
    cold = timed([*GANZOO, *first_run, "--out", str(work / "cold")], env)
    warm = timed([*GANZOO, *first_run, "--out", str(work / "warm")], env)
    for d in ("cold", "warm"):
        shutil.rmtree(work / d, ignore_errors=True)
    print(f"a 1-step run of the folder: {cold:.1f} s the first time (prepares it), {warm:.1f} s the second (cache hit)", flush=True)

    rate1, _ = stream_rate(work / "prep", 1)
    rate2, disjoint = stream_rate(work / "prep", 2)
    print(f"stream: {rate1:.0f} images/s; two ranks: {rate2:.0f} each, shares disjoint and complete: {disjoint}", flush=True)

    growth = (rss_big - rss_small) / 2**20
    rows = [
        ("prepare rate, all cores against one process (best of 2 each)",
         f"{args.n / many:,.0f} against {args.n / one:,.0f} images/s: {one / many:.2f}x on {cores} cores",
         ">= 1.6x on 2 cores", "yes" if one / many >= 0.8 * cores else "no"),
        (f"peak RSS (anonymous, median of {RSS_RUNS} runs) training r3gan at 128 px, streamed: {args.small:,} vs {args.n:,} images",
         f"{rss_small / 2**20:,.0f} MB vs {rss_big / 2**20:,.0f} MB ({growth:+,.0f} MB; runs of one size differ by up to {spread:,.0f} MB); "
         f"file-backed: {file_small / 2**20:,.0f} vs {file_big / 2**20:,.0f} MB", "growth < 100 MB", "yes" if growth < 100 else "no"),
        ("command to first step, second run of the folder (cache hit)", f"{warm:.1f} s (first run, preparing: {cold:.1f} s)", "< 10 s", "yes" if warm < 10 else "no"),
        ("stream alone, batch 128 at 128 px, uint8 map -> float CPU", f"{rate1:,.0f} images/s", ">= 10,000 images/s", "yes" if rate1 >= 10_000 else "no"),
        ("the same, 2 ranks (each its share)", f"{rate2:,.0f} images/s per rank; shares disjoint and complete: {disjoint}", "disjoint, complete",
         "yes" if disjoint else "no"),
    ]
    lines = [
        "# The data path at scale",
        "",
        f"`python benchmarks/data.py --n {args.n} --small {args.small}` on {platform.processor() or platform.machine()}, {cores} cores, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d', time.gmtime())}. The folder: {args.n:,} synthetic images, "
        "100-160 px a side, 1 in 10 grey PNG, 1 in 10 RGBA PNG, the rest JPEG (quality 90); prepared at 128 px.",
        "",
        "| measure | value | target | met |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        "Peak RSS is sampled from /proc every 50 ms: anonymous memory (torch, the model, the batches) is the",
        "process's own; file-backed pages (the memory map's, torch's libraries') are the kernel's to drop.",
        "The stream reads each batch's images with preadv into its own buffer, so the prepared file's pages stay",
        "the kernel's page cache and never count towards the process, however much of the file an epoch reads.",
        "",
    ]
    out = HERE / "results" / "data.md"
    out.write_text("\n".join(lines))
    print(out)


if __name__ == "__main__":
    main()
