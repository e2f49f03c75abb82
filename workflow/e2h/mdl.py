"""Model-based hardness from learning curves: the paper's "MDL" and real code lengths
(docs/hardness.md#mdl).

Every function here takes gold-label probabilities that a method already produced: the
scoring engine (decoding), the linear probe or LoRA-MC fitted on nested subsets of the
hardness pool (learned, finetuned). Arrays are indexed ``[resample, size, item]``; ``sizes``
are the nested subset sizes t_1 < … < t_S of the learning curve.

- :func:`paper_mdl` is the paper's score, one minus the mean gold probability over the curve.
  It is a probability-based area under the learning curve, not a code length.
- :func:`logloss_area` (``mdl_logloss``) is the same area in bits.
- :func:`prequential_item_bits` (``mdl_preq``) is what item i costs in the prequential
  (online) code of Voita & Titov (2020): the first block is sent with the uniform code, block
  s + 1 with the model trained on the first t_s items, weighted by the block's width.
- :func:`online_code_length` is the dataset-level online code of the pool's own stream, with
  the uniform code and the compression ratio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: probabilities are clipped here before taking logs: a probe can put exactly 0 on the gold
#: choice in float32, and an infinite code length would swamp every average
MIN_PROB = 1e-12


def _curve(probs: np.ndarray, sizes: Sequence[int] | None = None) -> np.ndarray:
    """``probs`` as a float64 [resample, size, item] array, checked."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 1:  # one resample, one size (decoding)
        p = p[None, None, :]
    if p.ndim != 3:
        raise ValueError(f"gold probabilities must be [resample, size, item], got {p.shape}")
    if np.isnan(p).any():
        raise ValueError("gold probabilities contain NaN: a curve point is missing")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("gold probabilities must lie in [0, 1]")
    if sizes is not None:
        _check_sizes(sizes, p.shape[1])
    return p


def _check_sizes(sizes: Sequence[int], n_sizes: int) -> None:
    if len(sizes) != n_sizes:
        raise ValueError(f"{len(sizes)} sizes for {n_sizes} curve points")
    if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)) or min(sizes) < 0:
        raise ValueError(f"sizes must be non-negative and strictly increasing, not {list(sizes)}")


def _bits(p: np.ndarray) -> np.ndarray:
    return -np.log2(np.clip(p, MIN_PROB, 1.0))


def item_bits(probs: np.ndarray) -> np.ndarray:
    """−log₂ p(gold) per item, in bits (the decoding variant's ``mdl_logloss``)."""
    return _bits(_curve(probs)[0, 0])


def paper_mdl(probs: np.ndarray) -> np.ndarray:
    """1 − mean over resamples and sizes of p(gold), per item (the paper's ``mdl_*``)."""
    return 1.0 - _curve(probs).mean(axis=(0, 1))


def logloss_area(probs: np.ndarray, n_choices: np.ndarray, sizes: Sequence[int]) -> np.ndarray:
    """Mean over resamples and sizes of −log₂ p(gold), per item, in bits (``mdl_logloss``).

    A size of 0 is the untrained model: log₂ K bits for an item with K choices, whatever
    probability was passed for it.
    """
    p = _curve(probs, sizes)
    bits = _bits(p)
    k = np.asarray(n_choices, dtype=np.float64)
    for s, size in enumerate(sizes):
        if size == 0:
            bits[:, s, :] = np.log2(k)[None, :]
    return bits.mean(axis=(0, 1))


def prequential_item_bits(
    probs: np.ndarray, n_choices: np.ndarray, sizes: Sequence[int]
) -> np.ndarray:
    """Per item, the prequential code length in bits per stream item (``mdl_preq``).

    L(i) = [t₁·log₂K + Σ_{s=1}^{S−1} (t_{s+1} − t_s)·(−log₂ p_{θ(t_s)}(y_i))] / t_S, averaged
    over resamples. ``probs[:, s]`` comes from the model trained on the first ``sizes[s]``
    items; the model trained on all t_S items codes no block, so its column is not used.
    """
    p = _curve(probs, sizes)
    t = np.asarray(sizes, dtype=np.float64)
    if t[0] <= 0:
        raise ValueError("the prequential code needs a first block of at least one item")
    k = np.asarray(n_choices, dtype=np.float64)
    total = t[0] * np.log2(k)[None, :] + np.zeros((p.shape[0], p.shape[2]))
    for s in range(len(sizes) - 1):
        total = total + (t[s + 1] - t[s]) * _bits(p[:, s, :])
    return (total / t[-1]).mean(axis=0)


@dataclass(frozen=True)
class OnlineCode:
    """The online code of one stream: bits sent, the uniform code's bits, their ratio."""

    online_bits: float
    uniform_bits: float

    @property
    def compression(self) -> float:
        return self.uniform_bits / self.online_bits


def online_code_length(
    stream_probs: Sequence[np.ndarray], stream_choices: np.ndarray, sizes: Sequence[int]
) -> OnlineCode:
    """Voita & Titov's online code of a stream of t_S items (nested subsets: the first t_s
    stream items are the training subset of size t_s).

    ``stream_probs[s]`` holds p_{θ(t_s)}(y_i) for the items of block s + 1 (stream positions
    t_s … t_{s+1} − 1), for s = 0 … S − 2; ``stream_choices`` the choice count of every stream
    item in stream order. The first block is sent with the uniform code.
    """
    _check_sizes(sizes, len(sizes))
    k = np.asarray(stream_choices, dtype=np.float64)
    if len(k) != sizes[-1]:
        raise ValueError(f"{len(k)} stream items, but the last size is {sizes[-1]}")
    if len(stream_probs) != len(sizes) - 1:
        raise ValueError(f"{len(stream_probs)} blocks of probabilities for {len(sizes)} sizes")
    uniform = np.log2(k)
    online = float(uniform[: sizes[0]].sum())
    for s, block in enumerate(stream_probs):
        p = _curve(block)[0, 0]
        width = sizes[s + 1] - sizes[s]
        if len(p) != width:
            raise ValueError(f"block {s + 2} has {len(p)} probabilities for {width} items")
        online += float(_bits(p).sum())
    return OnlineCode(online, float(uniform.sum()))


def model_average(per_model: dict[str, np.ndarray], models: Sequence[str]) -> np.ndarray:
    """Mean over **every** configured hardness model; a missing one is an error, named."""
    missing = [m for m in models if m not in per_model]
    if missing:
        raise ValueError(
            f"hardness models {missing} have no scores; the average needs every configured "
            f"model ({list(models)}), not those that happen to exist"
        )
    return np.mean(np.stack([np.asarray(per_model[m], dtype=np.float64) for m in models]), axis=0)
