"""Linear probe on answer-end hidden states (docs/methods.md#linear-probe).

Each (item, choice) has a feature vector (middle and last layer concatenated). A linear layer
without bias scores every choice; a softmax over the item's **valid** choices gives the MC
probabilities. Padded choice slots are masked everywhere (docs/defects.md#d-4): only valid vectors
are ever copied out of the feature array (so padding garbage, even NaN, cannot reach the statistics
or the gradients), padded logits are −∞ and padded probabilities exactly 0. Because the valid
vectors form the same matrix with or without padding, results do not depend on the padding.

Training follows the original recipe: z-normalisation with statistics of the training items
only, PyTorch's default ``nn.Linear`` init seeded per cell, full-batch plain SGD at lr 0.05
for 100 epochs with a linear decay to 10 % (HF ``get_scheduler("linear")`` stretched over
steps / 0.9), gradient-norm clipping at 1.0, loss = mean NLL + λ‖w‖₂ (the norm, not its
square), and a NaN guard that refits with clip / 4 and λ × 4.

Memory: features may be a ``numpy.memmap``; only the selected items are read, chunk by chunk,
into one float32 working copy of their valid vectors that is normalised in place.
Prediction reads chunks of items and keeps only scores.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

#: Lower bound on a feature's standard deviation (constant features normalise to 0, not NaN).
STD_FLOOR = 1e-6
#: Size of one temporary chunk when reading features or computing statistics: bounds the
#: memory used beyond the working copy (read at call time, so tests can shrink it).
CHUNK_BYTES = 16 * 2**20


class ProbeDivergedError(FloatingPointError):
    """The probe's weights stayed non-finite after every allowed refit."""


@dataclass
class ProbeFit:
    """A fitted probe: weights, normalisation statistics and how it was trained.

    ``l2``/``clip`` are the requested values; ``l2_used``/``clip_used`` the ones of the
    accepted fit (they differ when the NaN guard refitted). ``train_loss`` holds the loss
    before each SGD step of the accepted fit; ``final_loss`` the loss at the returned weights.
    """

    weight: np.ndarray  # (D,) float32, in normalised feature space
    mean: np.ndarray  # (D,) float32
    std: np.ndarray  # (D,) float32, floored at STD_FLOOR
    train_loss: np.ndarray  # (steps,) float64
    final_loss: float
    train_acc: float
    n_refits: int
    n_train: int
    seed: int
    lr: float
    epochs: int
    l2: float
    lr_floor: float
    clip: float
    max_refits: int
    l2_used: float
    clip_used: float

    def summary(self) -> dict[str, Any]:
        """Scalars for logs and provenance (JSON-safe; no arrays)."""
        keys = (
            "final_loss train_acc n_refits n_train seed lr epochs l2 lr_floor clip max_refits"
            " l2_used clip_used"
        ).split()
        out = {k: getattr(self, k) for k in keys}
        out["dim"] = int(self.weight.shape[0])
        out["weight_norm"] = float(np.linalg.norm(self.weight.astype(np.float64)))
        return out


# --------------------------------------------------------------------------- helpers


def _item_index(n_items: int, items: np.ndarray | None) -> np.ndarray | None:
    """Validate an optional row selection (int indices or a boolean mask) as int indices."""
    if items is None:
        return None
    idx = np.asarray(items)
    if idx.dtype == bool:
        if idx.shape != (n_items,):
            raise ValueError(f"boolean items mask has shape {idx.shape}, expected ({n_items},)")
        return np.flatnonzero(idx)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("items must be a 1-D integer index array or a boolean mask")
    if idx.size and (idx.min() < -n_items or idx.max() >= n_items):
        raise IndexError("items index out of range")
    return idx.astype(np.intp)


def _check_shapes(features: np.ndarray, mask: np.ndarray) -> None:
    if features.ndim != 3:
        raise ValueError(f"features must be (n_items, max_choices, dim); got {features.shape}")
    if mask.shape != features.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} does not match features {features.shape[:2]}")


def _check_labels(mask: np.ndarray, labels: np.ndarray) -> None:
    """Every item needs a valid choice, and its gold label must be one of them."""
    if labels.shape != mask.shape[:1]:
        raise ValueError(f"labels shape {labels.shape} does not match {mask.shape[0]} items")
    if not mask.any(axis=1).all():
        raise ValueError("some items have no valid choice")
    if labels.size and (labels.min() < 0 or labels.max() >= mask.shape[1]):
        raise ValueError("labels out of range of the choice axis")
    if not mask[np.arange(labels.size), labels].all():
        raise ValueError("some gold labels point at padded choice slots")


def _chunks(n: int, bytes_per_row: int) -> Iterator[slice]:
    """Consecutive row slices of about ``CHUNK_BYTES`` each (at least one row)."""
    size = max(1, CHUNK_BYTES // max(1, bytes_per_row))
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _read_valid(features: np.ndarray, idx: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    """The valid (item, choice) vectors of the selected items, float32, in row-major order.

    Rows are read chunk by chunk, so a memmap is touched only for the selected items and the
    padded slots (whatever garbage they hold) never leave the chunk (docs/defects.md#d-4).
    """
    out = np.empty((int(mask.sum()), features.shape[2]), dtype=np.float32)
    pos = 0
    for sl in _chunks(mask.shape[0], features.shape[1] * features.shape[2] * 4):
        rows = features[sl] if idx is None else features[idx[sl]]
        valid = np.asarray(rows)[mask[sl]]
        out[pos : pos + len(valid)] = valid
        pos += len(valid)
    return out


def _valid_stats(xv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std (ddof=1, as ``torch.std`` in the original) of the valid vectors.

    Two passes in float64 over row chunks (accurate, no float64 copy of the whole array).
    """
    n, dim = xv.shape
    total = np.zeros(dim, dtype=np.float64)
    for sl in _chunks(n, dim * 8):
        total += xv[sl].sum(axis=0, dtype=np.float64)
    mean = total / n
    sq = np.zeros(dim, dtype=np.float64)
    for sl in _chunks(n, dim * 8):
        dev = xv[sl].astype(np.float64)
        dev -= mean
        sq += np.einsum("nd,nd->d", dev, dev)
    std = np.sqrt(sq / max(n - 1, 1))
    return mean.astype(np.float32), np.maximum(std, STD_FLOOR).astype(np.float32)


def _normalise_inplace(xv: np.ndarray, mean: np.ndarray, std: np.ndarray) -> None:
    """z-normalise valid vectors with the training statistics."""
    xv -= mean
    xv /= std


def probe_loss(
    layer: nn.Module,
    xv: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    l2: float,
    confidence_coef: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean NLL over items of the gold choice (softmax over valid choices) + l2·Σ‖θ‖₂.

    ``xv`` holds only the valid vectors (row-major over ``mask``); their scores are scattered
    into an (n, C) grid of −∞, so padded slots take no part in the softmax or the gradient.
    Returns (loss, masked scores). The penalty is the L2 norm (not squared) of each
    parameter tensor, summed, as in the original's ``torch.linalg.vector_norm``.
    With ``confidence_coef`` the NLL becomes the cross-entropy to Burns et al.'s auxiliary
    confidence target (``e2h.weak.confidence_targets``) at that mixing weight.
    """
    valid_scores = layer(xv).squeeze(-1)
    scores = torch.full(mask.shape, float("-inf"), dtype=valid_scores.dtype)
    scores = scores.masked_scatter(mask, valid_scores)
    if confidence_coef is not None:
        from e2h.weak import confidence_targets, soft_cross_entropy

        target = confidence_targets(torch.softmax(scores, dim=1), labels, mask, confidence_coef)
        nll = soft_cross_entropy(scores, target, mask)
    else:
        logp = torch.log_softmax(scores, dim=1)
        nll = -logp.gather(1, labels.view(-1, 1)).mean()
    penalty = sum(torch.linalg.vector_norm(p) for p in layer.parameters())
    return nll + l2 * penalty, scores


def lr_multiplier(step: int, n_steps: int, lr_floor: float) -> float:
    """Linear decay from 1 towards ``lr_floor``: 1 − (1 − floor)·step / n_steps, no warmup.

    Equals HF's linear schedule over n_steps / (1 − floor) steps, as the original used, so
    the last of 100 steps runs at 0.109·lr and the floor is reached just after training ends.
    """
    return 1.0 - (1.0 - lr_floor) * step / n_steps


def _init_layer(dim: int, seed: int) -> nn.Linear:
    """PyTorch's default ``nn.Linear`` init drawn from a seeded CPU generator.

    Seeding happens inside ``fork_rng`` on the CPU default generator only, so the caller's
    global RNG state (CPU and CUDA) is left exactly as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(int(seed))
        layer = nn.Linear(dim, 1, bias=False)
    return layer


def _train_once(
    x: torch.Tensor,
    mask: torch.Tensor,
    labels: torch.Tensor,
    *,
    seed: int,
    lr: float,
    epochs: int,
    l2: float,
    lr_floor: float,
    clip: float,
    confidence: tuple[float, float] | None = None,
) -> tuple[nn.Linear, list[float], bool]:
    """One full-batch SGD run; stops early (diverged=True) once weights turn non-finite.

    Plain SGD (no momentum, no weight decay) is θ ← θ − lr_t·g, the same ``add_`` that
    ``torch.optim.SGD`` performs; it is written out because the optimiser's first step imports
    ``torch._dynamo`` (≈1.5 s per process), more than the whole fit costs.
    """
    layer = _init_layer(x.shape[-1], seed)
    params = list(layer.parameters())
    losses: list[float] = []
    n_steps = epochs  # full batch: one step per epoch
    for step in range(n_steps):
        for p in params:
            p.grad = None
        coef = None
        if confidence is not None:
            from e2h.weak import confidence_weight

            coef = confidence_weight(step / n_steps, *confidence)
        loss, _ = probe_loss(layer, x, mask, labels, l2, coef)
        loss.backward()
        clip_grad_norm_(params, clip)
        step_lr = lr * lr_multiplier(step, n_steps, lr_floor)
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-step_lr)
        losses.append(float(loss.detach()))
        if not torch.isfinite(layer.weight).all():
            return layer, losses, True
    return layer, losses, not bool(torch.isfinite(layer.weight).all())


# --------------------------------------------------------------------------- public API


def fit_probe(
    features: np.ndarray,
    mask: np.ndarray,
    labels: np.ndarray,
    *,
    seed: int,
    items: np.ndarray | None = None,
    lr: float,
    epochs: int,
    l2: float,
    lr_floor: float,
    clip: float,
    max_refits: int,
    confidence: tuple[float, float] | None = None,
) -> ProbeFit:
    """Fit the probe (docs/methods.md#linear-probe) on the training items and return weights plus
    statistics.

    ``features`` (n, C, D) float array or memmap, ``mask`` (n, C) bool (False = padded),
    ``labels`` (n,) gold choice indices. ``items`` optionally selects the training rows
    (indices or boolean mask, aligned with all three arrays) so a memmap of the whole
    dataset can be passed without copying it; by default every row is a training item.
    ``seed`` comes from the caller (``e2h.seeds.torch_seed``) and fixes the init.

    Raises ``ProbeDivergedError`` if the weights are still non-finite after ``max_refits``
    refits (the original silently kept NaN weights). ``confidence`` = (alpha_max, warmup)
    trains with Burns et al.'s auxiliary confidence loss (docs/methods.md#weak-to-strong).
    """
    mask = np.asarray(mask, dtype=bool)
    labels = np.asarray(labels)
    _check_shapes(features, mask)
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be integers")
    if epochs < 0 or max_refits < 0 or not 0.0 <= lr_floor <= 1.0 or clip <= 0 or l2 < 0:
        raise ValueError("invalid hyperparameters")
    idx = _item_index(features.shape[0], items)
    m = mask if idx is None else mask[idx]
    y = labels.astype(np.int64) if idx is None else labels[idx].astype(np.int64)
    if m.shape[0] == 0:
        raise ValueError("no training items")
    _check_labels(m, y)

    xv = _read_valid(features, idx, m)
    mean, std = _valid_stats(xv)
    _normalise_inplace(xv, mean, std)

    xt = torch.from_numpy(xv)
    mt = torch.from_numpy(np.ascontiguousarray(m))
    yt = torch.from_numpy(np.ascontiguousarray(y))

    clip_used, l2_used = float(clip), float(l2)
    n_refits = 0
    while True:
        layer, losses, diverged = _train_once(
            xt,
            mt,
            yt,
            seed=seed,
            lr=lr,
            epochs=epochs,
            l2=l2_used,
            lr_floor=lr_floor,
            clip=clip_used,
            confidence=confidence,
        )
        if not diverged:
            break
        if n_refits >= max_refits:
            raise ProbeDivergedError(
                f"probe weights non-finite after {n_refits} refits "
                f"(last clip={clip_used:g}, l2={l2_used:g})"
            )
        n_refits += 1
        clip_used /= 4.0
        l2_used *= 4.0

    with torch.no_grad():
        final, scores = probe_loss(layer, xt, mt, yt, l2_used)
        acc = float((scores.argmax(dim=1) == yt).double().mean())
    return ProbeFit(
        weight=layer.weight.detach().reshape(-1).numpy().copy(),
        mean=mean,
        std=std,
        train_loss=np.asarray(losses, dtype=np.float64),
        final_loss=float(final),
        train_acc=acc,
        n_refits=n_refits,
        n_train=int(m.shape[0]),
        seed=int(seed),
        lr=float(lr),
        epochs=int(epochs),
        l2=float(l2),
        lr_floor=float(lr_floor),
        clip=float(clip),
        max_refits=int(max_refits),
        l2_used=l2_used,
        clip_used=clip_used,
    )


def predict_probe(
    fit: ProbeFit,
    features: np.ndarray,
    mask: np.ndarray,
    *,
    items: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Choice probabilities and scores for (selected) items, read in chunks.

    Returns ``(probs, scores)``, both float64 of shape (n, C): the softmax over valid choices
    and the linear scores on training-normalised features; padded slots get probability
    exactly 0 and score −∞ (docs/defects.md#d-4).
    """
    mask = np.asarray(mask, dtype=bool)
    _check_shapes(features, mask)
    if features.shape[2] != fit.weight.shape[0]:
        raise ValueError(f"feature dim {features.shape[2]} != probe dim {fit.weight.shape[0]}")
    idx = _item_index(features.shape[0], items)
    n = features.shape[0] if idx is None else idx.size
    m_all = mask if idx is None else mask[idx]
    if n and not m_all.any(axis=1).all():
        raise ValueError("some items have no valid choice")
    scores = np.full(m_all.shape, -np.inf, dtype=np.float64)
    w = fit.weight.astype(np.float32)
    for sl in _chunks(n, features.shape[1] * features.shape[2] * 4):
        rows = features[sl] if idx is None else features[idx[sl]]
        m = m_all[sl]
        xv = np.asarray(np.asarray(rows)[m], dtype=np.float32)  # a fresh copy, valid only
        _normalise_inplace(xv, fit.mean, fit.std)
        scores[sl][m] = xv @ w
    top = scores.max(axis=1, keepdims=True) if n else np.zeros((0, 1))
    ex = np.where(m_all, np.exp(scores - top), 0.0)
    probs = ex / ex.sum(axis=1, keepdims=True)
    return probs, scores


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of items whose highest-probability choice is the gold one."""
    if len(labels) == 0:
        return math.nan
    return float((np.argmax(probs, axis=1) == np.asarray(labels)).mean())
