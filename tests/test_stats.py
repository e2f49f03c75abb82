"""Grid bootstrap, SGR and t-intervals on synthetic data with known answers
(docs/statistics.md#accuracy-bookkeeping, #sgr, #grid-bootstrap)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from e2h.seeds import rng
from e2h.stats import (
    align_arms,
    boot_averaged_accuracy,
    bootstrap_p_value,
    diff_bootstrap,
    format_estimate,
    gap_ratio,
    grid_bootstrap,
    percentile_interval,
    sgr_bootstrap,
    t_interval,
)

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _ids(n: int) -> list[str]:
    return [f"item{i:05d}" for i in range(n)]  # sorted as strings, as align_arms sorts


def _pattern_arm(n: int, acc: float, cols: int, gen: np.random.Generator, nan_frac: float = 0.2):
    """Item i is correct iff (i % 10) < 10·acc, in every column: arm accuracy is exactly acc.

    NaNs remove whole blocks of ten consecutive items from a column (never from the first), so
    every column's accuracy stays exactly acc.
    """
    assert n % 10 == 0
    correct = (np.arange(n) % 10 < round(10 * acc)).astype(float)
    x = np.repeat(correct[:, None], cols, axis=1)
    holes = np.repeat(gen.random((n // 10, cols)) < nan_frac, 10, axis=0)
    holes[:, 0] = False
    x[holes] = np.nan
    return pd.DataFrame(x, index=_ids(n), columns=[f"r{j}" for j in range(cols)])


def _random_arm(n: int, p: float, cols: int, gen: np.random.Generator, nan_frac: float = 0.3):
    x = (gen.random((n, cols)) < p).astype(float)
    x[gen.random((n, cols)) < nan_frac] = np.nan
    return pd.DataFrame(x, index=_ids(n), columns=[f"r{j}" for j in range(cols)])


def _loop_indices(gen: np.random.Generator, draws: int, chunk: int, n: int, ncols: list[int]):
    """The engine's documented draw order: per chunk, rows, then each arm's columns."""
    rows, cols = [], [[] for _ in ncols]
    for lo in range(0, draws, chunk):
        b = min(chunk, draws - lo)
        rows.append(gen.integers(0, n, size=(b, n), dtype=np.int32))
        for k, c in enumerate(ncols):
            cols[k].append(gen.integers(0, c, size=(b, c), dtype=np.int32))
    return np.concatenate(rows), [np.concatenate(c) for c in cols]


# --------------------------------------------------------------------------------------------
# boot-averaged accuracy
# --------------------------------------------------------------------------------------------


def test_boot_averaged_accuracy() -> None:
    x = np.array([[1, 0, np.nan], [0, np.nan, np.nan], [1, 1, np.nan]])
    # column means 2/3 and 1/2; the all-NaN resample contributes nothing
    assert boot_averaged_accuracy(x) == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert boot_averaged_accuracy(pd.DataFrame(x)) == pytest.approx(7 / 12)
    assert math.isnan(boot_averaged_accuracy(np.full((3, 2), np.nan)))


# --------------------------------------------------------------------------------------------
# the weighted-matrix form equals explicit resampling
# --------------------------------------------------------------------------------------------


def test_grid_bootstrap_equals_explicit_loop() -> None:
    gen = np.random.default_rng(7)
    x = (gen.random((9, 4)) < 0.6).astype(float)
    x[gen.random((9, 4)) < 0.25] = np.nan
    x[0] = np.nan  # an all-NaN row is dropped before resampling
    x[1] = [1, np.nan, np.nan, np.nan]
    draws, chunk = 300, 7

    res = grid_bootstrap(x, draws, rng("test", "loop"), chunk_size=chunk, keep_samples=True)

    kept = x[np.isfinite(x).any(axis=1)]
    rows, (cols,) = _loop_indices(rng("test", "loop"), draws, chunk, kept.shape[0], [4])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a draw may see only NaNs
        ref = np.array([np.nanmean(kept[rows[d]][:, cols[d]]) for d in range(draws)])
    ref_finite = ref[np.isfinite(ref)]
    assert res.n_items == 8
    assert res.draws == draws
    assert res.draws_used == ref_finite.size
    assert res.n_nonfinite == draws - ref_finite.size
    np.testing.assert_allclose(res.samples, ref_finite, rtol=0, atol=1e-12)
    assert res.mean == pytest.approx(ref_finite.mean())
    lo, hi = np.quantile(ref_finite, [0.025, 0.975])
    assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi))
    assert res.half_width == pytest.approx((hi - lo) / 2)
    assert res.estimate == pytest.approx(boot_averaged_accuracy(kept))
    assert res.p_value is None


@pytest.mark.parametrize("statistic", ["ratio_of_means", "elementwise"])
def test_sgr_equals_explicit_loop(statistic: str) -> None:
    gen = np.random.default_rng(11)
    n, draws, chunk = 12, 400, 64
    unsup = _random_arm(n, 0.3, 1, gen, nan_frac=0.0)  # zero-shot: one column, broadcast
    easy = _random_arm(n, 0.6, 3, gen)
    hard = _random_arm(n, 0.75, 3, gen)
    # make sure alignment changes nothing: no all-NaN rows or columns
    for f in (easy, hard):
        f.iloc[:, 0] = f.iloc[:, 0].fillna(1.0)

    res = sgr_bootstrap(
        unsup,
        easy,
        hard,
        draws,
        rng("test", "sgr-loop"),
        statistic=statistic,
        chunk_size=chunk,
        keep_samples=True,
    )

    u, e, h = (f.to_numpy() for f in (unsup, easy, hard))
    rows, (cu, ce, ch) = _loop_indices(rng("test", "sgr-loop"), draws, chunk, n, [1, 3, 3])
    ref = np.empty(draws)
    gaps, arms = np.empty(draws), np.empty((draws, 3))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        for d in range(draws):
            us, es, hs = (m[rows[d]][:, c[d]] for m, c in ((u, cu), (e, ce), (h, ch)))
            if statistic == "ratio_of_means":
                num = np.nanmean(es) - np.nanmean(us)
                den = np.nanmean(hs) - np.nanmean(us)
                arms[d] = [np.nanmean(us), np.nanmean(es), np.nanmean(hs)]
            else:  # R: nanmean of element-wise differences, one-column arm broadcast
                num = np.nanmean(es - us)
                den = np.nanmean(hs - us)
            ref[d] = num / den
            gaps[d] = den
    ref_finite = ref[np.isfinite(ref)]
    assert res.draws_used == ref_finite.size
    np.testing.assert_allclose(res.samples, ref_finite, rtol=1e-10, atol=1e-12)
    assert res.p_value == pytest.approx(bootstrap_p_value(ref_finite))
    # the supervision gap Hard − Unsup and (ratio of means) each arm, over the same draws
    assert res.gap_mean == pytest.approx(gaps.mean())
    assert (res.gap_ci_low, res.gap_ci_high) == pytest.approx(np.quantile(gaps, [0.025, 0.975]))
    if statistic == "ratio_of_means":
        for i, arm in enumerate(("unsup", "easy", "hard")):
            expected = np.quantile(arms[:, i], [0.025, 0.975])
            assert res.arm_ci[arm] == pytest.approx(tuple(expected))


def test_elementwise_needs_compatible_columns() -> None:
    gen = np.random.default_rng(3)
    u, e, h = (_random_arm(20, 0.5, c, gen, nan_frac=0.0) for c in (2, 3, 3))
    with pytest.raises(ValueError, match="broadcast"):
        sgr_bootstrap(u, e, h, 10, rng("test", "cols"), statistic="elementwise")


# --------------------------------------------------------------------------------------------
# SGR with a known value, degenerate denominators
# --------------------------------------------------------------------------------------------


def test_sgr_known_value() -> None:
    gen = np.random.default_rng(5)
    n = 3000
    unsup = _pattern_arm(n, 0.3, 1, gen, nan_frac=0.0)
    easy = _pattern_arm(n, 0.6, 5, gen)
    hard = _pattern_arm(n, 0.7, 5, gen)
    res = sgr_bootstrap(unsup, easy, hard, 4000, rng("test", "sgr-known"))
    assert res.estimate == pytest.approx(0.75, abs=1e-12)  # (0.6 − 0.3) / (0.7 − 0.3)
    assert res.ci_low < 0.75 < res.ci_high
    assert res.mean == pytest.approx(0.75, abs=0.01)
    assert 0 < res.half_width < 0.1
    assert res.p_value == 0.0
    assert res.n_items == n
    assert res.draws == res.draws_used == 4000
    assert res.n_nonfinite == 0
    assert res.format() == f"0.75 ± {res.half_width:.2f} (p < 1e-4)"

    elem = sgr_bootstrap(unsup, easy, hard, 2000, rng("test", "sgr-known"), "elementwise")
    assert elem.ci_low < 0.75 < elem.ci_high


def test_sgr_fully_degenerate_denominator() -> None:
    gen = np.random.default_rng(9)
    unsup = _random_arm(50, 0.4, 1, gen, nan_frac=0.0)
    hard = unsup.copy()  # Hard == Unsup: every denominator is exactly 0
    easy = _random_arm(50, 0.6, 5, gen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning leaks out
        res = sgr_bootstrap(unsup, easy, hard, 500, rng("test", "degenerate"))
    assert res.draws == 500
    assert res.draws_used == 0
    assert res.n_nonfinite == 500
    for value in (res.mean, res.estimate, res.ci_low, res.ci_high, res.half_width, res.p_value):
        assert math.isnan(value)
    assert res.format() == "NA ± NA (p = NA)"


def test_sgr_float_noise_gap_is_zero_not_huge() -> None:
    """Hard == Unsup up to summation order (here 1.1e-16 apart) gives NA, not SGR ≈ 1e15."""
    gen = np.random.default_rng(0)
    for _ in range(7):
        x = (gen.random((40, 3)) < 0.5).astype(float)  # the 7th draw shows the noise
    ids = [f"i{i}" for i in range(40)]
    unsup = pd.DataFrame(x, index=ids)
    hard = pd.DataFrame(x[:, [2, 0, 1]], index=ids)  # same outcomes, columns reordered
    assert boot_averaged_accuracy(hard) != boot_averaged_accuracy(unsup)  # the noise is real
    easy = pd.DataFrame((gen.random((40, 3)) < 0.8).astype(float), index=ids)
    res = sgr_bootstrap(unsup, easy, hard, 200, rng("test", "noise"))
    assert math.isnan(res.estimate)
    assert gap_ratio(0.3, 1e-17) != gap_ratio(0.3, 1e-17)  # NaN
    assert gap_ratio(0.3, 0.4) == pytest.approx(0.75)


def test_sgr_partly_degenerate_denominator() -> None:
    # Hard differs from Unsup on one item of five: a draw that misses it has a 0 denominator,
    # which happens with probability (4/5)^5 ≈ 0.328.
    ids = _ids(5)
    unsup = pd.DataFrame({"r0": [0.0, 0, 0, 0, 0]}, index=ids)
    hard = pd.DataFrame({"r0": [1.0, 0, 0, 0, 0]}, index=ids)
    easy = pd.DataFrame({"r0": [1.0, 1, 0, 0, 0], "r1": [1.0, 0, 0, 1, 0]}, index=ids)
    draws = 20_000
    res = sgr_bootstrap(unsup, easy, hard, draws, rng("test", "partial"), keep_samples=True)
    assert res.draws_used + res.n_nonfinite == draws
    assert res.n_nonfinite / draws == pytest.approx(0.8**5, abs=0.015)
    assert np.isfinite(res.samples).all()
    assert res.samples.size == res.draws_used
    assert np.isfinite([res.mean, res.ci_low, res.ci_high, res.p_value]).all()


# --------------------------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------------------------


def test_grid_bootstrap_coverage() -> None:
    """Items of a U-shaped difficulty population (mean 0.5), five noisy resamples each."""
    reps, n, cols, draws = 200, 150, 5, 400
    hits = 0
    for rep in range(reps):
        gen = rng("test-coverage-data", rep)
        p_item = gen.beta(0.2, 0.2, size=n)
        x = (gen.random((n, cols)) < p_item[:, None]).astype(float)
        x[gen.random((n, cols)) < 0.2] = np.nan
        res = grid_bootstrap(x, draws, rng("test-coverage-boot", rep))
        hits += res.ci_low <= 0.5 <= res.ci_high
    coverage = hits / reps
    assert 0.90 <= coverage <= 0.99, coverage


# --------------------------------------------------------------------------------------------
# alignment by id (docs/defects.md#d-5)
# --------------------------------------------------------------------------------------------


def test_align_arms_by_id() -> None:
    a = pd.DataFrame({"r0": [1.0, 0.0, np.nan], "r1": [np.nan] * 3}, index=["b", "a", "z"])
    b = pd.DataFrame({"r0": [0.0, 1.0]}, index=["c", "a"])
    out = align_arms({"a": a, "b": b})
    assert list(out["a"].index) == ["a", "b", "c"]  # union, sorted; "z" is all-NaN everywhere
    assert list(out["b"].index) == ["a", "b", "c"]
    assert list(out["a"].columns) == ["r0"]  # the all-NaN column is dropped
    assert out["a"].loc["a", "r0"] == 0.0 and out["a"].loc["b", "r0"] == 1.0
    assert np.isnan(out["a"].loc["c", "r0"])
    assert out["b"].loc["a", "r0"] == 1.0 and out["b"].loc["c", "r0"] == 0.0


def test_align_arms_rejects_duplicates_and_arrays() -> None:
    dup = pd.DataFrame({"r0": [1.0, 0.0]}, index=["x", "x"])
    ok = pd.DataFrame({"r0": [1.0]}, index=["x"])
    with pytest.raises(ValueError, match="duplicate"):
        align_arms({"dup": dup, "ok": ok})
    with pytest.raises(TypeError):
        align_arms({"arr": np.ones((2, 2)), "ok": ok})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="no observation"):
        align_arms({"empty": pd.DataFrame({"r0": [np.nan]}, index=["y"]), "ok": ok})


@pytest.mark.parametrize("statistic", ["ratio_of_means", "elementwise"])
def test_sgr_invariant_to_row_order(statistic: str) -> None:
    gen = np.random.default_rng(21)
    n = 300
    unsup = _random_arm(n, 0.3, 1, gen, nan_frac=0.0)
    easy = _random_arm(n, 0.6, 5, gen)
    hard = _random_arm(n, 0.7, 5, gen)
    # Arms cover slightly different items, as when each arm's training items are excluded.
    easy = easy.drop(index=easy.index[:10])
    hard = hard.drop(index=hard.index[-10:])
    ref = sgr_bootstrap(unsup, easy, hard, 2000, rng("test", "order"), statistic)

    shuffled = [f.sample(frac=1.0, random_state=k) for k, f in enumerate((unsup, easy, hard))]
    assert not shuffled[1].index.equals(easy.index)
    got = sgr_bootstrap(*shuffled, 2000, rng("test", "order"), statistic)
    assert got == ref  # same seed, same aligned data: identical result

    # Row-order alignment (docs/defects.md#d-5) would pair different items and change the answer.
    by_position = [f.set_axis(_ids(len(f))) for f in shuffled]
    wrong = sgr_bootstrap(*by_position, 2000, rng("test", "order"), statistic)
    assert wrong.mean != pytest.approx(ref.mean, abs=1e-9)


# --------------------------------------------------------------------------------------------
# differences
# --------------------------------------------------------------------------------------------


def test_diff_bootstrap_intersection() -> None:
    gen = np.random.default_rng(4)
    n = 2000
    easy = _pattern_arm(n, 0.6, 5, gen)
    hard = _pattern_arm(n, 0.3, 5, gen)
    easy = easy.iloc[: n - 100]  # 100 items only in Hard
    hard = hard.iloc[50:]  # 50 items only in Easy
    res = diff_bootstrap(easy, hard, 3000, rng("test", "diff"))
    assert res.n_items == n - 150
    assert res.estimate == pytest.approx(0.3, abs=0.01)
    assert res.ci_low < 0.3 < res.ci_high
    assert res.p_value == 0.0

    union = diff_bootstrap(easy, hard, 500, rng("test", "diff"), paired_intersection=False)
    assert union.n_items == n

    same = diff_bootstrap(easy, easy, 500, rng("test", "diff-null"), statistic="elementwise")
    assert same.estimate == 0.0
    assert same.ci_low <= 0.0 <= same.ci_high


def test_diff_bootstrap_no_shared_items() -> None:
    a = pd.DataFrame({"r0": [1.0]}, index=["x"])
    b = pd.DataFrame({"r0": [0.0]}, index=["y"])
    with pytest.raises(ValueError, match="share no"):
        diff_bootstrap(a, b, 10, rng("test", "none"))


# --------------------------------------------------------------------------------------------
# p-values, intervals, formatting
# --------------------------------------------------------------------------------------------


def test_p_value_formula_by_hand() -> None:
    draws = np.array([-1.0, 0.5, 1.0, 2.0, 3.0, 4.5])
    # mean 5/3; centred: -8/3, -7/6, -2/3, 1/3, 4/3, 17/6; one below -5/3, one above 5/3
    assert bootstrap_p_value(draws) == pytest.approx(2 / 6)
    assert bootstrap_p_value(np.array([-2.0, -1.0, 1.0, 2.0])) == pytest.approx(1.0)
    assert bootstrap_p_value(np.array([0.9, 1.0, 1.1])) == 0.0
    assert math.isnan(bootstrap_p_value(np.array([])))


def test_percentile_interval_matches_numpy() -> None:
    x = np.arange(101.0)
    assert percentile_interval(x) == pytest.approx((2.5, 97.5))
    assert percentile_interval(x, level=0.9) == pytest.approx((5.0, 95.0))


def test_t_interval_matches_scipy() -> None:
    gen = np.random.default_rng(0)
    values = gen.random(37)
    ti = t_interval(values)
    lo, hi = sps.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=sps.sem(values))
    assert (ti.low, ti.high) == pytest.approx((lo, hi))
    assert ti.mean == pytest.approx(values.mean())
    assert ti.half_width == pytest.approx((hi - lo) / 2)
    assert ti.n == 37
    # NaNs (items never tested) are ignored
    with_nan = np.append(values, [np.nan, np.nan])
    assert t_interval(with_nan) == ti
    lo90, hi90 = sps.t.interval(0.9, len(values) - 1, loc=values.mean(), scale=sps.sem(values))
    ti90 = t_interval(values, 0.9)
    assert (ti90.low, ti90.high) == pytest.approx((lo90, hi90))
    single = t_interval([0.5])
    assert single.mean == 0.5 and math.isnan(single.half_width) and single.n == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((0.9612, 0.1, 0.0), "0.96 ± 0.10 (p < 1e-4)"),
        ((0.9612, 0.1, 0.00004), "0.96 ± 0.10 (p < 1e-4)"),
        ((0.98, 0.36, 0.00334), "0.98 ± 0.36 (p = 0.0033)"),
        ((0.72, 0.93, 0.0788), "0.72 ± 0.93 (p = 0.0788)"),
        ((1.0, 0.27, 0.0001), "1.00 ± 0.27 (p = 0.0001)"),
        ((0.5, 0.05, None), "0.50 ± 0.05"),
        ((float("nan"), float("nan"), float("nan")), "NA ± NA (p = NA)"),
    ],
)
def test_format_estimate(args: tuple, expected: str) -> None:
    assert format_estimate(*args) == expected


def test_result_as_dict_and_scale() -> None:
    x = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, np.nan]])
    res = grid_bootstrap(x, 200, rng("test", "dict"), keep_samples=True)
    d = res.as_dict()
    assert "samples" not in d
    assert set(d) >= {"mean", "ci_low", "ci_high", "half_width", "n_items", "draws", "n_nonfinite"}
    assert res.format(digits=1, scale=100).startswith(f"{res.mean * 100:.1f} ± ")


def test_a_statistic_of_exactly_zero_has_p_one():
    """Two arms with the same predictions: every draw is 0, and p must not read as 0."""
    from e2h.stats import bootstrap_p_value

    assert bootstrap_p_value(np.zeros(1000)) == 1.0
    assert bootstrap_p_value(np.array([0.1, -0.1, 0.0])) == 1.0  # mean exactly 0
