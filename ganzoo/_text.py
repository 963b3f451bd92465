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


def number(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, positional (300, not 3e+02) unless it is huge or tiny."""
    if value == 0 or not 1e-4 <= abs(value) < 1e9:
        return f"{value:.{digits}g}"
    import numpy as np

    return np.format_float_positional(value, precision=digits, unique=False, fractional=False, trim="-")


def _spread_of(key: str, values: dict) -> str | None:
    """The key holding ``key``'s spread: KEY_std, or X_std beside X_mean."""
    for candidate in (f"{key}_std", f"{key.removesuffix('_mean')}_std" if key.endswith("_mean") else None):
        if candidate and candidate in values:
            return candidate
    return None


def with_spreads(values: dict) -> list[tuple[str, str]]:
    """A result's values as (key, text) rows, each spread (``KEY_std``, or ``X_std`` beside
    ``X_mean``) folded into its key's row as "mean ± std", so a number is never read without it."""
    folded = {s for k in values if (s := _spread_of(k, values)) and isinstance(values[k], (int, float))}
    rows = []
    for key, value in values.items():
        if key in folded:
            continue
        text = number(value, 4) if isinstance(value, float) else str(value)
        spread = values.get(_spread_of(key, values) or "")
        if isinstance(spread, (int, float)) and isinstance(value, (int, float)):
            text += f" ± {number(spread, 2)}"
        rows.append((key, text))
    return rows


UNITS = (  # (key prefix, unit), first match wins: what a bare number in a results table is measured in
    ("kid", "MMD^2, cubic kernel on the network's features (compare with kid_real_floor)"),
    ("fid", "Frechet distance on the network's features (compare with fid_real_floor)"),
    ("psnr", "dB"),
    ("ssim", "SSIM (1 = identical)"),
    ("precision", "fraction of samples"), ("recall", "fraction of data"), ("accuracy", "fraction"),
    ("is", "Inception Score (1 to classes)"), ("kl", "nats"), ("modes", "count"), ("high_quality", "fraction"),
)


def unit_of(key: str) -> str:
    for prefix, unit in UNITS:
        if key == prefix or key.startswith(prefix + "_"):
            return "samples" if key.endswith(("_size", "_n")) else unit
    return ""
