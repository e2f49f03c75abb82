"""``fig-acc-vs-test-hardness`` and ``fig-acc-vs-test-hardness-extra``: accuracy against the test
item's hardness value (RQ1).

Cells: train = All, every resample. Per item, acc_mean = mean over the resamples in which it was
tested, joined by id with the measure's value; items without a value (model-based "MDL" measures
cover a subset of items) are left out. Each panel also states the accuracy on the measure's easy
and hard test levels with their 95 % t-intervals (rows with ``scope`` "level" in the CSV).

Two styles:

* **Bar style** (``build``/``draw``, ``fig-acc-vs-test-hardness``): one bar per value with a
  95 % t-interval (docs/statistics.md#grid-bootstrap). Steps are capped at 8; GSM8k shows
  lines − 1 with 7+ pooled.
* **Binned style** (``build_binned``/``draw_binned``, ``fig-acc-vs-test-hardness-extra``): a
  measure with at least ``min_distinct`` distinct values (word and character counts, MDL scores)
  has too many values for a bar each, so its items are cut into ``n_bins`` equal-width bins
  between the measure's min and max (the max in the last bin) and the bins' mean accuracies are
  drawn as a line on the measure's own scale, with t-intervals. A bin over fewer than two items or
  whose standard error is at least ``max_se`` says nothing; it stays in the CSV with its reason in
  ``dropped``, is left out of the plot, and the panel says how many were dropped. Measures with
  fewer distinct values keep the bar style (``scope`` "value", the same rows as ``build``).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.plotting import chance_line

Panel = tuple[dict, pd.DataFrame, pd.DataFrame]

#: columns of the binned style's CSV, in order
BINNED_COLUMNS = [
    "panel",
    "dataset",
    "measure",
    "model",
    "scope",
    "value",
    "x",
    "bin_low",
    "bin_high",
    "accuracy",
    "ci_low",
    "ci_high",
    "se",
    "n_items",
    "dropped",
]


def display_values(dataset: str, measure: str, values: pd.Series) -> pd.Series:
    """The x value each item is plotted at, as the registry's ``axis`` and ``labels`` say
    (StrategyQA steps capped at 8; GSM8k lines − 1 with 7 and more pooled as "7+")."""
    info = registry.dataset(dataset).measures[measure]
    if info.labels:
        return values.map(info.labels)
    axis = info.axis
    values = values + axis.get("shift", 0)
    if "top" in axis:
        top = axis["top"]
        values = values.where(values < top, top).astype(int)
        return values.map(lambda v: f"{top}+" if v == top else str(v))
    if "cap" in axis:
        values = values.clip(upper=axis["cap"])
    return values.astype(int).astype(str)


def _joined(pred: pd.DataFrame, table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Items (index id) with the measure's value and acc_mean, the mean of ``correct`` over the
    resamples that tested the item; items without a value (or never tested) are dropped."""
    per_item = pred.groupby("id")["correct"].mean().rename("acc_mean")
    return table.set_index("id")[[measure]].join(per_item, how="inner").dropna()


def _value_groups(
    dataset: str, measure: str, joined: pd.DataFrame
) -> list[tuple[str, str, pd.Series]]:
    """(scope "value", displayed value, item mask) per displayed value, in axis order."""
    shown = display_values(dataset, measure, joined[measure])
    order = sorted(shown.unique(), key=_sort_key)
    return [("value", x, shown == x) for x in order]


def _level_groups(
    measure: str, table: pd.DataFrame, joined: pd.DataFrame
) -> list[tuple[str, str, pd.Series]]:
    """(scope "level", level, item mask) for the measure's easy and hard test levels (its
    cutoffs), which every panel states next to the per-value accuracies."""
    level = table.set_index("id")[f"{measure}_level"].reindex(joined.index)
    return [("level", lv, level == lv) for lv in ("easy", "hard")]


def _summary(panel: dict, scope: str, value: str, acc_mean: pd.Series) -> dict | None:
    """``build``'s row: the t-interval (percent) on the selected items' acc_mean; None if none."""
    values = acc_mean.to_numpy() * 100
    if not len(values):
        return None
    ti = stats.t_interval(values)
    return {
        "panel": panel["title"],
        "dataset": panel["dataset"],
        "measure": panel["measure"],
        "scope": scope,
        "value": value,
        "accuracy": ti.mean,
        "ci_low": ti.low,
        "ci_high": ti.high,
        "n_items": ti.n,
        "model": panel["model"],
    }


def _rows(
    panel: dict, joined: pd.DataFrame, groups: list[tuple[str, str, pd.Series]]
) -> list[dict]:
    rows = (_summary(panel, scope, x, joined.loc[sel, "acc_mean"]) for scope, x, sel in groups)
    return [r for r in rows if r is not None]


def build(panels: list[Panel]) -> pd.DataFrame:
    """panels: (panel spec {model, dataset, measure, title}, predictions of the train = All
    cell, hardness table)."""
    rows = []
    for panel, pred, table in panels:
        dataset, measure = panel["dataset"], panel["measure"]
        joined = _joined(pred, table, measure)
        groups = _value_groups(dataset, measure, joined) + _level_groups(measure, table, joined)
        rows += _rows(panel, joined, groups)
    return pd.DataFrame(rows)


def _se(acc_mean: np.ndarray) -> float:
    """Standard error of the mean of acc_mean (0–1 units); NaN below two items."""
    n = len(acc_mean)
    return float(np.std(acc_mean, ddof=1) / math.sqrt(n)) if n >= 2 else math.nan


def _edge_text(edges: np.ndarray) -> list[str]:
    """Edges with one decimal, or as many more as it takes to tell them apart and to show each
    within 1 % of a bin's width (MDL edges such as 0.25 must not read 0.2)."""
    width = float(np.min(np.diff(edges))) if len(edges) > 1 else 1.0
    for digits in range(1, 7):
        text = [f"{e:.{digits}f}" for e in edges]
        close = all(abs(float(t) - e) <= 0.01 * width for t, e in zip(text, edges, strict=True))
        if len(set(text)) == len(text) and close:
            return text
    return [f"{e:.6g}" for e in edges]


def _bin_rows(panel: dict, joined: pd.DataFrame, n_bins: int, max_se: float) -> list[dict]:
    """One row per equal-width bin between the measure's min and max, kept or dropped.

    Bins are right-closed as ``pd.cut`` makes them, the first also closed on the left, so the
    min falls in the first bin and the max in the last; the labels say which side is closed.
    """
    values = joined[panel["measure"]].astype(float)
    edges = np.linspace(values.min(), values.max(), n_bins + 1)
    codes = pd.cut(values, bins=edges, labels=False, include_lowest=True, right=True)
    text = _edge_text(edges)
    rows = []
    for b in range(n_bins):
        acc = joined.loc[codes == b, "acc_mean"].to_numpy(dtype=float)
        ti = stats.t_interval(acc * 100)
        se = _se(acc)
        if ti.n < 2:
            dropped = "n < 2"
        elif se >= max_se:
            dropped = f"SE ≥ {max_se:g}"
        else:
            dropped = ""
        rows.append(
            {
                "panel": panel["title"],
                "dataset": panel["dataset"],
                "measure": panel["measure"],
                "model": panel["model"],
                "scope": "bin",
                "value": f"{'[' if b == 0 else '('}{text[b]}, {text[b + 1]}]",
                "x": float((edges[b] + edges[b + 1]) / 2),
                "bin_low": float(edges[b]),
                "bin_high": float(edges[b + 1]),
                "accuracy": ti.mean,
                "ci_low": ti.low,
                "ci_high": ti.high,
                "se": se,
                "n_items": ti.n,
                "dropped": dropped,
            }
        )
    return rows


def build_binned(
    panels: list[Panel], min_distinct: int = 9, n_bins: int = 4, max_se: float = 0.1
) -> pd.DataFrame:
    """The binned style's data (columns ``BINNED_COLUMNS``), one row per (panel, bin or value or
    level); panels as for ``build``.

    A measure with at least ``min_distinct`` distinct values over the joined items gets
    ``n_bins`` "bin" rows (``_bin_rows``); one with fewer gets ``build``'s "value" rows. Every
    panel ends with its easy and hard "level" rows. ``accuracy``, ``ci_low`` and ``ci_high`` are
    percent; ``se`` is the standard error of the mean of acc_mean in 0–1 units, the scale of
    ``max_se`` and of the ``dropped`` reason. ``x``, ``bin_low`` and ``bin_high`` are NaN except
    on bins; ``dropped`` is empty except on bins left out of the plot.
    """
    rows = []
    for panel, pred, table in panels:
        dataset, measure = panel["dataset"], panel["measure"]
        joined = _joined(pred, table, measure)
        # equal-width bins need two distinct values at least, whatever min_distinct says
        if joined[measure].nunique() >= max(min_distinct, 2):
            rows += _bin_rows(panel, joined, n_bins, max_se)
            groups = []
        else:
            groups = _value_groups(dataset, measure, joined)
        groups += _level_groups(measure, table, joined)
        for scope, x, sel in groups:
            row = _summary(panel, scope, x, joined.loc[sel, "acc_mean"])
            if row is not None:
                se = _se(joined.loc[sel, "acc_mean"].to_numpy(dtype=float))
                rows.append({**row, "se": se, "dropped": ""})
    return pd.DataFrame(rows, columns=BINNED_COLUMNS)


def _level_note(d: pd.DataFrame) -> str:
    """ "easy 52 [45, 59] vs hard 38 [31, 45] %": the test levels' accuracies and intervals;
    a level without test items says so ("hard: no test item"), so a panel whose sample
    missed a level is not read as one that compares both."""
    if d.empty:
        return ""
    parts = []
    rows = {r["value"]: r for _, r in d.iterrows()}
    for level in ("easy", "hard"):
        if level not in rows:
            parts.append(f"{level}: no test item")
            continue
        r = rows[level]
        text = f"{level} {r['accuracy']:.0f} %"
        if r["n_items"] > 1:  # bounds clipped to [0, 100] as drawn; the CSV keeps them raw
            text += f" [{max(r['ci_low'], 0):.0f}, {min(r['ci_high'], 100):.0f}]"
        parts.append(f"{text} (n={int(r['n_items'])})")
    return " vs ".join(parts)


def _dropped_note(d: pd.DataFrame) -> str:
    """ "1 bin dropped (SE ≥ 0.1)": what the line leaves out, so a gap is not read as data."""
    counts = Counter(r for r in d["dropped"].fillna("") if r)
    return "; ".join(f"{n} bin{'s' if n > 1 else ''} dropped ({r})" for r, n in counts.items())


def _sort_key(x: str) -> tuple[int, float | str]:
    order = {"High School": 0, "College": 1}
    if x in order:
        return (0, order[x])
    try:
        return (0, float(x.rstrip("+")))
    except ValueError:
        return (1, x)


def _y_top(values: np.ndarray) -> float:
    """Upper y-limit: a 5 % step above the highest value drawn, at least 10, at most 105."""
    top = np.nanmax(np.r_[values, 0.0])
    return min(105, max(10, math.ceil((top + 5) / 5) * 5))


def _draw_bars(ax: plt.Axes, d: pd.DataFrame) -> None:
    """One bar per value with its clipped t-interval, the items behind it under each tick."""
    x = np.arange(len(d))
    # t-intervals can leave [0, 100]; draw them clipped (the CSV keeps the raw bounds)
    low, high = d["ci_low"].clip(0, 100), d["ci_high"].clip(0, 100)
    err = np.vstack([d["accuracy"] - low, high - d["accuracy"]])
    ax.bar(x, d["accuracy"], color="#4C72B0")
    ax.errorbar(x, d["accuracy"], yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3)
    ax.set_ylim(0, _y_top(np.r_[high.to_numpy(), d["accuracy"].to_numpy()]))
    for xi, acc in zip(x, d["accuracy"], strict=True):
        if acc == 0:  # a 0 % bar has no height: say so rather than leave a gap
            ax.text(xi, 0.5, "0 %", ha="center", va="bottom", fontsize=7)
    chance_line(ax, d["dataset"].iloc[0])
    # the items behind each bar under its value: a bar over one item is not a finding
    ticks = [f"{v}\nn={int(n)}" for v, n in zip(d["value"], d["n_items"], strict=True)]
    ax.set_xticks(x, ticks, fontsize=7)


def _draw_line(ax: plt.Axes, d: pd.DataFrame) -> None:
    """The kept bins' accuracies through their midpoints on the measure's scale, with clipped
    t-intervals. A dropped bin breaks the line (NaN), so no segment bridges a bin without a
    finding. Bin edges are the ticks, each bin's item count (or that it was dropped) sits on a
    second tick row under its midpoint, clear of the data, and the y-limits hold every drawn
    interval and the chance line."""
    kept = d["dropped"] == ""
    acc = d["accuracy"].where(kept)
    low, high = d["ci_low"].where(kept).clip(0, 100), d["ci_high"].where(kept).clip(0, 100)
    err = np.vstack([acc - low, high - acc])
    ax.plot(d["x"], acc, "-o", color="#4C72B0", ms=4, gid="bins")
    ax.errorbar(d["x"], acc, yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3)
    chance = registry.dataset(d["dataset"].iloc[0]).chance or 0.0
    ax.set_ylim(0, _y_top(np.r_[high.to_numpy(), acc.to_numpy(), chance]))
    chance_line(ax, d["dataset"].iloc[0])
    edges = np.r_[d["bin_low"].to_numpy(), d["bin_high"].iloc[-1]]
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xticks(edges, _edge_text(edges), fontsize=7)
    counts = [
        f"n={int(n)}" + ("\n(dropped)" if r else "")
        for n, r in zip(d["n_items"], d["dropped"], strict=True)
    ]
    ax.set_xticks(d["x"], counts, minor=True, fontsize=7)
    ax.tick_params(axis="x", which="minor", length=0, pad=16)
    for label, r in zip(ax.get_xticklabels(minor=True), d["dropped"], strict=True):
        label.set_color("grey" if r else "black")
    if not kept.any():  # say so on the panel: an empty grid alone reads as a plotting fault
        ax.text(0.5, 0.5, _all_dropped_text(d), transform=ax.transAxes, ha="center",
                va="center", fontsize=8, color="dimgrey")  # fmt: skip


def _all_dropped_text(d: pd.DataFrame) -> str:
    """Why a panel has no line: its bins' sizes and, for the standard-error rule, how many
    items a bin would need (p(1 - p) / n < SE² at the worst case p = 0.5)."""
    n = d["n_items"]
    text = f"every bin dropped\n{int(n.min())}–{int(n.max())} items per bin"
    thresholds = [float(m) for m in re.findall(r"SE ≥ ([0-9.]+)", " ".join(d["dropped"]))]
    if thresholds and min(thresholds) > 0:
        se = min(thresholds)
        text += f";\nSE < {se:g} needs about {math.floor(round(0.25 / se**2, 9)) + 1} per bin"
    return text


def _title(ax: plt.Axes, panel: str, notes: list[str]) -> None:
    """The panel title with its notes (level accuracies, dropped bins) between title and
    axes, never on top of the data."""
    notes = [n for n in notes if n]
    ax.set_title(panel, fontsize=10, loc="center", pad=6 + 8 * len(notes))
    if notes:
        ax.text(
            0.5,
            1.01,
            "\n".join(notes),
            transform=ax.transAxes,
            fontsize=7,
            ha="center",
            va="bottom",
        )


def _grid(n: int, ncols: int) -> tuple[plt.Figure, np.ndarray]:
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.4 * ncols, 3.2 * nrows), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes


def draw(data: pd.DataFrame, title: str, ncols: int = 2) -> plt.Figure:
    levels = data[data["scope"] == "level"]
    data = data[data["scope"] == "value"]
    panels = list(dict.fromkeys(data["panel"]))
    fig, axes = _grid(len(panels), ncols)
    for ax, panel in zip(axes.flat, panels, strict=False):
        _draw_bars(ax, data[data["panel"] == panel])
        _title(ax, panel, [_level_note(levels[levels["panel"] == panel])])
        ax.set_ylabel("Accuracy (%)")
        ax.set_xlabel("Test Data Hardness")
    fig.suptitle(title)
    return fig


def draw_binned(data: pd.DataFrame, title: str, ncols: int = 3) -> plt.Figure:
    """``build_binned``'s data: bars for "value" panels, a line over the kept bins for "bin"
    panels; the x label is the measure's display name, since each panel has its own scale."""
    levels = data[data["scope"] == "level"]
    shown = data[data["scope"] != "level"]
    panels = list(dict.fromkeys(shown["panel"]))
    fig, axes = _grid(len(panels), ncols)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = shown[shown["panel"] == panel]
        binned = (d["scope"] == "bin").all()
        (_draw_line if binned else _draw_bars)(ax, d)
        notes = [_level_note(levels[levels["panel"] == panel])]
        if binned:
            notes.append(_dropped_note(d))
        _title(ax, panel, notes)
        ax.set_ylabel("Accuracy (%)")
        ax.set_xlabel(registry.measure_label(d["measure"].iloc[0]))
    fig.suptitle(title)
    return fig
