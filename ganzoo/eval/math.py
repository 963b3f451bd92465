"""Metric math on features and points. The image-metric math is torch-fidelity's (the reference
implementation of FID, KID, Inception Score and Kynkäänniemi precision/recall, fed our own
features); the mode-coverage protocols of VEEGAN/PacGAN are written here, since no library has them.
"""

from __future__ import annotations

import math

import torch


def fid(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017)."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    a = fid_features_to_statistics(features_a.double().cpu())
    b = fid_features_to_statistics(features_b.double().cpu())
    return float(fid_statistics_to_metric(a, b, verbose=False)["frechet_inception_distance"])


def kid(features_a: torch.Tensor, features_b: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> tuple[float, float]:
    """Kernel distance (Bińkowski et al. 2018): mean and std of the unbiased MMD^2 with the cubic
    polynomial kernel k(x, y) = (x.y / d + 1)^3 over ``subsets`` random subsets of each side.

    torch-fidelity's estimator, subset draws and seeding (numpy RandomState(seed), subsets chosen
    without replacement, side a then side b), with the kernels of all subsets computed as one
    batched matmul: its per-subset numpy loop took a minute for ganzoo's 5 draws x 2 sides on a
    2-core machine. tests/test_eval.py checks the two agree."""
    import numpy as np

    a, b = features_a.double().cpu(), features_b.double().cpu()
    size = min(subset_size, len(a), len(b))
    rng = np.random.RandomState(seed)
    picks = [(rng.choice(len(a), size, replace=False), rng.choice(len(b), size, replace=False)) for _ in range(subsets)]
    d = a.shape[1]

    def kernel(u, v):
        return (u @ v.transpose(1, 2) / d + 1) ** 3

    parts = []
    for i in range(0, subsets, 10):  # 10 subsets at a time: 3 kernels of (10, size, size) doubles in memory
        x = a[torch.as_tensor(np.stack([p for p, _ in picks[i : i + 10]]))]  # (10, size, d)
        y = b[torch.as_tensor(np.stack([q for _, q in picks[i : i + 10]]))]
        k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
        off_diagonal = (k_xx.sum((1, 2)) - k_xx.diagonal(dim1=1, dim2=2).sum(1)) + (k_yy.sum((1, 2)) - k_yy.diagonal(dim1=1, dim2=2).sum(1))
        parts.append(off_diagonal / (size * (size - 1)) - 2 * k_xy.sum((1, 2)) / size**2)
    mmd2 = torch.cat(parts)
    return float(mmd2.mean()), float(mmd2.std(correction=0))  # population std, as torch-fidelity's np.std


def precision_recall(generated: torch.Tensor, real: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds, k = 3 as in the paper."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    out = prc_features_to_metric(
        generated.float().cpu(), real.float().cpu(), prc_neighborhood=k, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    return float(out["precision"]), float(out["recall"])


def inception_score(logits: torch.Tensor, splits: int = 10, seed: int = 0) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) || p(y))) over ``splits`` splits (Salimans et al. 2016), from classifier logits."""
    from torch_fidelity.metric_isc import isc_features_to_metric

    out = isc_features_to_metric(logits.double().cpu(), splits=splits, shuffle=True, rng_seed=seed)
    return float(out["inception_score_mean"]), float(out["inception_score_std"])


def mode_coverage(points: torch.Tensor, means: torch.Tensor, sigma: float) -> dict[str, float]:
    """The VEEGAN/PacGAN protocol on 2-D mixtures. A sample is high quality if it lies within
    3 sigma of its nearest mode; a mode is captured if at least one high-quality sample has it as
    nearest mode. Reverse KL is KL(generated mode histogram || uniform over the modes), computed
    over the high-quality samples (PacGAN, Section 5.1). ``min_mode_share`` is the least-held mode's
    count of high-quality samples over its expected count, n / modes (1: every mode its full share;
    0: a mode missed), which the mode count alone does not show: one stray point captures a mode."""
    d = torch.cdist(points.double(), means.double())
    dist, nearest = d.min(dim=1)
    good = dist <= 3 * sigma
    counts = torch.bincount(nearest[good], minlength=len(means)).double()
    captured = int((counts > 0).sum())
    return {
        "modes": float(captured),
        "high_quality_percent": 100.0 * good.double().mean().item(),
        "reverse_kl": histogram_kl(counts, torch.full((len(means),), 1.0 / len(means), dtype=torch.float64)),
        "min_mode_share": counts.min().item() * len(means) / len(points),
    }


def histogram_kl(counts: torch.Tensor, reference: torch.Tensor) -> float:
    """KL(p || q) of a count histogram p against a reference distribution q; empty bins of p add 0."""
    total = counts.sum()
    if total == 0:
        return math.inf
    p = counts.double() / total
    q = reference.double() / reference.sum()
    mask = p > 0
    return float((p[mask] * (p[mask] / q[mask]).log()).sum())
