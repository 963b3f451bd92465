"""The thread count of a CPU run: the idle cores when it starts, printed, recorded and kept on resume."""

import json

import pytest
import torch

import ganzoo
from ganzoo import _threads

FAST = {"g_width": 8, "d_width": 8, "batch_size": 8, "sample_every": 0}


def test_the_count_follows_the_idle_cores_and_yields_to_the_users_own(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for idle, expected in ((1.2, 1), (1.6, 2), (0.1, 1), (7.9, 4)):  # at least 1, at most torch's default (4 here)
        monkeypatch.setattr(_threads, "idle_cores", lambda idle=idle: idle)
        assert _threads.choose(0, 4) == expected
    assert _threads.choose(3, 4) == 3  # --set threads=3
    monkeypatch.setattr(_threads, "idle_cores", lambda: 4.0)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two processes of one torchrun on this machine: half the idle cores each
    assert _threads.choose(0, 4) == 2
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    monkeypatch.setattr(_threads, "idle_cores", lambda: None)  # no /proc/stat (macOS, Windows): torch's default
    assert _threads.choose(0, 4) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user's own choice, which torch already follows
    monkeypatch.setattr(_threads, "idle_cores", lambda: 1.0)
    assert _threads.choose(0, 2) == 2


def test_idle_cores_are_read_from_the_usable_cpus_within_the_quota(tmp_path, monkeypatch):
    import os

    if not os.path.exists("/proc/stat"):
        pytest.skip("Linux only")
    idle = _threads.idle_cores(0.05)
    assert idle is not None and 0 <= idle <= len(_threads.usable_cpus()) + 1e-9
    quota = tmp_path / "cpu.max"
    quota.write_text("50000 100000\n")  # half a CPU
    monkeypatch.setattr(_threads, "CPU_MAX", str(quota))
    assert _threads.cgroup_cpus() == 0.5 and _threads.idle_cores(0.05) <= 0.5
    quota.write_text("max 100000\n")
    assert _threads.cgroup_cpus() is None


def test_a_run_records_its_thread_count_and_a_resume_takes_it_again(tmp_path, monkeypatch):
    from ganzoo._plugins import registry
    from ganzoo.training import prepare_resume

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.setattr(_threads, "idle_cores", lambda: 1.0)
        from ganzoo.training import prepare

        result = prepare(registry(), "dcgan", out=tmp_path / "r", settings={"steps": 2, **FAST}, progress=False, auto_threads=True).fit()
        doc = json.loads((result.run_dir / "config.json").read_text())
        assert doc["train"]["threads"] == 0 and doc["torch_threads"] == 1  # the intent (auto), and the count it took
        # ganzoo.train is a library call: it leaves the caller's thread count as it is
        torch.set_num_threads(2)
        library = ganzoo.train("dcgan", out=str(tmp_path / "lib"), steps=1, **FAST)
        assert json.loads((library.run_dir / "config.json").read_text())["torch_threads"] == 2 == torch.get_num_threads()

        def resume(**settings):
            prepare_resume(registry(), result.run_dir, steps=3, settings=settings, progress=False).dir.release()
            return torch.get_num_threads()

        monkeypatch.setattr(_threads, "idle_cores", lambda: 8.0)  # the machine is idle now: the resume still takes 1
        torch.set_num_threads(2)
        assert resume() == 1
        assert resume(threads=2) == 2  # unless told otherwise
    finally:
        torch.set_num_threads(before)


def test_the_header_says_the_precision_and_threads(cli):
    done = cli("run", "dcgan", "--steps", "1", "--batch-size", "4", "--set", "g_width=8", "--set", "d_width=8", "--set", "threads=1",
               "--set", "amp=off")
    assert done.returncode == 0 and "steps on cpu (fp32, 1 thread)" in done.stderr, done.stderr
