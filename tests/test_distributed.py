"""Multi-process training: two CPU processes with gloo through the real torchrun launcher."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

HERE = Path(__file__).parent


def torchrun(*args, cwd):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(HERE / "ddp_worker.py"), *map(str, args)]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_hold_identical_weights_resume_exactly_and_export(tmp_path, cli):
    # A run of 4 steps, and one interrupted after step 2 (a checkpoint), in one launch; then the resume, in a fresh one.
    torchrun("new", tmp_path / "straight", 4, 4, "new", tmp_path / "stopped", 4, 2, cwd=tmp_path)
    r0, r1 = load_file(tmp_path / "straight" / "rank0-step4.safetensors"), load_file(tmp_path / "straight" / "rank1-step4.safetensors")
    assert r0.keys() == r1.keys() and all(torch.equal(r0[k], r1[k]) for k in r0)  # gradients were averaged
    assert (tmp_path / "stopped" / "rank1-step2.safetensors").is_file()

    torchrun("resume", tmp_path / "stopped", 4, 4, cwd=tmp_path)
    resumed = load_file(tmp_path / "stopped" / "rank1-step4.safetensors")
    assert all(torch.equal(resumed[k], r1[k]) for k in r1)  # every rank's RNG and data position restored

    import ganzoo

    model = ganzoo.load(str(tmp_path / "straight" / "export"))
    assert model.sample(2).shape == (2, 1, 32, 32)
    single = ganzoo.train("dcgan", out=str(tmp_path / "one"), steps=4, batch_size=8, g_width=8, d_width=8)
    one = load_file(next((single.run_dir / "checkpoints").glob("step-*.safetensors")))
    assert not torch.equal(one["net.generator.blocks.0.conv.weight"], r0["generator.blocks.0.conv.weight"])  # 2 processes: twice the data per step


def test_nproc_runs_torchrun_for_you(real_cli, tmp_path):  # the launcher execs torchrun: a real process
    done = real_cli("run", "dcgan", "--nproc", "2", "--steps", "2", "--batch-size", "8", "--set", "g_width=8", "--set", "d_width=8",
               "--out", "ddp", env={"OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "torch.distributed.run --standalone --nproc_per_node=2 -m ganzoo run dcgan" in done.stderr
    assert "x 2 processes" in done.stderr and done.stdout.count("trained 2 steps") == 1  # rank 0 alone reports
    assert (tmp_path / "ddp" / "export" / "model.safetensors").is_file()
