"""Noisy training labels (RQ3, docs/methods.md#noisy-labels).

The paper asks whether easy data wins once hard labels are noisier: easy training labels are
corrupted with probability p, hard ones with 2p. A corrupted label is replaced by a uniformly
drawn choice: ``any`` (the paper's; it may redraw the gold choice, so the realised corruption
rate is about p (1 - 1/choices)) or ``wrong_only`` (always a wrong choice, rate about p).

Each training item draws its own two uniforms, keyed by (dataset, resample, item id) and never
by p, the training level or the cell: an item corrupted at p is corrupted, with the same
replacement, at every larger p (nested), and the test labels are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from e2h.seeds import rng


def item_draws(dataset: str, resample: int, ids: Sequence[str], base_seed: int) -> np.ndarray:
    """(len(ids), 2) uniforms per item: whether it is corrupted, and its replacement."""
    return np.array(
        [rng("label_noise", dataset, resample, i, base_seed=base_seed).random(2) for i in ids]
    ).reshape(len(ids), 2)


def corrupt(
    labels: np.ndarray,
    n_choices: np.ndarray,
    draws: np.ndarray,
    p: float,
    mode: str = "any",
) -> np.ndarray:
    """The training labels after noise with probability ``p`` (``draws`` from ``item_draws``).

    ``labels``/``n_choices`` per training item; returns a new array, gold where not corrupted.
    """
    labels = np.asarray(labels, dtype=np.int64)
    n_choices = np.asarray(n_choices, dtype=np.int64)
    if not 0.0 <= p < 1.0:
        raise ValueError(f"label noise p = {p}: a probability in [0, 1)")
    if (n_choices < 2).any():
        raise ValueError("label noise needs at least two choices per item")
    hit = draws[:, 0] < p
    if mode == "any":
        new = np.floor(draws[:, 1] * n_choices).astype(np.int64)
    elif mode == "wrong_only":
        k = np.floor(draws[:, 1] * (n_choices - 1)).astype(np.int64)
        new = k + (k >= labels)  # the k-th wrong choice
    else:
        raise ValueError(f"label noise mode {mode!r}; allowed: any, wrong_only")
    new = np.minimum(new, n_choices - 1)
    return np.where(hit, new, labels)


def noisy_labels(
    labels: np.ndarray,
    n_choices: np.ndarray,
    ids: Sequence[str],
    dataset: str,
    resample: int,
    p: float,
    mode: str,
    base_seed: int,
) -> tuple[np.ndarray, float]:
    """Corrupted training labels of one resample and the realised corruption rate (the
    fraction of labels that differ from gold)."""
    if not p:
        return np.asarray(labels, dtype=np.int64).copy(), 0.0
    draws = item_draws(dataset, resample, ids, base_seed)
    out = corrupt(labels, n_choices, draws, p, mode)
    rate = float((out != np.asarray(labels)).mean()) if len(out) else 0.0
    return out, rate
