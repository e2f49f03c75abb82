"""Accuracy statistics: boot-averaged accuracy, grid bootstrap, SGR, t-intervals
(docs/statistics.md#accuracy-bookkeeping, #sgr, #grid-bootstrap).

Data are item × resample matrices of 0/1 accuracies with NaN where an item was not tested in a
resample (docs/statistics.md#accuracy-bookkeeping). The bootstraps resample items (rows) and
resamples (columns) with replacement. Resampling with replacement is the same as multinomial count
weights, so with row counts w and column counts v the resampled nanmean is (wᵀ X₀ v) / (wᵀ M v),
X₀ = X with NaN → 0 and M the observation mask (docs/statistics.md#grid-bootstrap). Draws are
batched as one (chunk × n) @ (n × k) product per chunk, so 100,000 draws over a few thousand items
take seconds and memory stays bounded.

Arms are aligned by item id, never by row order (docs/defects.md#d-5). Every draw comes from the
``numpy.random.Generator`` the caller passes (``e2h.seeds.rng("bootstrap", ...)``).

Random-draw order (fixed, so a result is reproducible from the generator's seed): per chunk of
``b`` draws, first ``rng.integers(0, n, size=(b, n), dtype=np.int32)`` for the shared row
resample, then for each arm in order ``rng.integers(0, c, size=(b, c), dtype=np.int32)`` for
its own column resample (c = the arm's number of columns).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

try:  # optional: present wherever scikit-learn is, not a declared dependency
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover - depends on the environment
    _threadpool_limits = None

Statistic = Literal["ratio_of_means", "elementwise"]
MatrixLike = np.ndarray | pd.DataFrame

#: Memory bound for one chunk: row counts (float64) + row indices (int32) per draw and item.
_CHUNK_ELEMENTS = 1 << 21


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BootstrapResult:
    """Summary of one bootstrap distribution.

    ``mean`` is the mean of the finite draws (the number the SGR table prints); ``estimate`` is the
    plug-in value from boot-averaged accuracies (docs/statistics.md#accuracy-bookkeeping, the number
    the by-method figure shows). ``n_items`` counts items with at least one observation in the
    analysed matrix; ``draws`` is the number requested, ``draws_used`` the finite ones and
    ``n_nonfinite`` the dropped ones (division by zero in a ratio). ``p_value`` is None for
    single-arm accuracies, where a test of "accuracy = 0" means nothing.
    """

    statistic: str
    mean: float
    estimate: float
    ci_low: float
    ci_high: float
    half_width: float
    p_value: float | None
    n_items: int
    draws: int
    draws_used: int
    n_nonfinite: int
    level: float
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    #: SGR only: the supervision gap Hard − Unsup, its mean and percentile interval over the
    #: same draws (an SGR recovers something only where this interval lies above zero)
    gap_mean: float | None = None
    gap_ci_low: float | None = None
    gap_ci_high: float | None = None
    #: SGR (ratio of means) only: each arm's accuracy interval over the same draws
    arm_ci: dict[str, tuple[float, float]] | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """Plain fields for a table row (the draws themselves are left out)."""
        out = asdict(self)
        out.pop("samples")
        out.pop("arm_ci")
        return out

    def format(self, digits: int = 2, scale: float = 1.0) -> str:
        """Format as "0.96 ± 0.10 (p < 1e-4)"; ``scale=100`` prints accuracies in percent."""
        return format_estimate(
            self.mean * scale, self.half_width * scale, self.p_value, digits=digits
        )


@dataclass(frozen=True)
class TInterval:
    """A t-interval on item means: mean ± t_{(1+level)/2, n−1} · sd/√n."""

    mean: float
    low: float
    high: float
    half_width: float
    sd: float
    n: int
    level: float


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _as_float_matrix(x: MatrixLike) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        arr = x.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray(x, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"expected an items × resamples matrix, got shape {arr.shape}")
    return arr


def boot_averaged_accuracy(matrix: MatrixLike) -> float:
    """Mean over resamples (columns) of each resample's nanmean
    (docs/statistics.md#accuracy-bookkeeping).

    This is the accuracy the bar figures show. Columns without any observation (a resample
    with no test item at this level) are skipped rather than turned into NaN.
    """
    x = _as_float_matrix(matrix)
    mask = np.isfinite(x)
    counts = mask.sum(axis=0)
    keep = counts > 0
    if not keep.any():
        return math.nan
    col_means = np.where(mask, x, 0.0).sum(axis=0)[keep] / counts[keep]
    return float(col_means.mean())


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval [q_{(1−level)/2}, q_{(1+level)/2}] (numpy linear = R type 7)."""
    samples = np.asarray(samples, dtype=float)
    if samples.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [alpha, 1.0 - alpha])
    return float(low), float(high)


def bootstrap_p_value(samples: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "statistic = 0" (docs/statistics.md#grid-bootstrap).

    With draws β* and their mean β̄: p = P(β* − β̄ < −|β̄|) + P(β* − β̄ > |β̄|), i.e. how often
    the centred distribution reaches at least as far from 0 as the observed mean.
    """
    samples = np.asarray(samples, dtype=float)
    if samples.size == 0:
        return math.nan
    centred = samples - samples.mean()
    bound = abs(samples.mean())
    if bound == 0.0:  # the statistic is exactly 0 (e.g. two arms with the same predictions):
        return 1.0  # no evidence against 0; the strict inequalities below would give p = 0
    return float(np.mean(centred < -bound) + np.mean(centred > bound))


def _summarise(
    samples: np.ndarray,
    *,
    statistic: str,
    estimate: float,
    n_items: int,
    level: float,
    with_p: bool,
    keep_samples: bool,
) -> BootstrapResult:
    finite = np.isfinite(samples)
    used = samples[finite]
    low, high = percentile_interval(used, level)
    return BootstrapResult(
        statistic=statistic,
        mean=float(used.mean()) if used.size else math.nan,
        estimate=float(estimate),
        ci_low=low,
        ci_high=high,
        half_width=(high - low) / 2.0,
        p_value=bootstrap_p_value(used) if with_p else None,
        n_items=int(n_items),
        draws=int(samples.size),
        draws_used=int(used.size),
        n_nonfinite=int(samples.size - used.size),
        level=float(level),
        samples=used.copy() if keep_samples else None,
    )


def _counts(idx: np.ndarray, k: int, dtype: type = np.float64) -> np.ndarray:
    """Multinomial counts (b × k) from resampled indices (b × m) in [0, k)."""
    b = idx.shape[0]
    if k <= 64:
        offsets = (np.arange(b, dtype=np.int64) * k)[:, None]
        flat = (idx + offsets).ravel()
        return np.bincount(flat, minlength=b * k).reshape(b, k).astype(dtype)
    # Row by row keeps the k-long target in cache; one flat bincount over b·k is slower here.
    out = np.empty((b, k), dtype=np.int64)
    for r in range(b):
        out[r] = np.bincount(idx[r], minlength=k)
    return out.astype(dtype)


def _exact_in_float32(z: np.ndarray, n: int) -> bool:
    """Whether (counts @ z) is exact in float32: integer z and every partial sum below 2**24.

    0/1 accuracies always qualify, and the float32 product is about three times faster.
    """
    return bool(np.all(z == np.round(z)) and n * float(np.abs(z).max(initial=0.0)) < 2**24)


@contextlib.contextmanager
def _single_thread_blas() -> Iterator[None]:
    """Run the chunk products on one BLAS thread.

    The products are thin (chunk × n @ n × k); a multi-threaded BLAS gains little on them and,
    when other jobs share the cores, measured 5× slower through thread contention.
    """
    if _threadpool_limits is None:
        yield
        return
    with _threadpool_limits(limits=1, user_api="blas"):
        yield


def _pair_layout(ca: int, cr: int) -> int:
    """Number of element-wise columns for arm a minus arm r (a 1-column arm broadcasts)."""
    if ca != cr and 1 not in (ca, cr):
        raise ValueError(
            "element-wise statistic needs arms with equal numbers of resamples or a "
            f"single-column arm to broadcast; got {ca} and {cr} columns"
        )
    return max(ca, cr)


def _resampled_means(
    arms: Sequence[np.ndarray],
    draws: int,
    rng: np.random.Generator,
    *,
    pairs: Sequence[tuple[int, int]] | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Per-draw resampled nanmeans, shape (draws, len(arms)) or (draws, len(pairs)).

    One row resample per draw is shared by all arms (items are paired); each arm gets its own
    column resample. Without ``pairs`` the statistic is each arm's nanmean. With ``pairs`` it
    is, per pair (a, r), the nanmean of the element-wise difference of the resampled matrices
    A* − R* (the R code's form; column j of A* meets column j of R*, a single-column arm is
    broadcast), which counts only cells observed in both arms.
    """
    if draws < 1:
        raise ValueError("draws must be ≥ 1")
    n = arms[0].shape[0]
    if any(a.shape[0] != n for a in arms):
        raise ValueError("arms must have the same rows (align them by id first)")
    if n == 0:
        raise ValueError("no items to resample")
    ncols = [a.shape[1] for a in arms]
    masks = [np.isfinite(a) for a in arms]
    zeroed = [np.where(m, a, 0.0) for a, m in zip(arms, masks, strict=True)]

    # Columns of Z, in blocks: per statistic a "sum" block and a "count" block.
    blocks: list[np.ndarray] = []
    if pairs is None:
        for x0, m in zip(zeroed, masks, strict=True):
            blocks += [x0, m.astype(np.float64)]
        n_stats = len(arms)
    else:
        for ia, ir in pairs:
            _pair_layout(ncols[ia], ncols[ir])
            both = masks[ia][:, :, None] & masks[ir][:, None, :]
            diff = zeroed[ia][:, :, None] - zeroed[ir][:, None, :]
            k = ncols[ia] * ncols[ir]
            blocks += [np.where(both, diff, 0.0).reshape(n, k), both.reshape(n, k).astype(float)]
        n_stats = len(pairs)
    z = np.concatenate(blocks, axis=1)
    work_dtype = np.float32 if _exact_in_float32(z, n) else np.float64
    z = np.ascontiguousarray(z, dtype=work_dtype)
    widths = [blk.shape[1] for blk in blocks]
    starts = np.concatenate([[0], np.cumsum(widths)])

    if chunk_size is None:
        chunk_size = max(1, min(4096, _CHUNK_ELEMENTS // n))
    out = np.empty((draws, n_stats), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"), _single_thread_blas():
        for lo in range(0, draws, chunk_size):
            b = min(chunk_size, draws - lo)
            rows = rng.integers(0, n, size=(b, n), dtype=np.int32)
            cols = [rng.integers(0, c, size=(b, c), dtype=np.int32) for c in ncols]
            # (b × K): row-weighted column sums of every block, back in float64 for the ratios.
            sums = (_counts(rows, n, work_dtype) @ z).astype(np.float64)
            for s in range(n_stats):
                num_blk = sums[:, starts[2 * s] : starts[2 * s + 1]]
                den_blk = sums[:, starts[2 * s + 1] : starts[2 * s + 2]]
                if pairs is None:
                    v = _counts(cols[s], ncols[s])
                else:
                    ia, ir = pairs[s]
                    ca, cr = ncols[ia], ncols[ir]
                    width = max(ca, cr)
                    pa = np.broadcast_to(cols[ia], (b, width))
                    pr = np.broadcast_to(cols[ir], (b, width))
                    v = _counts(pa * cr + pr, ca * cr)
                out[lo : lo + b, s] = (num_blk * v).sum(axis=1) / (den_blk * v).sum(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# Alignment
# --------------------------------------------------------------------------------------------


def align_arms(arms: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Align item × resample frames on the union of item ids, by id (never row order,
    docs/defects.md#d-5).

    Ids are compared as strings and must be unique within each arm. The result shares one sorted
    index, so the answer does not depend on input row order. Rows with no observation in any arm
    and, per arm, columns with no observation are dropped (docs/statistics.md#grid-bootstrap).
    """
    if not arms:
        raise ValueError("no arms to align")
    frames: dict[str, pd.DataFrame] = {}
    for name, frame in arms.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"arm {name!r} must be a DataFrame indexed by item id, got {type(frame).__name__}"
            )
        ids = frame.index.astype(str)
        if not ids.is_unique:
            dup = ids[ids.duplicated()].unique()[:5].tolist()
            raise ValueError(f"arm {name!r} has duplicate item ids, e.g. {dup}")
        values = frame.to_numpy(dtype=float, na_value=np.nan)
        frames[name] = pd.DataFrame(
            values, index=pd.Index(ids, name="item_id"), columns=frame.columns
        )

    union = sorted(set().union(*(set(f.index) for f in frames.values())))
    index = pd.Index(union, name="item_id", dtype=object)
    aligned = {name: f.reindex(index) for name, f in frames.items()}
    observed = np.zeros(len(index), dtype=bool)
    for f in aligned.values():
        observed |= f.notna().to_numpy().any(axis=1)
    out: dict[str, pd.DataFrame] = {}
    for name, f in aligned.items():
        f = f.loc[observed]
        f = f.loc[:, f.notna().to_numpy().any(axis=0)]
        if f.shape[1] == 0:
            raise ValueError(f"arm {name!r} has no observation after alignment")
        out[name] = f
    return out


# --------------------------------------------------------------------------------------------
# Bootstraps
# --------------------------------------------------------------------------------------------


def grid_bootstrap(
    X: MatrixLike,
    draws: int,
    rng: np.random.Generator,
    *,
    level: float = 0.95,
    chunk_size: int | None = None,
    keep_samples: bool = False,
) -> BootstrapResult:
    """Single-arm accuracy CI (R ``bootstrapGRID``, docs/statistics.md#grid-bootstrap).

    All-NaN rows are dropped; each draw resamples rows and, independently, columns with
    replacement and takes the nanmean. Draws whose resample holds no observation are
    non-finite and are dropped and counted.
    """
    x = _as_float_matrix(X)
    x = x[np.isfinite(x).any(axis=1)]
    if x.shape[0] == 0:
        raise ValueError("matrix has no observation")
    samples = _resampled_means([x], draws, rng, chunk_size=chunk_size)[:, 0]
    return _summarise(
        samples,
        statistic="accuracy",
        estimate=boot_averaged_accuracy(x),
        n_items=x.shape[0],
        level=level,
        with_p=False,
        keep_samples=keep_samples,
    )


#: Accuracy gaps smaller than this are zero: means of 0/1 outcomes that differ only by
#: floating-point summation order (e.g. 1e-17) must not yield an SGR of 1e14.
ZERO_GAP = 1e-9


def gap_ratio(num: Any, den: Any) -> Any:
    """num / den, NaN where |den| < ZERO_GAP (the supervision gap is zero: SGR undefined)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(den) < ZERO_GAP, np.nan, num / den)


def sgr_bootstrap(
    unsup: pd.DataFrame,
    easy: pd.DataFrame,
    hard: pd.DataFrame,
    draws: int,
    rng: np.random.Generator,
    statistic: Statistic = "ratio_of_means",
    *,
    level: float = 0.95,
    chunk_size: int | None = None,
    keep_samples: bool = False,
) -> BootstrapResult:
    """Supervision Gap Recovered, (Easy − Unsup) / (Hard − Unsup), with bootstrap CI and p
    (docs/statistics.md#sgr, #grid-bootstrap).

    Arms are aligned by item id; each draw shares one item resample across arms and resamples
    each arm's columns independently. ``statistic="ratio_of_means"`` uses each arm's nanmean;
    ``"elementwise"`` uses the R code's nanmean of element-wise differences (Easy* − Unsup*,
    Hard* − Unsup*). Draws with a zero denominator are dropped and counted in ``n_nonfinite``.
    ``estimate`` is the plug-in SGR from the arms' boot-averaged accuracies.
    """
    aligned = align_arms({"unsup": unsup, "easy": easy, "hard": hard})
    arrays = [aligned[k].to_numpy() for k in ("unsup", "easy", "hard")]
    arm_ci = None
    if statistic == "ratio_of_means":
        m = _resampled_means(arrays, draws, rng, chunk_size=chunk_size)
        num, den = m[:, 1] - m[:, 0], m[:, 2] - m[:, 0]
        arm_ci = {
            arm: percentile_interval(m[np.isfinite(m[:, i]), i], level)
            for i, arm in enumerate(("unsup", "easy", "hard"))
        }
    elif statistic == "elementwise":
        d = _resampled_means(arrays, draws, rng, pairs=[(1, 0), (2, 0)], chunk_size=chunk_size)
        num, den = d[:, 0], d[:, 1]
    else:
        raise ValueError(f"unknown statistic {statistic!r}")
    samples = gap_ratio(num, den)  # a zero denominator gives NaN, dropped and counted
    acc_u, acc_e, acc_h = (boot_averaged_accuracy(a) for a in arrays)
    estimate = gap_ratio(np.float64(acc_e - acc_u), np.float64(acc_h - acc_u))
    result = _summarise(
        samples,
        statistic=f"sgr_{statistic}",
        estimate=float(estimate) if np.isfinite(estimate) else math.nan,
        n_items=arrays[0].shape[0],
        level=level,
        with_p=True,
        keep_samples=keep_samples,
    )
    gaps = den[np.isfinite(den)]
    low, high = percentile_interval(gaps, level)
    mean = float(gaps.mean()) if gaps.size else math.nan
    return replace(result, gap_mean=mean, gap_ci_low=low, gap_ci_high=high, arm_ci=arm_ci)


def diff_bootstrap(
    a: pd.DataFrame,
    b: pd.DataFrame,
    draws: int,
    rng: np.random.Generator,
    paired_intersection: bool = True,
    *,
    statistic: Statistic = "ratio_of_means",
    level: float = 0.95,
    chunk_size: int | None = None,
    keep_samples: bool = False,
) -> BootstrapResult:
    """Paired difference mean(a) − mean(b) (e.g. Easy − Hard), with bootstrap CI and p
    (docs/statistics.md#grid-bootstrap).

    With ``paired_intersection`` (default) only items observed at least once in both arms are
    used, so the difference compares the same items; otherwise the union is used. Rows are
    resampled jointly, columns per arm, as in ``sgr_bootstrap``.
    """
    if paired_intersection:
        obs_a = a.index.astype(str)[a.notna().to_numpy().any(axis=1)]
        obs_b = b.index.astype(str)[b.notna().to_numpy().any(axis=1)]
        common = set(obs_a) & set(obs_b)
        if not common:
            raise ValueError("the two arms share no observed item")
        a = a.loc[np.asarray(a.index.astype(str).isin(common))]
        b = b.loc[np.asarray(b.index.astype(str).isin(common))]
    aligned = align_arms({"a": a, "b": b})
    arrays = [aligned["a"].to_numpy(), aligned["b"].to_numpy()]
    if statistic == "ratio_of_means":
        m = _resampled_means(arrays, draws, rng, chunk_size=chunk_size)
        samples = m[:, 0] - m[:, 1]
    elif statistic == "elementwise":
        samples = _resampled_means(arrays, draws, rng, pairs=[(0, 1)], chunk_size=chunk_size)[:, 0]
    else:
        raise ValueError(f"unknown statistic {statistic!r}")
    estimate = boot_averaged_accuracy(arrays[0]) - boot_averaged_accuracy(arrays[1])
    return _summarise(
        samples,
        statistic=f"diff_{statistic}",
        estimate=estimate,
        n_items=arrays[0].shape[0],
        level=level,
        with_p=True,
        keep_samples=keep_samples,
    )


# --------------------------------------------------------------------------------------------
# t-intervals and formatting
# --------------------------------------------------------------------------------------------


def t_interval(values: Sequence[float] | np.ndarray | pd.Series, level: float = 0.95) -> TInterval:
    """mean ± t_{(1+level)/2, n−1} · sd/√n over the finite values (RQ1 accuracy-vs-hardness bars).

    NaNs are ignored (items never tested); with fewer than two values the width is NaN.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return TInterval(math.nan, math.nan, math.nan, math.nan, math.nan, 0, level)
    mean = float(x.mean())
    if n < 2:
        return TInterval(mean, math.nan, math.nan, math.nan, math.nan, n, level)
    sd = float(x.std(ddof=1))
    from scipy import stats as _sps  # here: importing scipy.stats takes a second

    half = float(_sps.t.ppf((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n))
    return TInterval(mean, mean - half, mean + half, half, sd, n, level)


def _fmt(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if value is not None and math.isfinite(value) else "NA"


def format_p(p: float | None) -> str:
    """Format p as "p = 0.0033" (four decimals), or "p < 1e-4" when it rounds to zero."""
    if p is None or not math.isfinite(p):
        return "p = NA"
    text = f"{p:.4f}"
    return "p < 1e-4" if text == "0.0000" else f"p = {text}"


def format_estimate(mean: float, half_width: float, p: float | None = None, digits: int = 2) -> str:
    """The SGR table's cell, "0.96 ± 0.10 (p < 1e-4)"; no p part when p is None."""
    text = f"{_fmt(mean, digits)} ± {_fmt(half_width, digits)}"
    return text if p is None else f"{text} ({format_p(p)})"
