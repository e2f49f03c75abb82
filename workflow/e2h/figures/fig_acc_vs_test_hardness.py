"""``fig-acc-vs-test-hardness``: accuracy against the test item's hardness value (RQ1).

Cells: train = All, every resample. Per item, acc_mean = mean over the resamples in which it was
tested, joined by id with the measure's value; bars per value with 95 % t-intervals
(docs/statistics.md#grid-bootstrap). Each panel also states the accuracy on the measure's easy
and hard test levels with their intervals (rows with ``scope`` "level" in the CSV). Steps are
capped at 8; GSM8k shows lines − 1 with 7+ pooled.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.plotting import chance_line


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


def build(panels: list[tuple[dict, pd.DataFrame, pd.DataFrame]]) -> pd.DataFrame:
    """panels: (panel spec {model, dataset, measure, title}, predictions of the train = All
    cell, hardness table)."""
    rows = []
    for panel, pred, table in panels:
        dataset, measure = panel["dataset"], panel["measure"]
        per_item = pred.groupby("id")["correct"].mean().rename("acc_mean")
        joined = table.set_index("id")[[measure]].join(per_item, how="inner").dropna()
        joined["x"] = display_values(dataset, measure, joined[measure])
        order = sorted(joined["x"].unique(), key=_sort_key)
        groups = [("value", x, joined["x"] == x) for x in order]
        # the easy and hard test levels of the measure (its cutoffs), shown in the panel
        level = table.set_index("id")[f"{measure}_level"].reindex(joined.index)
        groups += [("level", lv, level == lv) for lv in ("easy", "hard")]
        for scope, x, selected in groups:
            values = joined.loc[selected, "acc_mean"].to_numpy() * 100
            if not len(values):
                continue
            ti = stats.t_interval(values)
            rows.append(
                {
                    "panel": panel["title"],
                    "dataset": dataset,
                    "measure": measure,
                    "scope": scope,
                    "value": x,
                    "accuracy": ti.mean,
                    "ci_low": ti.low,
                    "ci_high": ti.high,
                    "n_items": ti.n,
                    "model": panel["model"],
                }
            )
    return pd.DataFrame(rows)


def _level_note(d: pd.DataFrame) -> str:
    """ "easy 52 [45, 59] vs hard 38 [31, 45] %": the test levels' accuracies and intervals."""
    parts = []
    for _, r in d.iterrows():
        text = f"{r['value']} {r['accuracy']:.0f} %"
        if r["n_items"] > 1:  # bounds clipped to [0, 100] as drawn; the CSV keeps them raw
            text += f" [{max(r['ci_low'], 0):.0f}, {min(r['ci_high'], 100):.0f}]"
        parts.append(f"{text} (n={int(r['n_items'])})")
    return " vs ".join(parts)


def _sort_key(x: str) -> tuple[int, float | str]:
    order = {"High School": 0, "College": 1}
    if x in order:
        return (0, order[x])
    try:
        return (0, float(x.rstrip("+")))
    except ValueError:
        return (1, x)


def draw(data: pd.DataFrame, title: str, ncols: int = 2) -> plt.Figure:
    levels = data[data["scope"] == "level"]
    data = data[data["scope"] == "value"]
    panels = list(dict.fromkeys(data["panel"]))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.4 * ncols, 3.2 * nrows), squeeze=False, layout="constrained"
    )
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = data[data["panel"] == panel]
        x = np.arange(len(d))
        # t-intervals can leave [0, 100]; draw them clipped (the CSV keeps the raw bounds)
        low, high = d["ci_low"].clip(0, 100), d["ci_high"].clip(0, 100)
        err = np.vstack([d["accuracy"] - low, high - d["accuracy"]])
        ax.bar(x, d["accuracy"], color="#4C72B0")
        ax.errorbar(
            x, d["accuracy"], yerr=np.nan_to_num(err), fmt="none", ecolor="black", capsize=3
        )
        top = np.nanmax(np.r_[high.to_numpy(), d["accuracy"].to_numpy(), 0.0])
        ax.set_ylim(0, min(105, max(10, math.ceil((top + 5) / 5) * 5)))
        for xi, acc in zip(x, d["accuracy"], strict=True):
            if acc == 0:  # a 0 % bar has no height: say so rather than leave a gap
                ax.text(xi, 0.5, "0 %", ha="center", va="bottom", fontsize=7)
        chance_line(ax, d["dataset"].iloc[0])
        # the items behind each bar under its value: a bar over one item is not a finding
        ticks = [f"{v}\nn={int(n)}" for v, n in zip(d["value"], d["n_items"], strict=True)]
        ax.set_xticks(x, ticks, fontsize=7)
        note = _level_note(levels[levels["panel"] == panel])
        ax.set_title(panel, fontsize=10, loc="center", pad=14 if note else 6)
        if note:  # under the title, above the bars: never on top of a bar
            ax.text(0.5, 1.01, note, transform=ax.transAxes, fontsize=7, ha="center", va="bottom")
        ax.set_ylabel("Accuracy (%)")
        ax.set_xlabel("Test Data Hardness")
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.suptitle(title)
    return fig
