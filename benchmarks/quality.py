"""Train built-in variants on their benchmark datasets and score them beside the papers' numbers.

    python benchmarks/quality.py [--seeds 3] [--only ring8 grid25 ...]

Every configuration is trained with `ganzoo.train` (the variant's default config unless the row
says otherwise) for each seed, scored with `ganzoo.eval.evaluate`, and reported as mean +- std in
benchmarks/results/quality.md, beside the published number on the same protocol.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (variant, dataset, settings, metric, keys, published, target)
CONFIGS = {
    "ring8": [
        ("gan", "ring8", {}, "modes-pacgan-n2500", ("modes", "high_quality_percent", "reverse_kl"),
         "GAN 1 mode / 99.3 % (VEEGAN Tab. 1); GAN 6.3 / 98.2 % (PacGAN Tab. 1)", "8 modes, >= 97 %"),
        ("gan", "ring8", {"pack": 2}, "modes-pacgan-n2500", ("modes", "high_quality_percent", "reverse_kl"),
         "PacGAN2 7.9 / 95.6 % (PacGAN Tab. 1); VEEGAN 8 / 52.9 %", "8 modes, >= 97 %"),
    ],
    "grid25": [
        ("gan", "grid25", {}, "modes-pacgan-n2500", ("modes", "high_quality_percent", "reverse_kl"), "-", "25 modes, >= 95 %"),
        ("gan", "grid25", {"pack": 2}, "modes-pacgan-n2500", ("modes", "high_quality_percent", "reverse_kl"),
         "PacGAN2 23.8 / 91.3 % (PacGAN Tab. 1)", "25 modes, >= 95 %"),
    ],
    "stacked-digits": [
        ("dcgan", "stacked-digits", {}, "modes-stacked-digits-n26000", ("modes", "kl"), "DCGAN 78.9 modes, KL 4.50 (PacGAN Tab. 2)", "1,000 modes, KL <= 0.1"),
        ("dcgan", "stacked-digits", {"pack": 2}, "modes-stacked-digits-n26000", ("modes", "kl"), "PacDCGAN2 1,000 modes, KL 0.06 (PacGAN Tab. 2)", "1,000 modes, KL <= 0.1"),
    ],
    "cgan": [
        ("cgan", "digits", {}, "label-accuracy-digitscnn-n10000", ("accuracy",), "-", "accuracy >= 0.97"),
    ],
    "dcgan-fid": [
        ("dcgan", "digits", {}, "fid-digitscnn-halves", ("fid", "fid_real_floor"), "-", "FID <= 2x the real-vs-real floor"),
    ],
}


def fmt(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3g}"
    return f"{statistics.mean(values):.3g} ± {statistics.stdev(values):.2g}"


def main() -> int:
    import torch

    import ganzoo
    from ganzoo.eval import evaluate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per configuration (default 3)")
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGS), help="run only these groups")
    args = parser.parse_args()
    groups = args.only or list(CONFIGS)
    rows, t_start = [], time.perf_counter()
    for group in groups:
        for variant, dataset, settings, metric, keys, published, target in CONFIGS[group]:
            per_key: dict[str, list[float]] = {k: [] for k in keys}
            t0 = time.perf_counter()
            for seed in range(args.seeds):
                with tempfile.TemporaryDirectory() as tmp:
                    result = ganzoo.train(variant, data=dataset, out=f"{tmp}/run", seed=seed, **settings)
                    values = evaluate(result.run_dir, [metric], seed=seed, write=False)["metrics"][metric]["values"]
                for k in keys:
                    per_key[k].append(float(values[k]))
            label = f"{variant} {' '.join(f'{k}={v}' for k, v in settings.items())}".strip()
            measured = ", ".join(f"{k} {fmt(v)}" for k, v in per_key.items())
            rows.append((dataset, label, metric, measured, published, target, f"{(time.perf_counter() - t0) / args.seeds:.0f}"))
            print(" | ".join(rows[-1]), flush=True)
    lines = [
        "# Quality against the papers",
        "",
        f"`python benchmarks/quality.py --seeds {args.seeds}` on {platform.machine()} with {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}; {(time.perf_counter() - t_start) / 60:.0f} minutes in all. "
        "Each configuration is the variant's default `ganzoo run` budget (a few CPU minutes), not the papers' budgets.",
        "",
        "| data | configuration | metric (protocol id) | ours (mean ± std over seeds) | published | target | s per seed |",
        "|---|---|---|---|---|---|---|",
    ] + ["| " + " | ".join(r) + " |" for r in rows]
    out = HERE / "results" / "quality.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
