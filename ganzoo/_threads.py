"""How many threads `ganzoo run` gives torch: as many as there are cores free when it starts.

Why not torch's default (one per physical core): every parallel op waits at OpenMP's barrier for
its slowest thread. When another process holds one of the cores, the thread that shares it is
descheduled for whole scheduler slices, and each of the thousands of small ops in a training step
waits for it. On 2 cores with one busy process (a browser, another run), 2 threads trained
`ganzoo run dcgan` several times slower than 1 (benchmarks/results/throughput.md, "A busy
machine"). So a run counts the idle cores among those it may use (its CPU affinity, within a
container's CPU quota) over a fifth of a second before it starts, and takes that many threads, at
most torch's default. The count is printed and recorded in the run: weights are bit-identical only
at the same thread count, so a resume takes the recorded count, and `--set threads=N` (or
OMP_NUM_THREADS) fixes it.
"""

from __future__ import annotations

import os
import time

SAMPLE_S = 0.2  # how long idle time is sampled before a run starts
CPU_MAX = "/sys/fs/cgroup/cpu.max"  # cgroup v2's CPU quota of this process's group (containers)
_DEFAULT: list[int] = []  # torch's own thread count, as it was before any run changed it


def torch_default() -> int:
    """torch's thread count before the first run of this process set its own (one per physical core, or OMP_NUM_THREADS)."""
    import torch

    if not _DEFAULT:
        _DEFAULT.append(torch.get_num_threads())
    return _DEFAULT[0]


def choose(requested: int, default: int) -> int:
    """The thread count for a run: ``requested`` when > 0, OMP_NUM_THREADS when set, else the idle
    cores now (at most ``default``, torch's own choice); ``default`` where idleness cannot be read."""
    if requested > 0:
        return requested
    if os.environ.get("OMP_NUM_THREADS", "").isdigit():
        return default  # the user's own setting, which torch already follows
    idle = idle_cores()
    if idle is None:
        return default
    local = os.environ.get("LOCAL_WORLD_SIZE", "1")  # torchrun's processes on this machine share its idle cores
    return max(1, min(default, int(idle / (int(local) if local.isdigit() and int(local) > 0 else 1) + 0.5)))


def usable_cpus() -> list[int]:
    getter = getattr(os, "sched_getaffinity", None)
    return sorted(getter(0)) if getter else list(range(os.cpu_count() or 1))


def idle_cores(seconds: float = SAMPLE_S) -> float | None:
    """Cores of this process's affinity set that sat idle over ``seconds`` (Linux's /proc/stat),
    capped by the cgroup CPU quota; None where those cannot be read."""
    cpus = usable_cpus()
    first = _cpu_times(cpus)
    if first is None:
        return None
    time.sleep(seconds)
    second = _cpu_times(cpus)
    if second is None:
        return None
    idle = 0.0
    for cpu in cpus:
        (busy0, idle0), (busy1, idle1) = first.get(cpu, (0, 0)), second.get(cpu, (0, 0))
        total = (busy1 - busy0) + (idle1 - idle0)
        idle += (idle1 - idle0) / total if total > 0 else 1.0
    quota = cgroup_cpus()
    return min(idle, quota) if quota is not None else idle


def _cpu_times(cpus: list[int]) -> dict[int, tuple[int, int]] | None:
    """(busy, idle) clock ticks of each of ``cpus`` so far."""
    try:
        with open("/proc/stat") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    wanted = set(cpus)
    out = {}
    for line in lines:
        name, *fields = line.split()
        if not name.startswith("cpu") or name == "cpu" or not name[3:].isdigit() or int(name[3:]) not in wanted:
            continue
        ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
        idle = ticks[3] + ticks[4]
        out[int(name[3:])] = (sum(ticks) - idle, idle)
    return out or None


def cgroup_cpus() -> float | None:
    """The CPUs a cgroup v2 quota allows (cpu.max "200000 100000" -> 2.0); None when unlimited or unknown."""
    try:
        with open(CPU_MAX) as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)
