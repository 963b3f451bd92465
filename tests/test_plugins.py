"""Plugin discovery: in-process plugins, broken plugins, and a real third-party distribution."""

import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo
from ganzoo import _plugins
from ganzoo._plugins import registry

from .conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "example-plugin"
OLD_PLUGIN = Path(__file__).resolve().parent / "fixtures" / "plugin-0.1"  # written against ganzoo 0.1


def make_variant(variant_name, **attrs):
    """A copy of the docs' example variant under another name (and any attribute changed)."""
    sys.path.insert(0, str(EXAMPLE))
    try:
        import ganzoo_tinygan
    finally:
        sys.path.remove(str(EXAMPLE))
    return type(f"V_{variant_name}", (ganzoo_tinygan.TinyGAN,), {"name": variant_name, **attrs})


class Registers:
    def __init__(self, *classes):
        self.classes = classes

    @ganzoo.hookimpl
    def register_variants(self, register):
        for cls in self.classes:
            register(cls)


def test_builtins_come_through_entry_points():
    reg = registry()
    assert "dcgan" in reg.variants
    assert reg.distribution_of_variant("dcgan")[0] == "torch-ganzoo"
    assert {"digits", "mnist", "fashion-mnist", "cifar10"} <= set(reg.datasets)


def test_in_process_plugin_is_listed_and_unregistered(register_plugin):
    register_plugin(Registers(make_variant("inproc")), "inproc-plugin")
    assert "inproc" in ganzoo.list_variants()
    assert ganzoo.list_variants("in*") == ["inproc"]
    _plugins.pm.unregister(name="inproc-plugin")
    assert "inproc" not in ganzoo.list_variants()
    register_plugin(Registers(), "inproc-plugin")  # let the fixture's teardown find it


def test_hook_that_raises_is_reported_and_others_still_work(register_plugin):
    class Broken:
        @ganzoo.hookimpl
        def register_variants(self, register):
            raise RuntimeError("boom in hook")

    register_plugin(Broken(), "broken")
    register_plugin(Registers(make_variant("fine")), "fine-plugin")
    reg = registry()
    assert "fine" in reg.variants and "dcgan" in reg.variants
    [failure] = [f for f in reg.failures if f.plugin == "broken"]
    assert "RuntimeError: boom in hook" in failure.error


def test_duplicate_name_keeps_the_first_and_reports_the_second(register_plugin):
    register_plugin(Registers(make_variant("dcgan")), "impostor")
    reg = registry()
    assert reg.variants["dcgan"].__module__ == "ganzoo_dcgan"
    [failure] = [f for f in reg.failures if f.plugin == "impostor"]
    assert "variant 'dcgan' is already registered by plugin 'dcgan'" in failure.error


@pytest.mark.parametrize(
    "attrs,fragment",
    [
        ({"paper": ""}, "has an empty paper"),
        ({"task": "unconditional"}, "is not a ganzoo.Task"),
        ({"name": "Bad Name"}, "must be lowercase"),
        ({"Config": dict}, "Config must be a dataclass"),
    ],
)
def test_invalid_spec_is_refused_with_the_reason(register_plugin, attrs, fragment):
    register_plugin(Registers(make_variant("invalid", **attrs)), "invalid-plugin")
    reg = registry()
    assert "invalid" not in reg.variants
    assert any(f.plugin == "invalid-plugin" and fragment in f.error for f in reg.failures)


def test_config_without_defaults_and_clashing_fields_are_refused(register_plugin):
    @dataclasses.dataclass
    class NoDefault(ganzoo.VariantConfig):
        width: int = dataclasses.field(default=None)
        depth: int = dataclasses.field(default_factory=lambda: (_ for _ in ()).throw(TypeError("no default")))

    @dataclasses.dataclass
    class Clash(ganzoo.VariantConfig):
        seed: int = 1

    register_plugin(Registers(make_variant("nodefault", Config=NoDefault), make_variant("clash", Config=Clash)), "cfg")
    errors = [f.error for f in registry().failures if f.plugin == "cfg"]
    assert any("every Config field needs a default" in e for e in errors)
    assert any("clash with the trainer's own settings" in e for e in errors)


# -- a real third-party distribution, installed with pip -------------------------------------------

BROKEN_PYPROJECT = """
[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = "ganzoo-broken"
version = "0.0.1"

[project.entry-points.ganzoo]
broken = "ganzoo_broken"

[tool.setuptools]
py-modules = ["ganzoo_broken"]
"""


def pip_install(source: Path, target: Path) -> None:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The docs' example plugin and a plugin that fails to import, pip-installed into one folder."""
    root = tmp_path_factory.mktemp("thirdparty")
    target = root / "site"
    example = root / "tinygan"
    shutil.copytree(EXAMPLE, example)
    pip_install(example, target)
    broken = root / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text(BROKEN_PYPROJECT)
    (broken / "ganzoo_broken.py").write_text("import ganzoo_this_module_does_not_exist\n")
    pip_install(broken, target)
    old = root / "rasgan"
    shutil.copytree(OLD_PLUGIN, old)
    pip_install(old, target)
    typo = root / "typo"
    typo.mkdir()
    (typo / "pyproject.toml").write_text(BROKEN_PYPROJECT.replace("broken", "typo"))
    (typo / "ganzoo_typo.py").write_text("from ganzoo.nets import dcgan_everything\n")
    pip_install(typo, target)
    return target


@pytest.mark.slow
def test_installed_plugin_is_listed_runnable_and_a_broken_one_is_reported(site, tmp_path):
    env = {"PYTHONPATH": str(site)}
    listed = run_cli("list", env=env)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.startswith("tinygan"))
    assert "ganzoo-tinygan 0.1.0" in line and "unconditional" in line
    assert "dcgan" in listed.stdout
    assert "3 plugin(s) failed to load: broken, rasgan, typo" in listed.stderr

    plugins = run_cli("plugins", env=env)
    assert plugins.returncode == 0
    assert "broken (ganzoo-broken): could not be loaded: ModuleNotFoundError: No module named 'ganzoo_this_module_does_not_exist'" in plugins.stdout
    assert "tinygan" in plugins.stdout and "register_variants" in plugins.stdout

    failed = run_cli("run", "broken", env=env, cwd=tmp_path)  # the failed plugin's name: the failure is the news
    assert failed.returncode == 2
    assert ("unknown variant 'broken'" in failed.stderr and "it may come from a plugin that failed to load: 'broken' (ganzoo-broken): "
            "could not be loaded: ModuleNotFoundError" in failed.stderr), failed.stderr

    out = tmp_path / "run"
    ran = run_cli("run", "tinygan", "--steps", "3", "--out", out, env=env, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (out / "export" / "model.safetensors").is_file()
    sampled = run_cli("sample", out / "export", "-n", "4", "-o", tmp_path / "g.png", env=env)
    assert sampled.returncode == 0, sampled.stderr


@pytest.mark.slow
def test_autoload_can_be_disabled(site):
    listed = run_cli("list", env={"PYTHONPATH": str(site), "GANZOO_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert listed.returncode == 0
    assert "dcgan" in listed.stdout
    assert "tinygan" not in listed.stdout
    assert "failed" not in listed.stderr


def test_conformance_check_catches_a_variant_that_forgets_an_optimizer(tmp_path):
    base = make_variant("forgetful")
    # An optimizer missing from optimizers() is not checkpointed: the resumed run must diverge.
    Forgetful = type("Forgetful", (base,), {"optimizers": lambda self: {"generator": self.opt_g}})
    from ganzoo.testing import check_variant

    with pytest.raises(AssertionError, match="resumed run diverged"):
        check_variant(Forgetful, tmp_path)


def test_example_plugin_from_the_docs_conforms(tmp_path):
    from ganzoo.testing import check_variant

    check_variant(make_variant("tinygan-docs"), tmp_path)



# -- a plugin written against ganzoo 0.1 ------------------------------------------------------------


@pytest.mark.slow
def test_a_0_1_plugin_is_told_what_to_change_and_its_old_imports_still_work(site):
    env = {"PYTHONPATH": str(site)}
    plugins = run_cli("plugins", env=env)
    assert plugins.returncode == 0, plugins.stderr
    out = plugins.stdout
    # Its imports of removed names go through the shims: no ImportError hides what to change.
    assert "ImportError" not in out and "cannot import" not in out
    assert ("rasgan (ganzoo-rasgan): variant 'rasgan' is written for ganzoo 0.1 (one build() method); since 0.2 a variant "
            "builds its generators apart from what only training needs: implement generator_args, build_generators and "
            "build_training (see docs/writing-a-plugin.md, section 'Migrating from ganzoo 0.1'") in out, out
    assert "rasgan: imports ganzoo.nets.dcgan_pair, removed in 0.2 and gone in 0.4; use the generator half" in out
    assert "rasgan: imports ganzoo.variant.Batch, removed in 0.2 and gone in 0.4; use ganzoo.Batch" in out
    assert "ganzoo_rasgan.py:13: ganzoo.nets.dcgan_pair was removed from ganzoo's plugin API in 0.2" in plugins.stderr  # once, with the replacement
    assert plugins.stderr.count("ganzoo.nets.dcgan_pair was removed") == 1
    # A name ganzoo never had is named as such, not as a traceback.
    assert ("typo (ganzoo-typo): written against another ganzoo API: ganzoo.nets has no 'dcgan_everything' in plugin API 2 "
            "(docs/plugin-api.md lists what is public)") in out
    # What the old contract did not touch still registers: its dataset and its metric.
    datasets, metrics = run_cli("datasets", env=env), run_cli("metrics", env=env)
    assert "shapes" in datasets.stdout and "pixel-histogram-n256" in metrics.stdout


def test_a_removed_name_without_a_shim_gets_the_migration_message(monkeypatch):
    from ganzoo import _plugin_api, nets

    monkeypatch.setattr(nets, "_REMOVED", {})  # as it will be once the shim is gone (0.4)
    monkeypatch.syspath_prepend(str(OLD_PLUGIN))
    monkeypatch.delitem(sys.modules, "ganzoo_rasgan", raising=False)
    with pytest.raises(ImportError) as caught:
        import ganzoo_rasgan  # noqa: F401
    assert _plugin_api.explain_import_error(caught.value) == (
        "written against an older ganzoo API: ganzoo.nets.dcgan_pair was removed in 0.2, use the generator half "
        "ganzoo.nets.DCGANGeneratorHalf (generator_args/build_generators) and ganzoo.nets.dcgan_discriminator_for(self, width) "
        "in build_training (see docs/writing-a-plugin.md, section 'Migrating from ganzoo 0.1')")
    assert _plugin_api.explain_import_error(ImportError("cannot import name 'x' from 'numpy'")) is None  # not ours to explain


def test_a_plugin_migrated_to_the_halves_runs_through_the_shims(monkeypatch, tmp_path):
    from ganzoo import _plugin_api
    from ganzoo.testing import check_variant

    monkeypatch.setattr(_plugin_api, "_warned", set())
    monkeypatch.syspath_prepend(str(OLD_PLUGIN))
    for mod in ("ganzoo_rasgan", "ganzoo_rasgan_migrated"):
        monkeypatch.delitem(sys.modules, mod, raising=False)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import ganzoo_rasgan_migrated
    said = [str(w.message) for w in caught if w.category is _plugin_api.GanzooDeprecationWarning]
    assert any(m.startswith("ganzoo.nets.dcgan_generator was removed") and "use ganzoo.nets.DCGANGenerator" in m for m in said), said
    assert any(m.startswith("ganzoo.nets.dcgan_pair was removed") for m in said), said
    check_variant(ganzoo_rasgan_migrated.MigratedRaSGAN, tmp_path, settings={"g_width": 8, "d_width": 8})


@pytest.mark.parametrize("declared,words", [
    (3, "needs ganzoo plugin API 3; this ganzoo provides 2: upgrade ganzoo"),
    (1, "is written for ganzoo plugin API 1, which this ganzoo no longer supports (it provides 2)"),
    ("2", "declares GANZOO_PLUGIN_API = '2'; it must be an integer"),
])
def test_a_declared_plugin_api_is_checked(declared, words):
    from types import SimpleNamespace

    from ganzoo._plugin_api import check_declared

    assert words in check_declared(SimpleNamespace(GANZOO_PLUGIN_API=declared))
    assert check_declared(SimpleNamespace(GANZOO_PLUGIN_API=2)) is None and check_declared(SimpleNamespace()) is None
