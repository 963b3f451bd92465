"""Config files: ``ganzoo run VARIANT --config FILE`` (YAML or JSON), and ``--show-config``, which
writes exactly such a file: every key with its value, the comment its dataclass field carries and
its type and range, so the file is its own documentation and reads back unchanged.

A file holds ``variant`` and ``data`` (optional, checked against the command line), and the keys
under ``config`` (the variant's) and ``train`` (the trainer's); flat keys at the top level are
routed to whichever config has them. Precedence: ``--set`` and flags > the file > the defaults.
A run directory's ``config.json`` is such a file too (JSON is YAML), so a run can be repeated with
``--config runs/X/config.json``.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import textwrap
import tokenize
from pathlib import Path
from typing import Any

from ._version import __version__
from .config import TrainConfig, field_types, to_dict, type_name, unknown_key_message
from .errors import ConfigError

SECTIONS = ("config", "train")
META = ("variant", "data", "dataset", "ganzoo_version", "command", "torch_threads", "precision")  # what a run's config.json holds besides


def field_comments(cls: type) -> dict[str, str]:
    """Each dataclass field's comment in its source (the lines just above it and the one after it),
    the nearest class in the MRO first: the text `--show-config` writes above each key. Comment
    lines that start in lower case or with "(" continue the previous field's trailing comment."""
    out: dict[str, str] = {}
    for klass in cls.__mro__:
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        above: list[str] = []
        previous = ""
        lines = source.splitlines()
        comments = {tok.start[0]: tok.string.lstrip("#").strip()
                    for tok in tokenize.generate_tokens(io.StringIO(source).readline) if tok.type == tokenize.COMMENT}
        for number, line in enumerate(lines, start=1):
            stripped = line.strip()
            if stripped.startswith("#"):
                above.append(comments.get(number, ""))
                continue
            name = stripped.split(":", 1)[0].strip() if ":" in stripped and not stripped.startswith(("def ", "class ", "@")) else ""
            if name.isidentifier() and line.startswith((" ", "\t")) and not line.startswith(("        ", "\t\t")):
                if above and previous and (above[0][:1].islower() or above[0][:1] == "("):
                    out[previous] = " ".join([out[previous], *above]).strip()
                    above = []
                if name not in out:
                    out[name] = " ".join([*above, comments.get(number, "")]).strip()
                    previous = name
                else:
                    previous = ""
            above = []
    return out


def _yaml_value(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(list(value) if isinstance(value, tuple) else value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _section(name: str, cfg: Any) -> list[str]:
    cls = type(cfg)
    types, comments, values = field_types(cls), field_comments(cls), to_dict(cfg)
    lines = [f"{name}:"]
    for key in values:
        comment = comments.get(key, "")
        if comment:
            lines += [f"  # {part}" for part in textwrap.wrap(comment, 100)]
        lines.append(f"  # type: {type_name(types[key])}")
        lines.append(f"  {key}: {_yaml_value(values[key])}")
    return lines


def to_yaml(variant: str, data: str, config: Any, train: TrainConfig) -> str:
    """The resolved config as a file `--config` reads back to the same values."""
    return "\n".join([
        f"# ganzoo {__version__}: `ganzoo run {variant} --config THIS_FILE` trains with exactly these values;",
        "# --set KEY=VALUE on the command line overrides any of them. Each key's comment and type come from its field.",
        f"variant: {_yaml_value(variant)}",
        f"data: {_yaml_value(data)}",
        *_section("config", config),
        *_section("train", train),
        "",
    ])


def read(path: str | Path) -> dict[str, Any]:
    """A config file as a mapping (YAML, or JSON, which is YAML); ConfigError naming the file otherwise."""
    import yaml

    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--config '{path}' does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--config '{path}' cannot be read ({exc})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise ConfigError(f"--config '{path}' is not valid YAML or JSON{at}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"--config '{path}' must hold a mapping of keys, not {type(doc).__name__}")
    return doc


def settings(doc: dict[str, Any], path: str | Path, variant: str, variant_cls: Any, known_train: type = TrainConfig) -> tuple[dict[str, Any], str | None]:
    """The ``--set``-style settings a config file holds (values checked later by the key's type), and
    the data it names (None: none). Unknown keys get the same "did you mean" as ``--set``."""
    named = doc.get("variant")
    if named is not None and named != variant:
        raise ConfigError(f"--config '{path}' is for variant '{named}', not '{variant}'")
    vkeys, tkeys = set(field_types(variant_cls.Config)), set(field_types(known_train))
    out: dict[str, Any] = {}
    for section, keys in (("config", vkeys), ("train", tkeys)):
        values = doc.get(section) or {}
        if not isinstance(values, dict):
            raise ConfigError(f"--config '{path}': '{section}' must be a mapping of keys")
        for key, value in values.items():
            if key not in keys:
                raise ConfigError(f"--config '{path}', {section}: " + unknown_key_message(str(key), keys))
            out[key] = value
    for key, value in doc.items():
        if key in SECTIONS or key in META:
            continue
        if key not in vkeys | tkeys:
            raise ConfigError(f"--config '{path}': " + unknown_key_message(str(key), vkeys | tkeys | {"variant", "data", "config", "train"}))
        out[key] = value
    data = doc.get("data")
    if isinstance(data, dict) and "dataset" in doc:  # a run's config.json: "data" describes what was served
        data = doc["dataset"]
    if data is not None and not isinstance(data, str):
        raise ConfigError(f"--config '{path}': 'data' must be a dataset name or a folder")
    return out, data
