"""The plugin guide shows the example plugin's files verbatim, so a reader copies working code."""

import re
from pathlib import Path

from ganzoo._plugins import registry

ROOT = Path(__file__).resolve().parents[1]


def code_blocks(text, lang):
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_guide_shows_the_example_plugin_verbatim():
    guide = (ROOT / "docs" / "writing-a-plugin.md").read_text()
    example = ROOT / "docs" / "example-plugin"
    assert (example / "ganzoo_tinygan.py").read_text() in code_blocks(guide, "python")
    assert (example / "pyproject.toml").read_text() in code_blocks(guide, "toml")


def test_readme_quickstart_has_the_run_and_test_lines_ci_uses():
    readme = (ROOT / "README.md").read_text()
    quickstart = code_blocks(readme.split("## Quickstart", 1)[1], "bash")[0].splitlines()
    assert quickstart[0] == "pip install -e . && ganzoo run dcgan"
    assert quickstart[1].startswith('pip install -e ".[test]"')
    assert "grep -m1 '^pip install -e \"\\.\\[test\\]\"' README.md" in (ROOT / ".ci" / "run").read_text()


def test_guide_metric_example_registers_and_runs(register_plugin, tmp_path):
    import types

    import ganzoo
    from ganzoo.eval import evaluate

    guide = (ROOT / "docs" / "writing-a-plugin.md").read_text()
    [source] = [b for b in code_blocks(guide, "python") if "def register_metrics" in b]
    module = types.ModuleType("guide_metric_plugin")
    exec("import ganzoo\n" + source, module.__dict__)
    register_plugin(module, "guide-metric")
    result = ganzoo.train("dcgan", out=str(tmp_path / "r"), steps=1, batch_size=16, g_width=8, d_width=8)
    doc = evaluate(result.run_dir, registry(), ["mean-brightness-n1000"])
    value = doc["metrics"]["mean-brightness-n1000"]["values"]["brightness"]
    assert -1.0 <= value <= 1.0 and doc["metrics"]["mean-brightness-n1000"]["protocol"] == {"n": 1000}


def test_readme_list_variants_example_is_true():
    import re

    import ganzoo

    readme = (ROOT / "README.md").read_text()
    shown = re.search(r'ganzoo\.list_variants\("\*gan"\)\s+# (\[.*?\])', readme)
    assert shown and eval(shown.group(1)) == ganzoo.list_variants("*gan")  # noqa: S307 - a list literal from our README
