"""The evaluation harness: metrics registered by plugins, run on any export with a stated protocol.

A metric is a :class:`Metric` registered through the ``register_metrics`` hook. Its name encodes its
protocol (feature network, sample counts, reference split), and every result records the protocol
again with the sample counts, seed, ganzoo version and the model's identity, so a number can be
reproduced or rejected by anyone who reads it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from .._io import atomic_write_json
from .._version import __version__
from ..data import load_data
from ..data.spec import Dataset
from ..errors import GanzooError
from ..export.card import refresh_card
from ..export.folder import load_export
from ..export.format import RESULTS, WEIGHTS, locate
from ..model import Model
from ..truncation import protocol as truncation_protocol
from ..truncation import truncated_name
from ..variant import Variant
from .metric import Metric


class Catalog(Protocol):
    """What the harness looks names up in: the registry's variants, datasets and metrics (any
    object with these three mappings will do; the API edge passes the plugin registry)."""

    @property
    def variants(self) -> Mapping[str, type[Variant]]: ...
    @property
    def datasets(self) -> Mapping[str, Dataset]: ...
    @property
    def metrics(self) -> Mapping[str, Metric]: ...


class EvalContext:
    """What a metric sees: the loaded model, its training data, a seed, and cached samples/features."""

    def __init__(self, model: Model, data, seed: int = 0, device: str | torch.device = "cpu", features=None, features_spec: str = "",
                 truncation: float = 0.0):
        self.model = model  # ganzoo.Model: the generators, and the typed description of the export
        self.data = data  # InMemoryData the model was trained on (the reference)
        self.seed = seed
        self.device = torch.device(device)
        self.features = features  # user-supplied extractor: images in [-1, 1] -> (N, D), or None
        self.features_spec = features_spec  # "module:callable" it came from, recorded in results
        self.truncation = truncation  # fraction of latents Jacobian-based truncation rejects (0: G as trained)
        self._cache: dict[Any, Any] = {}

    @property
    def task(self) -> str:
        return self.model.task.value

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @torch.no_grad()
    def samples(self, n: int, labels: torch.Tensor | None = None, seed: int | None = None) -> torch.Tensor:
        """``Model.generate(n, seed=seed, labels=labels, truncation=...)`` (``seed`` defaults to the
        eval seed) in the model's native range ([-1, 1] for images), on the CPU: one noise draw of n,
        however batched, so a reader can regenerate exactly the samples a metric scored."""
        seed = self.seed if seed is None else seed
        key = ("samples", n, seed, None if labels is None else hashlib.sha1(labels.cpu().numpy().tobytes()).hexdigest())

        def draw() -> torch.Tensor:
            return torch.cat([b.float().cpu() for b in self.model.generate_batches(n, seed=seed, labels=labels, truncation=self.truncation)])

        return self.cached(key, draw)

    def real(self, idx: torch.Tensor | None = None) -> torch.Tensor:
        """The reference images as the model sees them, on the CPU: rows ``idx`` only (read from
        the file for a prepared dataset, never all of it), or the whole set (kept for reuse)."""
        if idx is not None:
            return self.data.as_model_input(self.data.x[idx.to(self.data.x.device)]).cpu()
        return self.cached("real", lambda: self.data.as_model_input(self.data.x).cpu())


def model_identity(path: Path) -> dict[str, Any]:
    """Which model a result belongs to: its folder, variant and the sha256 of its weights."""
    weights = path / WEIGHTS
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None
    return {"path": str(path), "weights_sha256": digest}


def load_features(spec: str, device: str | torch.device = "cpu"):
    """``"package.module:factory"`` -> the extractor ``factory()`` builds, in eval mode on ``device``.
    The module is looked up as ``python -m`` would: the current directory first, then sys.path."""
    import os
    import sys

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise GanzooError(f"--features expects MODULE:CALLABLE, got {spec!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise GanzooError(f"cannot load feature extractor {spec!r}: {exc}") from None
    finally:
        if added:
            sys.path.remove(cwd)
    if not callable(factory):
        raise GanzooError(f"--features {spec!r}: {attr} is not callable; it must be a function or class that builds the extractor")
    try:
        extractor = factory()
    except Exception as exc:  # noqa: BLE001 - the user's factory: whatever it raises is theirs to fix, in one line
        raise GanzooError(f"--features {spec!r}: calling {attr}() failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no details'}); "
                          "it must take no arguments and return a module mapping images in [-1, 1] to (N, D) features") from None
    if not callable(extractor):
        raise GanzooError(f"--features {spec!r}: {attr}() returned {type(extractor).__name__}, which is not callable on images")
    if isinstance(extractor, torch.nn.Module):
        extractor = extractor.to(device).eval()
    return extractor


def eval_cache_dir(name: str) -> Path:
    """Where results of a model that is not the user's folder (a pretrained one, a Hub repo) go:
    $GANZOO_CACHE_DIR/evals/NAME (default ~/.cache/ganzoo), never into an installed package."""
    import os
    import re

    root = Path(os.environ.get("GANZOO_CACHE_DIR") or Path.home() / ".cache" / "ganzoo").expanduser()
    return root / "evals" / re.sub(r"[^A-Za-z0-9._-]+", "--", name).strip("-.")


def score(export: Path, registry: Catalog, metrics: list[str] | None = None, *, seed: int = 0, device: str = "cpu",
          features: str | None = None, truncation: float = 0.0, data: str | None = None) -> tuple[dict[str, Any], Model]:
    """The eval.json document of ``metrics`` (default: every default one that applies) on the
    export in ``export``, and the loaded model; nothing is written. ``truncation`` > 0 scores the
    samples of Jacobian-based truncation, under the metric's name + "+jbtQ" (``ganzoo.truncation``).
    ``data`` is the reference dataset (a name or folder), by default the one the export was trained on."""
    from ..truncation import check_fraction

    check_fraction(truncation)
    model = load_export(export, registry.variants, device=device)
    if truncation:
        model.truncation_threshold(truncation)  # a translator or upscaler has no noise to truncate: refused before any metric runs
    cls = type(model.variant)
    request = dataclasses.replace(cls.data_request(model.variant.config), kind=model.data.kind)
    dataset = data or model.dataset
    if not dataset:
        raise GanzooError(f"'{export}' names no training dataset (its config.json has no training.dataset), so there is nothing "
                          "to compare its samples with; give the reference with --data NAME|PATH")
    trained = {} if data else model.info.training.train  # a Hub dataset is read with the columns the model trained on
    reference = load_data(dataset, request, registry.datasets, image_column=str(trained.get("image_column") or ""),
                          label_column=str(trained.get("label_column") or ""))
    extractor = load_features(features, device) if features else None
    ctx = EvalContext(model, reference, seed=seed, device=device, features=extractor, features_spec=features or "", truncation=truncation)
    results = run_metrics(ctx, metrics, registry.metrics)
    for result in results.values():
        result.update(seed=seed, ganzoo_version=__version__)
    doc = {
        "ganzoo_version": __version__,
        "model": {**model_identity(export), "variant": model.name, "dataset": model.dataset},
        **({"reference": data} if data else {}),
        "seed": seed,
        "metrics": results,
    }
    return doc, model


def merge_results(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new``'s metrics added to ``old``'s: a metric evaluated again replaces that metric only, the
    others stay. Results recorded for other weights (another sha256) are not kept."""
    if not isinstance(old, dict) or not isinstance(old.get("metrics"), dict):
        return new
    if old.get("model", {}).get("weights_sha256") != new["model"]["weights_sha256"]:
        import logging

        logging.getLogger(__name__).warning("eval.json held results of other weights (a different sha256); they are replaced")
        return new
    return {**new, "metrics": {**old["metrics"], **new["metrics"]}}


def record(doc: dict[str, Any], model: Model, folder: Path, *, card: bool = True) -> dict[str, Any]:
    """Merge ``doc`` into ``folder/eval.json`` (see merge_results) and, with ``card``, re-render
    the folder's ganzoo-written model card with every recorded result; returns the merged document."""
    from .._files import Damaged, read_json_object

    path = folder / RESULTS
    try:
        old = read_json_object(path) if path.exists() else None
    except Damaged as exc:
        import logging

        logging.getLogger(__name__).warning("'%s' %s; starting it afresh", path, exc)
        old = None
    merged = merge_results(old, doc)
    atomic_write_json(path, merged)
    if card:
        refresh_card(folder, model, merged)
    return merged


def evaluate(path: str | Path, registry: Catalog, metrics: list[str] | None = None, *, seed: int = 0, device: str = "cpu",
             write: bool = True, features: str | None = None, truncation: float = 0.0, data: str | None = None) -> dict[str, Any]:
    """Score the export (or a run directory's export) at ``path`` with the registry's metrics and,
    with ``write``, add the results to eval.json and the model card beside the weights (a metric
    run again replaces its earlier result; the others stay). ``features`` ("module:callable")
    supplies a feature extractor for the *-userfeatures-* metrics; ``truncation`` scores
    Jacobian-based truncation's samples (see score). Returns this run's document."""
    export = locate(path)
    doc, model = score(export, registry, metrics, seed=seed, device=device, features=features, truncation=truncation, data=data)
    if write:
        record(doc, model, export)
    return doc


def run_metrics(ctx: EvalContext, metrics: list[str] | None, available: Mapping[str, Metric], *,
                require: bool = True) -> dict[str, dict[str, Any]]:
    """The named metrics (all of ``available`` that apply when none are named): values, protocol
    and time of each. With ``require``, none applying is a GanzooError saying what would."""
    if metrics:
        unknown = [name for name in metrics if name not in available]
        if unknown:
            import difflib

            hint = difflib.get_close_matches(unknown[0], list(available), n=1)
            raise GanzooError(f"unknown metric '{unknown[0]}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                              + f" Known metrics: {', '.join(sorted(available))}.")
        chosen = [available[name] for name in metrics]
        for m in chosen:
            if not m.applies(ctx):
                raise GanzooError(f"metric '{m.name}' does not apply to a {ctx.model.name} model trained on {ctx.model.dataset}")
    else:
        chosen = [m for m in available.values() if m.default and m.applies(ctx)]
        if not chosen and require:
            raise GanzooError(no_metric_message(ctx, available))
    results = {}
    for m in chosen:
        t0 = time.perf_counter()
        with torch.no_grad():  # metrics only read the networks
            values = m.compute(ctx)
        protocol = {**m.protocol, **({"features": ctx.features_spec} if "userfeatures" in m.name else {}),
                    **(truncation_protocol(ctx.truncation) if ctx.truncation else {})}
        results[truncated_name(m.name, ctx.truncation)] = {"values": values, "protocol": protocol, "seconds": round(time.perf_counter() - t0, 2)}
    return results


def no_metric_message(ctx: EvalContext, available: Mapping[str, Metric]) -> str:
    """Why nothing was scored, and what would score this model."""
    named = sorted(m.name for m in available.values() if not m.default and m.applies(ctx))
    hints = []
    if named:
        hints.append(f"name one that applies but downloads weights: --metrics {' '.join(named[:3])}")
    if ctx.features is None and any("userfeatures" in name for name in available):
        hints.append("or give your own feature network with --features MODULE:CALLABLE for the *-userfeatures-* metrics")
    return (f"no default metric applies to a {ctx.model.name} model trained on {ctx.model.dataset!r} (the built-in ones "
            f"judge digits, 2-D points and photos); " + ("; ".join(hints) or "see `ganzoo metrics`") + ". Nothing was written")
