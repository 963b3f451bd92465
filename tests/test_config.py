"""--set parsing: the types users write on the command line, and the errors they get."""

import dataclasses
from typing import Literal

import pytest

from ganzoo.config import ConfigError, TrainConfig, VariantConfig, parse_assignments, replace, split_overrides


@dataclasses.dataclass
class Cfg(VariantConfig):
    lr: float = 2e-4
    size: Literal[32, 64] = 32
    channels: int | None = None
    betas: tuple[float, float] = (0.5, 0.999)
    loss: str = "bce"
    clip: bool = False


def test_values_are_parsed_by_field_type():
    cfg = replace(Cfg(), {"lr": "1e-3", "size": "64", "channels": "none", "betas": "0,0.9", "clip": "true", "steps": "7"}, text=True)
    assert cfg == Cfg(lr=1e-3, size=64, channels=None, betas=(0.0, 0.9), clip=True, steps=7)
    assert replace(Cfg(), {"channels": "3"}, text=True).channels == 3


@pytest.mark.parametrize(
    "key,value,fragment",
    [
        ("lr", "fast", "'lr' expects float"),
        ("size", "48", "'size' expects 32 | 64"),
        ("steps", "1.5", "'steps' expects int"),
        ("clip", "maybe", "'clip' expects bool"),
        ("betas", "0.5", "'betas' expects tuple[float, float]"),
    ],
)
def test_wrong_types_name_the_key_and_type(key, value, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("|", r"\|").replace("[", r"\[").replace("]", r"\]")):
        replace(Cfg(), {key: value}, text=True)


def test_unknown_key_suggests_the_closest():
    with pytest.raises(ConfigError, match=r"unknown config key 'lrr' \(did you mean 'lr'\?\)"):
        replace(Cfg(), {"lrr": "1"}, text=True)


def test_json_values_are_checked_not_parsed():
    assert replace(Cfg(), {"betas": [0.0, 0.9], "lr": 1}).betas == (0.0, 0.9)
    with pytest.raises(ConfigError):
        replace(Cfg(), {"steps": "10"})  # a string where JSON should hold an int


def test_split_routes_keys_to_variant_or_trainer():
    v, t = split_overrides({"lr": "1", "seed": "3", "ema": "true"}, Cfg(), TrainConfig())
    assert v == {"lr": "1"} and t == {"seed": "3", "ema": "true"}
    with pytest.raises(ConfigError, match="unknown config key 'sed'"):
        split_overrides({"sed": "3"}, Cfg(), TrainConfig())


def test_assignments_need_an_equals_sign():
    assert parse_assignments(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["lr"])


# -- config files (#31 item 3) --------------------------------------------------------------------------


def test_show_config_writes_a_commented_yaml_file_that_config_reads_back_exactly(cli, tmp_path):
    import yaml

    shown = cli("run", "cyclegan", "--set", "lambda_cycle_b=0", "--set", "cycle_recolor=b", "--set", "diffaugment=translation", "--show-config")
    assert shown.returncode == 0 and not (tmp_path / "runs").exists()  # nothing loaded, nothing written
    text = shown.stdout
    assert "as the official code); None: lambda_cycle\n" in text  # the field's own comment
    assert "  # type: float (>= 0) | None\n  lambda_cycle_b: 0.0\n" in text and "  diffaugment: [translation]\n" in text
    (tmp_path / "c.yaml").write_text(text)
    again = cli("run", "cyclegan", "--config", "c.yaml", "--show-config")
    assert again.stdout == text  # read back unchanged
    doc = yaml.safe_load(text)
    assert doc["variant"] == "cyclegan" and doc["config"]["cycle_recolor"] == "b" and doc["train"]["seed"] == 0


def test_set_beats_the_file_which_beats_the_defaults_and_the_run_records_what_config_takes(cli, tmp_path):
    import json

    (tmp_path / "c.yaml").write_text("variant: dcgan\nconfig:\n  g_width: 8\n  d_width: 8\n  steps: 5\ntrain:\n  sample_every: 0\nbatch_size: 16\n")
    ran = cli("run", "dcgan", "--config", "c.yaml", "--set", "steps=2", "--out", "r")
    assert ran.returncode == 0, ran.stderr
    doc = json.loads((tmp_path / "r" / "config.json").read_text())
    assert doc["config"]["steps"] == 2 and doc["config"]["g_width"] == 8 and doc["config"]["batch_size"] == 16  # --set, file, flat key
    assert doc["config"]["lr"] == 2e-4 and doc["train"]["sample_every"] == 0  # a default, a trainer key from the file
    # The run's own config.json is a config file: the same run again, with nothing set.
    again = cli("run", "dcgan", "--config", "r/config.json", "--show-config")
    shown = cli("run", "dcgan", "--config", "c.yaml", "--set", "steps=2", "--show-config")
    assert again.returncode == 0 and again.stdout == shown.stdout


@pytest.mark.parametrize("text,words", [
    ("config:\n  g_widht: 8\n", "--config 'c.yaml', config: unknown config key 'g_widht' (did you mean 'g_width'?)"),
    ("lr_g: 1\n", "--config 'c.yaml': unknown config key 'lr_g' (did you mean 'lr'?)"),
    ("variant: wgan\n", "--config 'c.yaml' is for variant 'wgan', not 'dcgan'"),
    ("config: [1, 2\n", "--config 'c.yaml' is not valid YAML or JSON"),
    ("- 1\n", "--config 'c.yaml' must hold a mapping of keys, not list"),
    ("config:\n  g_width: 0\n", "g_width"),
])
def test_a_bad_config_file_is_one_line(cli, tmp_path, text, words):
    (tmp_path / "c.yaml").write_text(text)
    done = cli("run", "dcgan", "--config", "c.yaml", "--out", "r")
    assert done.returncode == 2 and words in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "r").exists()
