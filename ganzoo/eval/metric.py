"""What a plugin registers to add a metric; kept apart from the harness, so the registry (which
checks registrations) needs this record and nothing of the machinery that runs it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import EvalContext


@dataclasses.dataclass(frozen=True)
class Metric:
    """A registered metric; ``compute`` returns named values, e.g. {"fid": 3.1, "fid_floor": 1.2}."""

    name: str  # id that encodes the protocol, e.g. "fid-digitscnn-x5"
    summary: str  # one line for `ganzoo metrics`
    protocol: dict[str, Any]  # what the number means: feature network, counts, split, thresholds
    applies: Callable[[EvalContext], bool]  # whether the metric makes sense for this model and data
    compute: Callable[[EvalContext], dict[str, float]]  # the values, larger/smaller-is-better per key
    default: bool = True  # run by `ganzoo eval` when no metric is named; False for ones that download weights
