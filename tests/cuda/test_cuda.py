"""The CUDA path, on a GPU: mixed precision, channels_last, torch.compile, DDP over nccl, loading and
sampling on the device, Inception features. Every test skips, with its reason, where there is no
CUDA GPU (CI and the development machines), so the normal suite is unchanged; on a GPU,
`bash benchmarks/gpu_check.sh OUT` runs this file and the GPU benchmark together.

Tolerances are stated where a GPU result is compared with another: eager vs compiled losses agree
to 2e-2 relative after a few steps (kernel fusion reorders floating-point sums), GPU vs CPU samples
to 2e-3 absolute in [0, 1] (TF32/cuDNN convolution algorithms), Inception features to 1e-2
relative, FID to 1 % relative.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo._plugins import registry
from ganzoo.testing import check_variant

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)"),
]

VARIANTS = ["gan", "cgan", "dcgan", "lsgan", "wgan", "wgan-gp", "cyclegan", "srgan"]
SMALL = {"srgan": {"hr_size": 16}, "cyclegan": {"image_size": 16}}  # tiny data for the conformance check
CONV = ["dcgan", "lsgan", "wgan", "wgan-gp", "cyclegan", "srgan"]


@pytest.fixture
def deterministic(monkeypatch):
    """Bit-exact resume on a GPU needs deterministic kernels (cuBLAS needs its workspace pinned)."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=False)
    torch.backends.cudnn.benchmark = False
    yield
    torch.use_deterministic_algorithms(False)


def _bf16() -> bool:
    return torch.cuda.is_bf16_supported()


@pytest.mark.parametrize("amp", ["auto", "bf16", "fp16"])
@pytest.mark.parametrize("name", VARIANTS)
def test_conformance_on_cuda(name, amp, tmp_path, deterministic):
    if amp == "bf16" and not _bf16():
        pytest.skip("this GPU has no bf16 support")
    check_variant(name, tmp_path, settings=SMALL.get(name), device="cuda", amp=amp)


@pytest.mark.parametrize("name", ["dcgan", "wgan-gp"])
def test_fp16_checkpoints_hold_the_grad_scaler_and_resume_to_the_step(name, tmp_path, deterministic):
    from ganzoo.training import prepare_resume
    from ganzoo.training.checkpoint import latest_checkpoint, read_checkpoint

    common = dict(steps=4, batch_size=16, sample_every=0, checkpoint_every=2, device="cuda", amp="fp16")
    if name in ("dcgan", "wgan-gp"):
        common.update(g_width=8, d_width=8)
    ganzoo.train(name, out=str(tmp_path / "straight"), **common)
    ganzoo.train(name, out=str(tmp_path / "split"), **{**common, "steps": 2})
    _, meta = read_checkpoint(latest_checkpoint(tmp_path / "split" / "checkpoints"))
    assert meta["grad_scaler"] and meta["grad_scaler"]["scale"] > 0
    trainer = prepare_resume(registry(), tmp_path / "split", steps=4, progress=False)
    assert trainer.step == 2 and trainer.precision.scaler.get_scale() == meta["grad_scaler"]["scale"]
    trainer.fit()
    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "straight" / "export" / "model.safetensors"))
    b = load_file(str(tmp_path / "split" / "export" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a), "fp16 resume on CUDA is not exact"


@pytest.mark.parametrize("name", CONV)
def test_channels_last_trains_and_matches_contiguous(name, tmp_path):
    settings = dict(steps=2, batch_size=8, sample_every=0, device="cuda", amp="off", **SMALL.get(name, {}))
    if name in ("cyclegan", "srgan"):
        settings.update(g_width=4, d_width=4, n_blocks=1)
    last = ganzoo.train(name, out=str(tmp_path / "nhwc"), channels_last=True, **settings)
    plain = ganzoo.train(name, out=str(tmp_path / "nchw"), channels_last=False, **settings)
    rows = [__import__("json").loads(line) for line in last.metrics.read_text().splitlines()]
    base = [__import__("json").loads(line) for line in plain.metrics.read_text().splitlines()]
    for r, b in zip(rows, base):
        for key in r:
            if key.startswith("loss"):
                assert abs(r[key] - b[key]) <= 2e-2 * max(1.0, abs(b[key])), (key, r[key], b[key])


@pytest.mark.parametrize("name", ["dcgan", "gan", "cyclegan"])
def test_compile_agrees_with_eager(name, tmp_path):
    settings = dict(steps=3, batch_size=8, sample_every=0, checkpoint_every=0, device="cuda", amp="off", log_every=1,
                    **SMALL.get(name, {}))
    if name == "cyclegan":
        settings.update(g_width=4, d_width=4, n_blocks=1)
    import json

    eager = ganzoo.train(name, out=str(tmp_path / "eager"), **settings)
    compiled = ganzoo.train(name, out=str(tmp_path / "compiled"), compile=True, **settings)
    a = [json.loads(line) for line in eager.metrics.read_text().splitlines()]
    b = [json.loads(line) for line in compiled.metrics.read_text().splitlines()]
    assert len(a) == len(b) == 3
    for ra, rb in zip(a, b):
        for key in ra:
            if key.startswith("loss"):
                assert abs(ra[key] - rb[key]) <= 2e-2 * max(1.0, abs(ra[key])), (key, ra[key], rb[key])


@pytest.mark.parametrize("name", sorted(registry().pretrained))
def test_zoo_models_load_and_run_on_cuda_as_on_cpu(name):
    cpu, gpu = ganzoo.load(name), ganzoo.load(name, device="cuda")
    assert gpu.device.type == "cuda"
    task = cpu.task.value
    if task in ("unconditional", "conditional"):
        a, b = cpu.sample(16, seed=0), gpu.sample(16, seed=0)
    elif task == "unpaired-translation":
        x = torch.rand(2, cpu.data.shape[0], 36, 36, generator=torch.Generator().manual_seed(0))
        a, b = cpu.translate(x), gpu.translate(x)
    else:
        x = torch.rand(1, 3, 40, 30, generator=torch.Generator().manual_seed(0))
        a, b = cpu.upscale(x), gpu.upscale(x, tile=16)
    assert b.device.type == "cuda" and a.shape == b.shape
    assert (a - b.cpu()).abs().max() <= 2e-3


@pytest.mark.parametrize("name", ["gan-ring8", "cgan-digits"])
def test_jacobian_truncation_on_cuda_keeps_the_cpus_samples(name):
    """The threshold and the accepted latents are the CPU's (the noise is drawn on the CPU); the
    points or images agree to the tolerance above, except a latent whose norm sits within
    rounding of the threshold, which may be accepted on one device and redrawn on the other."""
    cpu, gpu = ganzoo.load(name), ganzoo.load(name, device="cuda")
    labels = [3] * 64 if cpu.task.value == "conditional" else None
    a, b = cpu.sample(64, seed=1, labels=labels, truncation=0.1), gpu.sample(64, seed=1, labels=labels, truncation=0.1)
    assert b.device.type == "cuda" and a.shape == b.shape
    assert gpu.truncation_threshold(0.1) == pytest.approx(cpu.truncation_threshold(0.1), rel=1e-2)
    close = ((a - b.cpu()).abs().flatten(1).amax(1) <= (2e-3 if cpu.data.kind == "image" else 1e-3))
    assert close.float().mean() >= 0.95


def test_ganzoo_sample_and_upscale_on_cuda_from_the_cli(tmp_path):
    from PIL import Image

    exe = Path(sys.executable).parent / "ganzoo"
    done = subprocess.run([exe, "sample", "dcgan-digits", "--device", "cuda", "-n", "16", "-o", str(tmp_path / "g.png")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    Image.new("RGB", (50, 40), (10, 200, 30)).save(tmp_path / "in.png")
    done = subprocess.run([exe, "upscale", "srgan-photos", str(tmp_path / "in.png"), "--device", "cuda", "-o", str(tmp_path / "up.png")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def _torchrun(nproc: int, out: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "ganzoo",
           "run", "dcgan", "--steps", "3", "--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8",
           "--set", "sample_every=0", "--device", "cuda", "--out", str(out)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_ddp_over_nccl(tmp_path):
    """Two GPUs: `ganzoo run --nproc 2`; one GPU: a single-process nccl group, still through torchrun."""
    nproc = 2 if torch.cuda.device_count() >= 2 else 1
    done = _torchrun(nproc, tmp_path / "r")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "r" / "export" / "model.safetensors").is_file()
    assert ganzoo.load(tmp_path / "r").sample(2).shape == (2, 1, 32, 32)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs for a 2-process nccl run")
def test_ganzoo_run_nproc_2(tmp_path):
    exe = Path(sys.executable).parent / "ganzoo"
    done = subprocess.run([exe, "run", "dcgan", "--nproc", "2", "--steps", "3", "--batch-size", "16", "--set", "g_width=8",
                           "--set", "d_width=8", "--device", "cuda", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def test_inception_features_and_fid_on_cuda_match_the_cpu(tmp_path, monkeypatch):
    """The real Inception weights may be absent (offline): random weights with the real layout
    exercise the same network; with GANZOO_INCEPTION_WEIGHTS set, the real ones are used."""
    from safetensors.torch import save_file

    from ganzoo.eval import inception
    from ganzoo.eval import math as M

    if not os.environ.get(inception.WEIGHTS.env) and not inception.WEIGHTS.available():
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from test_inception import random_state

        path = tmp_path / "inception.safetensors"
        save_file(random_state(), str(path))
        monkeypatch.setenv(inception.WEIGHTS.env, str(path))
    g = torch.Generator().manual_seed(0)
    a = torch.rand(64, 3, 32, 32, generator=g) * 2 - 1
    b = (a + 0.3 * torch.randn(a.shape, generator=g)).clamp(-1, 1)
    cpu, gpu = inception.load("cpu"), inception.load("cuda")
    fa, fb = cpu(a)["2048"], cpu(b)["2048"]
    ga, gb = gpu(a.cuda())["2048"].cpu(), gpu(b.cuda())["2048"].cpu()
    assert torch.allclose(fa, ga, rtol=1e-2, atol=1e-3)
    fid_cpu, fid_gpu = M.fid(fa, fb), M.fid(ga, gb)
    assert abs(fid_cpu - fid_gpu) <= 0.01 * max(1.0, abs(fid_cpu)), (fid_cpu, fid_gpu)
