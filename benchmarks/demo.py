"""Time each variant's offline demo, `ganzoo run NAME` with no other argument, as a user runs it.

    python benchmarks/demo.py [NAME ...]      # default: every installed variant

Writes benchmarks/results/demo.md: wall time of the whole command (start-up included), the
images/s the trainer reported, and where the final grid is, so a person can look at it.
The target (issue 2/3): at most about 3 minutes on 2 CPU cores.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    import torch

    import ganzoo

    names = names or ganzoo.list_variants()
    exe = Path(sys.executable).with_name("ganzoo")
    keep = HERE / "results" / "demo-runs"
    rows = []
    for name in names:
        out = keep / name
        with tempfile.TemporaryDirectory() as cwd:
            t0 = time.perf_counter()
            done = subprocess.run([str(exe), "run", name, "--out", str(out)], cwd=cwd, capture_output=True, text=True)
            wall = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            rows.append((name, f"{wall:.0f}", "failed", "-"))
            continue
        ips = next((l.split(" at ")[1].split()[0] for l in done.stdout.splitlines() if l.startswith("trained")), "?")
        grid = next((l.split(": ", 1)[1] for l in done.stdout.splitlines() if l.startswith("samples: ")), "?")
        rows.append((name, f"{wall:.0f}", ips, grid))
        print(f"{name}: {wall:.0f} s, {ips} images/s, grid {grid}")
    lines = [
        "# Offline demo times",
        "",
        f"`python benchmarks/demo.py` on {platform.machine()} with {os.cpu_count()} CPU cores, "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), {time.strftime('%Y-%m-%d')}.",
        "Wall time is the whole `ganzoo run NAME` command, start-up and export included. Target: at most about 180 s.",
        "",
        "| variant | wall time (s) | images/s | final grid |",
        "|---|---|---|---|",
    ] + [f"| {n} | {w} | {i} | `{Path(g).relative_to(HERE) if g not in ('?', '-') else g}` |" for n, w, i, g in rows]
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "demo.md").write_text("\n".join(lines) + "\n")
    return 0 if all(r[2] != "failed" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
