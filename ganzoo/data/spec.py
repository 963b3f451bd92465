"""What a dataset plugin registers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .memory import InMemoryData
    from .types import DataKind, DataRequest


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A named dataset: metadata for ``ganzoo datasets`` and a loader called once per run."""

    name: str  # registry name used with --data, e.g. "digits"
    summary: str  # one line for `ganzoo datasets`
    load: "Callable[[DataRequest], InMemoryData]"  # builds the whole dataset in memory for a request
    kind: "DataKind" = "image"  # "image" or "points"
    labels: bool = False  # whether samples come with class labels
    offline: bool = True  # False when the first use downloads files
    domains: int = 1  # 2 for unpaired two-domain data (Batch.x_b holds domain B)
    terms: str = ""  # the data's licence or terms of use, or where to read them (`ganzoo datasets` shows it)
