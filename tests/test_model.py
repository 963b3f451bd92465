"""The trained model as a first-class artifact: generator-only loading, export format 2, exports of
0.1 (format 1), running an export with torch alone, the mixed-precision training contract, and a
dependency graph that reads top-down."""

import ast
import dataclasses
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import ganzoo
from conftest import run_cli
from ganzoo._plugins import registry
from ganzoo.testing import check_variant

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "format1"
TINY_SR = dict(hr_size=16, g_width=4, n_blocks=1, d_width=4, batch_size=2)


# -- generator-only loading ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(registry().pretrained))
def test_loading_a_zoo_model_builds_its_generators_only(name):
    model = ganzoo.load(name)
    cls = type(model.variant)
    held = {a for a, v in vars(model.variant).items() if isinstance(v, (torch.nn.Module, torch.optim.Optimizer))}
    assert held == set(cls.generator_names), f"{name} holds {sorted(held)}"
    assert not model.variant.has_training_half
    gens = model.generators()
    assert model.num_parameters() == sum(p.numel() for g in gens.values() for p in g.parameters())
    if name == "srgan-photos":  # 173 k parameters, not the 5.19 M of G + D that 0.1 built
        assert model.num_parameters() < 200_000 and model.variant.config.content in ("auto", "mse", "vgg54")
        assert not hasattr(model.variant, "vgg") and not hasattr(model.variant, "D")


def test_create_builds_no_training_half():
    model = ganzoo.create("dcgan", g_width=8)
    assert isinstance(model, ganzoo.Model) and not hasattr(model.variant, "D") and not hasattr(model.variant, "opt_g")
    assert model.sample(2).shape == (2, 1, 32, 32)


def _fake_vgg19(path: Path) -> None:
    """VGG19's feature layers with random weights, in the safetensors layout ganzoo keeps them in."""
    from torchvision.models.vgg import cfgs, make_layers  # vgg19().features, without its 120 M-parameter classifier

    torch.manual_seed(0)
    save_file({f"features.{k}": v.contiguous() for k, v in make_layers(cfgs["E"]).state_dict().items()}, str(path))


def test_a_vgg54_export_loads_and_upscales_offline_without_vgg_weights(tmp_path, cli):
    vgg = tmp_path / "vgg19.safetensors"
    _fake_vgg19(vgg)
    env = {"GANZOO_VGG19_WEIGHTS": str(vgg), "GANZOO_DATA_DIR": str(tmp_path / "data")}
    ran = cli("run", "srgan", "--steps", "2", "--set", "pretrain_steps=1", "--set", "content=vgg54", "--out", "r",
              *[a for k, v in TINY_SR.items() for a in ("--set", f"{k}={v}")], env=env)
    assert ran.returncode == 0, ran.stderr
    doc = json.loads((tmp_path / "r" / "export" / "config.json").read_text())
    assert doc["training"]["config"]["content"] == "vgg54"
    vgg.unlink()  # no VGG19 anywhere now; and any download attempt would fail (no route to the publisher)
    from PIL import Image

    Image.new("RGB", (9, 7), (120, 30, 200)).save(tmp_path / "small.png")
    env = {"GANZOO_DATA_DIR": str(tmp_path / "empty"), "HF_HUB_OFFLINE": "1", "https_proxy": "http://127.0.0.1:9"}
    os.environ.pop("GANZOO_VGG19_WEIGHTS", None)
    up = cli("upscale", "r", "small.png", "-o", "big.png", env=env)
    assert up.returncode == 0, up.stderr
    with Image.open(tmp_path / "big.png") as im:
        assert im.size == (36, 28)
    assert not (tmp_path / "empty").exists()  # nothing was fetched or cached


def test_cyclegan_pads_and_crops_inside_the_generator(tmp_path, cli):
    """downsampling=3 needs multiples of 8: a 36x36 image is padded to 40x40 by the generator and
    cropped back, the same pixels as translating the padded image by hand (0.1's CLI padded to 4)."""
    run = ganzoo.train("cyclegan", out=str(tmp_path / "r"), steps=1, image_size=32, downsampling=3, g_width=4,
                       n_blocks=1, d_width=4, batch_size=2, sample_every=0)
    model = ganzoo.load(run.export_dir)
    x = torch.rand(1, 1, 36, 36, generator=torch.Generator().manual_seed(0))
    out = model.translate(x)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x * 2 - 1, (0, 4, 0, 4), mode="reflect")
    with torch.no_grad():
        by_hand = model.variant.G_ab(padded)[..., :36, :36].add(1).div(2).clamp(0, 1)
    assert torch.allclose(out, by_hand, atol=1e-6)
    from PIL import Image

    Image.fromarray((x[0, 0] * 255).round().byte().numpy()).save(tmp_path / "in.png")
    done = cli("translate", "r", "in.png", "-o", "out.png")
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "out.png") as im:
        assert im.size == (36, 36)


# -- export format 2 -----------------------------------------------------------------------------------


def test_format2_config_has_generator_args_io_and_a_separate_training_block(tmp_path):
    folder = tmp_path / "imgs"
    for cls_name, shade in (("cats", 40), ("dogs", 200)):
        (folder / cls_name).mkdir(parents=True)
        from PIL import Image

        for i in range(6):
            Image.new("L", (8, 8), shade + i).save(folder / cls_name / f"{i}.png")
    run = ganzoo.train("cgan", data=str(folder.resolve()), out=str(tmp_path / "r"), steps=1, batch_size=4, sample_every=0)
    doc = json.loads((run.export_dir / "config.json").read_text())
    assert doc["format_version"] == 2 and "config" not in doc  # the key PyTorchModelHubMixin reserves
    assert doc["generator"]["class"] == "ConditionalMLPGenerator" and doc["generator"]["modules"] == ["G"]
    assert doc["generator"]["args"] == {"z_dim": 100, "num_classes": 2, "shape": [1, 28, 28], "tanh": True}
    assert doc["io"]["id2label"] == {"0": "cats", "1": "dogs"} and doc["io"]["num_classes"] == 2
    assert doc["io"]["inputs"]["z"] == {"shape": [100], "dtype": "float32", "distribution": "normal", "mean": 0.0, "std": 1.0}
    assert doc["io"]["output"]["range"] == [-1.0, 1.0] and doc["io"]["output"]["layout"] == "NCHW"
    training = doc["training"]
    assert training["config"]["lr"] == 2e-4 and training["train"]["seed"] == 0 and training["steps"] == 1
    assert str(tmp_path) not in training["command"] and "--data imgs" in training["command"], training["command"]
    assert doc["plugin"]["distribution"] == "torch-ganzoo"
    tensors = load_file(str(run.export_dir / "model.safetensors"))
    assert "G.noise.linear.weight" in tensors and "G.out.weight" in tensors
    model = ganzoo.load(run.export_dir)
    assert torch.equal(model.sample(4, labels="dogs"), model.sample(4, labels=1))
    assert model.class_names == ("cats", "dogs")


@pytest.mark.parametrize("name", sorted(registry().pretrained))
def test_zoo_is_format2_with_module_names(name):
    folder = registry().pretrained[name].folder
    doc = json.loads((folder / "config.json").read_text())
    assert doc["format_version"] == 2
    keys = load_file(str(folder / "model.safetensors")).keys()
    for key in keys:
        head, second = key.split(".")[:2]
        assert head in doc["generator"]["modules"] and not second.isdigit(), key


def _front_matter(card: str) -> dict:
    import yaml

    return yaml.safe_load(card.split("---")[1])


@pytest.mark.parametrize("name", sorted(registry().pretrained))
def test_zoo_cards_are_valid_hub_metadata(name):
    entry = registry().pretrained[name]
    card = (entry.folder / "README.md").read_text()
    meta = _front_matter(card)
    cls = registry().variant(entry.variant)
    expected = "image-to-image" if cls.task.value in ("unpaired-translation", "super-resolution") else "unconditional-image-generation"
    if len(entry.resolution) == 1:
        expected = None  # 2-D points: no image pipeline (test_pretrained checks their tag)
    assert meta.get("pipeline_tag") == expected and meta["library_name"] == "ganzoo" and meta["license"] == "mit"
    metrics = [m for r in meta["model-index"][0]["results"] for m in r["metrics"]]
    assert metrics and not [m for m in metrics if m["type"].startswith("n_")]
    assert all(isinstance(m["value"], (int, float)) for m in metrics)
    assert cls.paper in card and "pip install torch-ganzoo\n" in card
    assert f"python benchmarks/pretrained.py --only {name}" in card


def _snippet(folder: Path) -> str:
    card = (folder / "README.md").read_text()
    section = card.split("## Use with torch alone", 1)[1]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


@pytest.mark.parametrize("name", sorted(registry().pretrained))
def test_the_cards_torch_only_snippet_reproduces_ganzoo_load(name, tmp_path):
    """A user with torch and safetensors alone, following the card, gets ganzoo.load's images."""
    folder = registry().pretrained[name].folder
    script = tmp_path / "run_it.py"
    script.write_text(
        "import sys\nsys.modules['ganzoo'] = None  # unimportable: the snippet must not need it\n"
        + _snippet(folder)
        + "\nfrom safetensors.torch import save_file\n"
        + "keep = {k: v for k, v in dict(globals()).items() if k in ('images', 'x', 'lr') and isinstance(v, torch.Tensor)}\n"
        + f"save_file({{k: v.contiguous() for k, v in keep.items()}}, {str(tmp_path / 'out.safetensors')!r})\n"
    )
    done = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = load_file(str(tmp_path / "out.safetensors"))
    model = ganzoo.load(name)
    if "x" in got:
        want = model.translate((got["x"] + 1) / 2)
    elif "lr" in got:
        want = model.upscale((got["lr"] + 1) / 2)
    else:
        want = model.sample(16, seed=0)
    assert torch.allclose(got["images"], want, atol=1e-5), (got["images"] - want).abs().max()


# -- format 1 (ganzoo 0.1) ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dcgan", "cgan", "cyclegan", "srgan"])
def test_exports_of_0_1_still_load_and_give_the_same_images(name, cli, tmp_path):
    """The fixtures were written by ganzoo 0.1.0 (format 1, index-named tensors), with the outputs
    0.1.0 gave for them."""
    expected = load_file(str(FIXTURES / "expected-outputs.safetensors"))[name]
    model = ganzoo.load(FIXTURES / name)
    assert model.info.format_version == 1
    if name == "cyclegan":
        got = model.translate(torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(0)))
    elif name == "srgan":
        got = model.upscale(torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0)))
    else:
        got = model.sample(6, seed=0)
    # 0.1.0's outputs to float32 rounding: convolution and bicubic kernels sum in a thread-count-dependent
    # order (the fixtures were made with 2 threads; the suite's workers run 1); renamed tensors are exact.
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()
    if name == "dcgan":
        done = cli("sample", str(FIXTURES / name), "-n", "4", "-o", "g.png")
        assert done.returncode == 0, done.stderr
        notes = [line for line in done.stderr.splitlines() if "format 1" in line]
        assert len(notes) == 1 and "0.1" in notes[0], done.stderr


# -- the training contract -----------------------------------------------------------------------------


def _bypassing_variant():
    sys.path.insert(0, str(ROOT / "docs" / "example-plugin"))
    import ganzoo_tinygan

    def train_step(self, batches, step):  # the 0.1 guide's own way: backward and step by hand
        real = batches.next().x
        loss = self.D(self.packed(real)).mean() - self.D(self.packed(self.G(self.noise(len(real), 32)).detach())).mean()
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()
        return {"loss_d": loss.detach()}

    return type("Bypass", (ganzoo_tinygan.TinyGAN,), {"name": "bypass-amp", "train_step": train_step})


def test_conformance_fails_a_variant_that_bypasses_loss_scaling(tmp_path):
    with pytest.raises(AssertionError, match="outside ganzoo.update.*fp16"):
        check_variant(_bypassing_variant(), tmp_path)


def test_trainer_refuses_a_bypassing_step_under_fp16_and_warns_otherwise(tmp_path, caplog, register_plugin):
    cls = _bypassing_variant()

    class Plugin:
        @ganzoo.hookimpl
        def register_variants(self, register):
            register(cls)

    register_plugin(Plugin(), "bypass")
    with caplog.at_level("WARNING"):
        ganzoo.train("bypass-amp", out=str(tmp_path / "a"), steps=2, batch_size=8, sample_every=0)
    assert sum("outside ganzoo.update" in r.getMessage() for r in caplog.records) == 1  # once per run
    with pytest.raises(ganzoo.GanzooError, match="stepped optimizer 'discriminator' outside ganzoo.update"):
        ganzoo.train("bypass-amp", out=str(tmp_path / "b"), steps=2, batch_size=8, sample_every=0, amp="fp16")


def test_resume_applies_how_it_runs_and_refuses_what_it_computes(cli, tmp_path):
    fast = ["--batch-size", "16", "--set", "g_width=8", "--set", "d_width=8", "--set", "sample_every=0"]
    assert cli("run", "dcgan", "--steps", "2", *fast, "--out", "r").returncode == 0
    resumed = cli("run", "dcgan", "--resume", "r", "--steps", "3", "--amp", "bf16", "--set", "log_every=1", "-v")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming with amp=bf16 (the run had auto)" in resumed.stderr
    train = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert train["amp"] == "bf16" and train["log_every"] == 1
    from ganzoo.training import prepare_resume

    for setting, key in (({"lr": "1e-3"}, "variant key 'lr'"), ({"seed": "3"}, "trainer key 'seed'")):
        with pytest.raises(ganzoo.GanzooError, match=key):
            prepare_resume(registry(), tmp_path / "r", steps=4, settings=setting)
    refused = cli("run", "dcgan", "--resume", "r", "--steps", "4", "--set", "lr=1e-3")  # the CLI's exit code and one line
    assert refused.returncode == 2 and "variant key 'lr'" in refused.stderr and "Traceback" not in refused.stderr


# -- the dependency graph and library hygiene ------------------------------------------------------------


def _imports(path: Path, package: str) -> set[str]:
    """Every ganzoo module ``path`` imports: at the top, inside a function, or under ``if
    TYPE_CHECKING:`` (a type-only import is still a dependency a reader and a type checker follow).
    Importing ``a.b.c`` runs ``a.b`` first, so each import also depends on its parent packages."""
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "ganzoo"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "ganzoo":
                continue
            for alias in node.names:  # `from . import x` names a submodule when one exists
                sub = f"{mod}.{alias.name}"
                out.add(sub if (ROOT / (sub.replace(".", "/") + ".py")).exists() or (ROOT / sub.replace(".", "/")).is_dir() else mod)
    parents = {".".join(m.split(".")[:i]) for m in out for i in range(2, m.count(".") + 1)}
    return out | parents


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in (ROOT / "ganzoo").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = name if rel.name == "__init__" else ".".join(rel.parts[:-1])
        # A module's own packages are already being imported when it runs: not edges.
        graph[name] = {m for m in _imports(path, package) if m != name and not name.startswith(m + ".")}
    return graph


API_EDGE = {"ganzoo", "ganzoo.cli", "ganzoo.testing", "ganzoo._plugins"}  # where the registry is looked up


def test_the_import_graph_has_no_cycles_even_through_function_local_and_type_only_imports():
    graph = _graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt == "ganzoo" or nxt not in graph:
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    below_api = [m for m, deps in graph.items() if "ganzoo" in deps and m not in API_EDGE]
    assert not below_api, f"modules below the API importing the package itself (its API): {below_api}"


def test_only_the_api_edge_looks_up_the_global_registry():
    users = sorted(m for m, deps in _graph().items() if "ganzoo._plugins" in deps and m not in API_EDGE)
    assert not users, f"below the API, these reach for the global registry: {users}"


def test_library_code_logs_instead_of_printing():
    for path in (ROOT / "ganzoo").rglob("*.py"):
        if path.name == "cli.py":
            continue
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print"]
        assert not calls, f"{path.relative_to(ROOT)} prints (line {calls[0].lineno}); use logging"


def test_plots_leave_the_users_matplotlib_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); from ganzoo.plots import loss_curve_png, points_png; import torch; "
            "loss_curve_png([{'step': 1, 'loss_d': 1.0}]); points_png(torch.zeros(3, 2), torch.zeros(3, 2)); print(matplotlib.get_backend())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "svg", done.stderr


def test_version_license_and_types_ship_with_the_package():
    from importlib.metadata import metadata, version

    assert version("torch-ganzoo") == ganzoo.__version__
    assert (ROOT / "LICENSE").read_text().startswith("MIT License") and metadata("torch-ganzoo")["License-Expression"] == "MIT"
    assert (ROOT / "ganzoo" / "py.typed").is_file()
    import typing

    ganzoo.Model, ganzoo.RunResult  # noqa: B018 - the lazy names, resolved as a type checker would
    hints = typing.get_type_hints(ganzoo.load)
    assert hints["return"] is ganzoo.Model and typing.get_type_hints(ganzoo.train)["return"] is ganzoo.RunResult
    assert typing.get_type_hints(ganzoo.create)["return"] is ganzoo.Model


def test_third_party_weights_are_pinned_by_their_full_sha256():
    from ganzoo.eval.inception import WEIGHTS
    from ganzoo_srgan import VGG19

    for w in (WEIGHTS, VGG19):
        assert re.fullmatch(r"[0-9a-f]{64}", w.sha256) and w.sha256[:8] in w.url


@pytest.mark.parametrize("repo", ["../x", "a/b/c", "user/na me", "a..b/c", "justname"])
def test_hub_ids_are_checked_by_huggingface_hubs_validator(repo):
    with pytest.raises(ganzoo.GanzooError, match="is not a Hub model id"):
        ganzoo.load("hf-hub:" + repo)


def test_a_run_of_0_1_resumes_with_its_checkpoint_renamed(tmp_path, cli):
    """tests/fixtures/format1-run was trained by ganzoo 0.1.0 to step 2 (EMA on); resumed here to
    step 3, its export samples what 0.1.0 gave for an uninterrupted 3-step run."""
    import shutil

    shutil.copytree(Path(__file__).parent / "fixtures" / "format1-run" / "run", tmp_path / "run")
    done = cli("run", "dcgan", "--resume", "run", "--steps", "3")
    assert done.returncode == 0, done.stderr
    expected = load_file(str(Path(__file__).parent / "fixtures" / "format1-run" / "expected.safetensors"))["dcgan-resumed-to-3"]
    assert torch.allclose(ganzoo.load(tmp_path / "run").sample(6, seed=0), expected, rtol=0, atol=1e-5)


def test_sampling_is_batched_without_changing_a_sample(monkeypatch):
    """Model.sample draws all n inputs at once and runs the generator GENERATE_BATCH at a time, so
    memory does not grow with n's activations and the images are those of one big batch."""
    import ganzoo.model as M

    model = ganzoo.load("dcgan-digits")
    chunked = model.sample(1200, seed=3)
    monkeypatch.setattr(M, "GENERATE_BATCH", 10**6)
    whole = model.sample(1200, seed=3)
    assert chunked.shape == (1200, 1, 32, 32) and torch.allclose(chunked, whole, atol=1e-6)


def test_the_streamed_grid_is_the_grid(tmp_path):
    """`ganzoo sample` builds its grid batch by batch; it must be the picture image_grid_png draws."""
    import io

    import numpy as np
    from PIL import Image

    from ganzoo.plots import image_grid_png, streamed_grid

    images = torch.rand(23, 1, 6, 5, generator=torch.Generator().manual_seed(0)) * 2 - 1
    for nrow, labels in ((None, None), (5, ["a", "bb", "c", "d", "e"])):
        whole = np.asarray(Image.open(io.BytesIO(image_grid_png(images, nrow=nrow, row_labels=labels))).convert("RGB"))
        streamed = np.asarray(streamed_grid(iter(images.split(7)), 23, (1, 6, 5), nrow, row_labels=labels).convert("RGB"))
        assert whole.shape == streamed.shape and (whole == streamed).all()


def test_notes_travel_with_the_export_and_stay_on_a_refreshed_card(tmp_path):
    import dataclasses

    import ganzoo
    from ganzoo.export import refresh_card, write_export

    model = ganzoo.create("dcgan", g_width=8)
    write_export(tmp_path / "e", variant=model.variant, info=dataclasses.replace(model.info, notes="Blurry strokes; about half legible."), grid_png=None)
    loaded = ganzoo.load(tmp_path / "e")
    assert loaded.info.notes == "Blurry strokes; about half legible."
    assert "## Limitations\n\n> Blurry strokes; about half legible." in (tmp_path / "e" / "README.md").read_text()
    assert refresh_card(tmp_path / "e", loaded, {"seed": 0, "ganzoo_version": "x", "metrics": {}})
    assert "> Blurry strokes; about half legible." in (tmp_path / "e" / "README.md").read_text()
    write_export(tmp_path / "plain", variant=model.variant, info=model.info, grid_png=None)
    assert "notes" not in json.loads((tmp_path / "plain" / "config.json").read_text())  # no notes: no entry, no section
    assert "Limitations" not in (tmp_path / "plain" / "README.md").read_text()


def test_format_1_lives_in_one_module():
    """Everything about ganzoo 0.1's files (renaming, its config) is in ganzoo/export/legacy.py: the
    variant contract only declares the old names, and the loader and checkpoint reader call it."""
    for path in (ROOT / "ganzoo").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in ("ganzoo/export/legacy.py", "ganzoo/variant.py"):
            continue
        text = path.read_text()
        assert "format1_" not in text and "rename_by_order" not in text, f"{rel} handles format 1 itself"
    users = sorted(m for m, deps in _graph().items() if "ganzoo.export.legacy" in deps)
    assert users == ["ganzoo.export.folder", "ganzoo.training.checkpoint"], users


def test_one_rule_says_which_folder_a_path_names():
    """'A run directory means its export/' is decided by ganzoo.export.format.locate alone."""
    offenders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "ganzoo").rglob("*.py")
                 if p.name != "format.py" and ('/ "export" /' in p.read_text() or "/ 'export' /" in p.read_text())]
    assert not offenders, offenders


def test_every_install_line_names_our_distribution():
    """`ganzoo` on the package index is an unrelated project: cards, docs and hints say torch-ganzoo."""
    import re

    from ganzoo._version import DISTRIBUTION

    declared = re.search(r'^name = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert declared and declared.group(1) == DISTRIBUTION == "torch-ganzoo"
    cards = sorted((ROOT / "plugins").glob("*/pretrained/*/README.md"))
    assert len(cards) == len(ganzoo.list_pretrained())
    texts = {p: p.read_text() for p in [*cards, ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.toml"))]}
    texts.update({p: p.read_text() for p in (ROOT / "ganzoo").rglob("*.py")})
    for path, text in texts.items():
        wrong = re.findall(r"pip install ganzoo\b(?![-_.\w])", text) + re.findall(r'dependencies = \["ganzoo[^-_\w]', text)
        assert not wrong, f"{path.relative_to(ROOT)} tells users to install the unrelated 'ganzoo'"
        assert "pypi.org/project/ganzoo/" not in text, path
    for card in cards:
        assert f"pip install {DISTRIBUTION}\n" in texts[card], card
