"""Untrusted text as data: what a downloaded config.json, model card or Hub repo says is shown
escaped and capped, never as lines of its own, so a hostile file cannot print fake `ganzoo:` lines
or advice into a user's terminal."""

from __future__ import annotations

import re

# PEP 508 distribution names: letters, digits, '.', '_', '-', starting and ending alphanumeric.
DISTRIBUTION_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")


def escaped(value: object, limit: int = 80) -> str:
    """``value`` as text to quote inside a message: control characters and quotes escaped, at most
    ``limit`` characters (with "..." when cut)."""
    text = value if isinstance(value, str) else repr(value)
    out = text.encode("unicode_escape").decode("ascii").replace("'", "\\'")
    return out if len(out) <= limit else out[: limit - 3] + "..."


def shown(value: object, limit: int = 80) -> str:
    """``value`` as a repr-like quoted string: :func:`escaped` between single quotes."""
    return f"'{escaped(value, limit)}'"


def distribution_name(value: object) -> str | None:
    """``value`` when it is a well-formed distribution name (something `pip install` could mean), else None."""
    return value if isinstance(value, str) and DISTRIBUTION_RE.match(value) else None


def one_line(value: object, limit: int = 200) -> str:
    """``value`` as text on one line, for a model card or a commit message: control characters
    (newlines included) escaped, at most ``limit`` characters, quotes kept as they are."""
    text = value if isinstance(value, str) else str(value)
    out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def with_spreads(values: dict) -> list[tuple[str, str]]:
    """A result's values as (key, text) rows, each ``KEY_std`` folded into its key's row as
    "mean ± std", so a number is never read without its spread."""
    rows = []
    for key, value in values.items():
        if key.endswith("_std") and key[: -len("_std")] in values:
            continue
        text = f"{value:.4g}" if isinstance(value, float) else str(value)
        spread = values.get(f"{key}_std")
        if isinstance(spread, (int, float)) and isinstance(value, (int, float)):
            text += f" ± {spread:.2g}"
        rows.append((key, text))
    return rows
