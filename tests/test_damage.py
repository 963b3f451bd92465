"""Damaged and hostile files: every one gets one line naming the file and exit 2, and is left as it was.

A real export and a real run are made once; each case copies them, damages one file, runs the
command a user would, and checks the answer and that no file changed. The cases run through
``ganzoo.cli.main`` in this process (a table of 80 subprocesses would cost minutes); one of each
kind runs through the real console script as well.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save

from conftest import run_cli, run_main


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A 4-step dcgan run (checkpoints at 2 and 4) and its export."""
    import ganzoo

    root = tmp_path_factory.mktemp("good")
    ganzoo.train("dcgan", out=str(root / "run"), steps=4, batch_size=16, g_width=8, d_width=8, sample_every=0,
                 checkpoint_every=2, keep_checkpoints=3, log_every=2)
    return root / "run"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else p.stat().st_mode
            for p in sorted(folder.rglob("*")) if not p.name.startswith(".lock")}


def _copy(good: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "run"
    shutil.copytree(good, dest)
    return dest


def _weights_bytes(path: Path) -> tuple[bytes, int, dict]:
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return raw, n, json.loads(raw[8 : 8 + n])


def _relabel(raw: bytes, n: int, edit) -> bytes:
    header = json.loads(raw[8 : 8 + n])
    edit(header)
    hb = json.dumps(header).encode()
    return len(hb).to_bytes(8, "little") + hb + raw[8 + n :]


def _first(header: dict) -> str:
    return sorted(k for k in header if k != "__metadata__")[0]


def _export_cases():
    """(id, damage(run_dir), words the one line must hold)."""
    w = "export/model.safetensors"
    c = "export/config.json"

    def truncate(at):
        def f(d):
            raw = (d / w).read_bytes()
            (d / w).write_bytes(raw[: at(len(raw), int.from_bytes(raw[:8], "little"))])
        return f

    def lie(edit):
        def f(d):
            raw, n, _ = _weights_bytes(d / w)
            (d / w).write_bytes(_relabel(raw, n, edit))
        return f

    def poison(value):
        def f(d):
            t = load_file(str(d / w))
            key = [k for k in sorted(t) if t[k].is_floating_point() and t[k].numel() > 1][0]
            t[key] = t[key].clone()
            t[key].view(-1)[1] = value
            (d / w).write_bytes(save(t))
        return f

    def config(edit):
        def f(d):
            doc = json.loads((d / c).read_text())
            out = edit(doc)
            (d / c).write_text(out if isinstance(out, str) else json.dumps(doc if out is None else out))
        return f

    def set_(path, value):
        def edit(doc):
            node = doc
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
        return edit

    def drop(key):
        return lambda doc: doc.pop(key) and None

    def replace_with(kind):
        def f(d):
            target = d / (w if kind.endswith("weights") else c)
            target.unlink()
            target.mkdir() if kind.startswith("dir") else os.mkfifo(target)
        return f

    return [
        ("empty weights", truncate(lambda size, n: 0), "is truncated"),
        ("weights cut in the length", truncate(lambda size, n: 5), "is truncated"),
        ("weights cut in the header", truncate(lambda size, n: 8 + n // 3), "truncated or not safetensors"),
        ("weights cut after the header", truncate(lambda size, n: 8 + n), "tensor data"),
        ("weights cut in the data", truncate(lambda size, n: (8 + n + size) // 2), "tensor data"),
        ("weights one byte short", truncate(lambda size, n: size - 1), "tensor data"),
        ("garbage weights", lambda d: (d / w).write_bytes(bytes(range(256)) * 40), "not safetensors"),
        ("header claims a shape", lie(lambda h: h[_first(h)].__setitem__("shape", [7, 7])), "header that lies"),
        ("header claims a dtype", lie(lambda h: h[_first(h)].__setitem__("dtype", "F64")), "header that lies"),
        ("unknown dtype", lie(lambda h: h[_first(h)].__setitem__("dtype", "Q4")), "unknown dtype"),
        ("overlapping offsets", lie(lambda h: h[_first(h)].__setitem__("data_offsets", [8, 16])), "lies"),
        ("header is a list", lambda d: (d / w).write_bytes((2).to_bytes(8, "little") + b"[]"), "not a JSON object"),
        ("NaN in the weights", poison(float("nan")), "NaN or infinite"),
        ("inf in the weights", poison(float("inf")), "NaN or infinite"),
        ("weights are a folder", replace_with("dir weights"), "is a folder"),
        ("weights are a FIFO", replace_with("fifo weights"), "is a FIFO"),
        ("config is a folder", replace_with("dir config"), "is a folder"),
        ("config is a FIFO", replace_with("fifo config"), "is a FIFO"),
        ("config is a list", config(lambda doc: "[1, 2]"), "must hold a JSON object, not a list"),
        ("config is a number", config(lambda doc: "3"), "not a number"),
        ("config is null", config(lambda doc: "null"), "not null"),
        ("config is not JSON", config(lambda doc: '{"variant": '), "not valid JSON"),
        ("config holds NaN", config(lambda doc: '{"variant": NaN}'), "not valid JSON"),
        ("config without variant", config(drop("variant")), "lacks the 'variant' entry"),
        ("config without generator", config(drop("generator")), "lacks the 'generator' entry"),
        ("config without data", config(drop("data")), "lacks the 'data' entry"),
        ("generator args a list", config(set_(["generator", "args"], [1])), "generator.args"),
        ("absurd width", config(set_(["generator", "args", "width"], 10**6)), "parameters"),
        ("negative width", config(set_(["generator", "args", "width"], -4)), "cannot be built"),
        ("width a string", config(set_(["generator", "args", "width"], "wide")), "cannot be built"),
        ("unknown argument", config(set_(["generator", "args", "depth"], 3)), "cannot be built"),
        ("generators renamed", config(set_(["generator", "modules"], ["H"])), "names generators"),
        ("no generators", config(set_(["generator", "modules"], [])), "generator.modules"),
        ("huge images", config(set_(["data", "shape"], [1, 10**5, 10**5])), "data.shape"),
        ("shape a string", config(set_(["data", "shape"], "32x32")), "data.shape"),
        ("unknown data kind", config(set_(["data", "kind"], "video")), "data.kind"),
        ("unknown task", config(set_(["task"], "dreaming")), "entry 'task'"),
        ("variant a number", config(set_(["variant"], 7)), "no installed plugin"),
        ("future format", config(set_(["format_version"], 99)), "export format"),
        ("negative steps", config(set_(["training", "steps"], -1)), "training.steps"),
        ("io null", config(set_(["io"], None)), "entry 'io'"),
        ("training a string", config(set_(["training"], "long")), "entry 'training'"),
        ("classes without names", config(set_(["data", "class_names"], ["a", "b"])), "class_names"),
    ]


@pytest.mark.parametrize("case,damage,words", _export_cases(), ids=[c[0] for c in _export_cases()])
@pytest.mark.parametrize("command", ["sample", "eval"])
def test_a_damaged_export_is_one_line_and_exit_2_and_left_as_it_was(good, tmp_path, case, damage, words, command):
    run = _copy(good, tmp_path)
    damage(run)
    before = _digest(run)
    argv = ["sample", run / "export", "-n", "4", "-o", tmp_path / "grid.png"] if command == "sample" else ["eval", run / "export"]
    done = run_main(*argv, cwd=tmp_path)
    assert done.returncode == 2, (case, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ganzoo: error: "), lines
    assert words in lines[0], (case, lines[0])
    assert str(run / "export") in lines[0] or "variant" in words or "plugin" in words
    assert _digest(run) == before and not (tmp_path / "grid.png").exists()


def _checkpoint_cases():
    """(id, damage(checkpoint path), words): each applied to every checkpoint of the run."""

    def rewrite(edit, keep_sum=False):
        def f(p):
            with safe_open(str(p), "pt") as h:
                meta = json.loads(h.metadata()["ganzoo"])
            t = load_file(str(p))
            edit(t, meta)
            if not keep_sum:
                meta.pop("sha256", None)  # a file re-written to lie, not merely damaged
            p.write_bytes(save(t, metadata={"ganzoo": json.dumps(meta)}))
        return f

    def first(t, prefix, floating=False):
        return sorted(k for k in t if k.startswith(prefix) and (t[k].is_floating_point() or not floating) and t[k].dim() > 0)[0]

    def nan_in(t, m):
        k = first(t, "net.generator.", floating=True)
        t[k] = t[k].clone()
        t[k].view(-1)[0] = float("nan")

    def flip(t, m):
        k = first(t, "net.generator.", floating=True)
        t[k] = t[k].clone() + 1

    return [
        ("truncated", lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "the file is truncated"),
        ("empty", lambda p: p.write_bytes(b""), "the file is truncated"),
        ("garbage", lambda p: p.write_bytes(b"\xff" * 4096), "not safetensors"),
        ("a folder", lambda p: (p.unlink(), p.mkdir()), "is a folder"),
        ("bytes flipped", rewrite(flip, keep_sum=True), "checksum"),
        ("no metadata", lambda p: p.write_bytes(save(load_file(str(p)))), "metadata"),
        ("step not a number", rewrite(lambda t, m: m.__setitem__("step", "four")), "metadata"),
        ("a network tensor missing", rewrite(lambda t, m: t.pop(first(t, "net.discriminator."))), "lacks 1 tensor"),
        ("an extra tensor", rewrite(lambda t, m: t.__setitem__("net.generator.extra", torch.zeros(1))), "unexpected"),
        ("a network tensor reshaped", rewrite(lambda t, m: t.__setitem__(first(t, "net.generator."), torch.zeros(5))), "has shape"),
        ("NaN in a network", rewrite(nan_in), "NaN or infinite"),
        ("no optimizer state", rewrite(lambda t, m: m.__setitem__("optimizers", {})), "no state for optimizer"),
        ("optimizer moment reshaped", rewrite(lambda t, m: t.__setitem__(first(t, "optim."), torch.zeros(3))), "optimizer"),
        ("no random state", rewrite(lambda t, m: t.pop("rng.cpu")), "random-number state"),
    ]


@pytest.mark.parametrize("case,damage,words", _checkpoint_cases(), ids=[c[0] for c in _checkpoint_cases()])
def test_a_run_whose_checkpoints_are_all_damaged_is_refused_with_the_reason(good, tmp_path, case, damage, words):
    run = _copy(good, tmp_path)
    for p in sorted((run / "checkpoints").glob("step-*.safetensors")):
        damage(p)
    before = _digest(run)
    done = run_main("run", "dcgan", "--resume", run, "--steps", "6", cwd=tmp_path)
    assert done.returncode == 2, (case, done.stderr)
    error = [line for line in done.stderr.splitlines() if line.startswith("ganzoo: error: ")]
    if case == "a folder":  # it would also be where the next checkpoint goes: refused by name before training
        assert error == [f"ganzoo: error: '{run / 'checkpoints' / 'step-00000002.safetensors'}' is not a file but is named like a "
                         "checkpoint; ganzoo writes checkpoints there. Move it away, then run again"], done.stderr
        assert _digest(run) == before
        return
    assert len(error) == 1 and "can be resumed from" in error[0] and words in error[0], done.stderr
    assert all(line.startswith("ganzoo: warning: skipping checkpoint") for line in done.stderr.splitlines() if line not in error)
    assert _digest(run) == before


@pytest.mark.parametrize("case,damage,words", _checkpoint_cases()[4:], ids=[c[0] for c in _checkpoint_cases()[4:]])
def test_a_damaged_newest_checkpoint_gives_way_to_the_previous_good_one(good, tmp_path, case, damage, words):
    run = _copy(good, tmp_path)
    damage(run / "checkpoints" / "step-00000004.safetensors")
    done = run_main("run", "dcgan", "--resume", run, "--steps", "4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"skipping checkpoint step-00000004.safetensors: " in done.stderr and words in done.stderr
    assert "resuming from step-00000002.safetensors, the newest good checkpoint" in done.stderr
    assert "resuming at step 2" in done.stderr


def _run_doc_cases():
    def write(text):
        return lambda d: (d / "config.json").write_text(text)

    def edit(key, value):
        def f(d):
            doc = json.loads((d / "config.json").read_text())
            doc[key] = value
            (d / "config.json").write_text(json.dumps(doc))
        return f

    return [
        ("not JSON", write("{"), "not valid JSON"),
        ("a list", write("[]"), "not a list"),
        ("no variant", edit("variant", None), "entry 'variant'"),
        ("config a list", edit("config", []), "entry 'config'"),
        ("a bad value", edit("config", {"g_width": 0}), "config key 'g_width' must be >= 1"),
        ("a bad trainer value", edit("train", {"ema_decay": 2}), "config key 'ema_decay' must be >= 0 and < 1"),
        ("an unknown key", edit("config", {"wings": 2}), "unknown config key 'wings'"),
        ("another variant", edit("variant", "cgan"), "is a run of 'cgan', not 'dcgan'"),
    ]


@pytest.mark.parametrize("case,damage,words", _run_doc_cases(), ids=[c[0] for c in _run_doc_cases()])
def test_a_damaged_run_config_is_one_line(good, tmp_path, case, damage, words):
    run = _copy(good, tmp_path)
    damage(run)
    before = _digest(run)
    done = run_main("run", "dcgan", "--resume", run, "--steps", "6", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
    assert _digest(run) == before


def test_resuming_an_export_folder_points_at_its_run(good, tmp_path):
    run = _copy(good, tmp_path)
    done = run_main("run", "dcgan", "--resume", run / "export", cwd=tmp_path)
    assert done.returncode == 2 and "is an export folder, not a run directory" in done.stderr and str(run.resolve()) in done.stderr


def test_damage_through_the_real_console_script(good, tmp_path):
    """One export and one checkpoint case as a user meets them: a subprocess, its exit code, its stderr."""
    run = _copy(good, tmp_path)
    w = run / "export" / "model.safetensors"
    w.write_bytes(w.read_bytes()[:-10])
    for p in (run / "checkpoints").glob("step-*.safetensors"):
        p.write_bytes(p.read_bytes()[:100])
    before = _digest(run)
    sample = run_cli("sample", run, "-o", tmp_path / "g.png", cwd=tmp_path)
    assert sample.returncode == 2 and sample.stderr == f"ganzoo: error: '{w}' is truncated: its header describes " \
        f"{sample.stderr.split('describes ')[1].split(' bytes')[0]} bytes of tensor data, the file holds " \
        f"{sample.stderr.split('holds ')[1]}", sample.stderr
    resume = run_cli("run", "dcgan", "--resume", run, "--steps", "6", cwd=tmp_path)
    assert resume.returncode == 2 and "Traceback" not in resume.stderr and "can be resumed from" in resume.stderr
    assert _digest(run) == before
