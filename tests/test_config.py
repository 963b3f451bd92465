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
