"""``fig-sgr-by-method``, ``fig-sgr-by-method-extra`` and ``tab-sgr-by-method``.

SGR = (Easy − Unsup) / (Hard − Unsup) on the hard test level, per (dataset, measure) panel and
training method (ICL*, Linear Probe, LoRA). The Unsupervised arm of every method is the zero-shot
cell (docs/figures.md), restricted like in ``fig-e2h`` to the items the method's supervised arms
test. The figure plots the plug-in SGR from boot-averaged accuracies (docs/statistics.md#sgr); the
table adds the two-way bootstrap mean, 95 % percentile CI and p (docs/statistics.md#grid-bootstrap).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.arms import read_predictions
from e2h.panels import Panel
from e2h.plotting import METHOD_COLOURS, METHOD_ORDER, ratio_note
from e2h.seeds import rng

OTHER_COLOUR = "#8c8c8c"
ARMS = ("unsup", "easy", "hard")
LEVEL = "hard"
TITLE = "Supervision Gap Recovered By Training Method"
EXTRA_TITLE = f"{TITLE} (Secondary Measures)"


@dataclass
class MethodPanel:
    """One (model, dataset, measure) panel: a ``Panel`` (arms unsup/easy/hard) per method."""

    dataset: str
    measure: str
    methods: dict[str, Panel]
    model: str = ""
    title: str = ""

    def ordered_methods(self) -> list[str]:
        known = [m for m in METHOD_ORDER if m in self.methods]
        return known + [m for m in self.methods if m not in METHOD_ORDER]


def load_method_panels(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[MethodPanel]:
    """specs: [{dataset, measure, methods: {label: {unsup, easy, hard: path}}}].

    Each predictions file is read once (the zero-shot cell is shared by every method and
    measure of a dataset); a missing file fails and names itself.
    """
    preds: dict[str, pd.DataFrame] = {}
    levels: dict[str, pd.DataFrame] = {}
    panels = []
    for spec in specs:
        dataset, measure = spec["dataset"], spec["measure"]
        if not spec["methods"]:
            raise ValueError(f"fig-sgr-by-method: panel {dataset}/{measure} has no method")
        if dataset not in levels:
            table = pd.read_parquet(tables[dataset])
            levels[dataset] = table.set_index(table["id"].astype(str))
        level_col = f"{measure}_level"
        if level_col not in levels[dataset].columns:
            raise KeyError(f"{tables[dataset]} has no column {level_col!r}")
        item_levels = levels[dataset][level_col]
        methods = {}
        for label, arms in spec["methods"].items():
            missing = [a for a in ARMS if a not in arms]
            if missing:
                raise KeyError(f"{dataset}/{measure}/{label}: no path for arm(s) {missing}")
            loaded = {}
            for arm in ARMS:
                path = str(arms[arm])
                if path not in preds:
                    preds[path] = read_predictions([path])
                loaded[arm] = preds[path]
            methods[label] = Panel(dataset, measure, item_levels, loaded, model=spec["model"])
        panels.append(MethodPanel(dataset, measure, methods, spec["model"], spec["title"]))
    return panels


def _field(pred: pd.DataFrame, column: str) -> str:
    if column not in pred.columns:
        return ""
    return "+".join(sorted(map(str, pred[column].dropna().unique())))


def build(
    panels: list[MethodPanel], draws: int, base_seed: int, purpose: str = "fig-sgr-by-method"
) -> pd.DataFrame:
    """One row per (panel, method): hard-test accuracies (fractions), plug-in SGR, bootstrap.

    ``purpose`` keys the bootstrap seeds (with dataset, measure, level and method), so the
    figure and the table draw independent, reproducible streams.
    """
    rows = []
    for mp in panels:
        for method in mp.ordered_methods():
            panel = mp.methods[method]
            mats = panel.matrices(LEVEL)
            gen = rng(
                "bootstrap", purpose, mp.dataset, mp.measure, LEVEL, method, base_seed=base_seed
            )
            res = stats.sgr_bootstrap(mats["unsup"], mats["easy"], mats["hard"], draws, gen)
            acc = {arm: stats.boot_averaged_accuracy(mats[arm]) for arm in ARMS}
            gap = acc["hard"] - acc["unsup"]
            # Hard no better than Unsup: there is no gap to recover, so no SGR is drawn
            positive = bool(np.isfinite(gap) and gap >= stats.ZERO_GAP)
            rows.append(
                {
                    "panel": mp.title,
                    "dataset": mp.dataset,
                    "measure": mp.measure,
                    "method": method,
                    "method_code": _field(panel.arms["easy"], "method"),
                    "model": _field(panel.arms["easy"], "model"),
                    "test_level": LEVEL,
                    "unsup": acc["unsup"],
                    "easy": acc["easy"],
                    "hard": acc["hard"],
                    **_arm_intervals(res),
                    "sgr": res.estimate if positive else np.nan,
                    "supervision_gap": gap,
                    "gap_positive": positive,
                    "gap_ci_low": res.gap_ci_low,
                    "gap_ci_high": res.gap_ci_high,
                    "sgr_bootstrap_mean": res.mean,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "half_width": res.half_width,
                    "p_value": res.p_value,
                    "draws": res.draws,
                    "draws_nonfinite": res.n_nonfinite,
                    "n_items": res.n_items,
                }
            )
    return pd.DataFrame(rows)


def _arm_intervals(res: stats.BootstrapResult) -> dict[str, float]:
    """Each arm's accuracy interval (fractions) over the SGR's own draws."""
    out = {}
    for arm, (low, high) in (res.arm_ci or {}).items():
        out[f"{arm}_ci_low"], out[f"{arm}_ci_high"] = low, high
    return out


def table(data: pd.DataFrame) -> pd.DataFrame:
    """``tab-sgr-by-method``: display columns first, then the numbers behind them."""
    return pd.DataFrame(
        {
            "Dataname": data["dataset"].map(lambda d: registry.dataset(d).short_name),
            "Hardness Measure": data["measure"].map(registry.measure_label),
            "Method": data["method"],
            "Unsupervised": data["unsup"],
            "Easy": data["easy"],
            "Hard": data["hard"],
            "SGR": data["sgr"],
            "SGR Estimate": [
                stats.format_estimate(m, h, p) + ("" if ok else " [no gap: Hard ≤ Unsup]")
                for m, h, p, ok in zip(
                    data["sgr_bootstrap_mean"],
                    data["half_width"],
                    data["p_value"],
                    data["gap_positive"],
                    strict=True,
                )
            ],
            "n": data["n_items"],
            "model": data["model"],
            "dataset": data["dataset"],
            "measure": data["measure"],
            "method_code": data["method_code"],
            "test_level": data["test_level"],
            "supervision_gap": data["supervision_gap"],
            "gap_positive": data["gap_positive"],
            "sgr_plugin": data["sgr"],
            "sgr_bootstrap_mean": data["sgr_bootstrap_mean"],
            "ci_low": data["ci_low"],
            "ci_high": data["ci_high"],
            "half_width": data["half_width"],
            "p_value": data["p_value"],
            "draws": data["draws"],
            "draws_nonfinite": data["draws_nonfinite"],
        }
    )


def y_limits(data: pd.DataFrame, error_bars: bool = False) -> tuple[float, float]:
    """Shared limits holding every bar, label and (drawn) whisker, and the 0 and 1 lines."""
    cols = ["sgr", "ci_low", "ci_high"] if error_bars else ["sgr"]
    drawn = data[np.isfinite(data["sgr"].to_numpy(dtype=float))]  # whiskers only on bars
    values = drawn[cols].to_numpy(dtype=float).ravel()
    values = values[np.isfinite(values)]
    low = min(0.0, float(values.min()) if values.size else 0.0)
    high = max(1.0, float(values.max()) if values.size else 1.0)
    # two-line labels ("1.67" over "gap n.s.") need more than twice the room of one line
    # (panels with two-line titles are shorter: 0.24 let a label touch the frame)
    pad = (0.32 if any(_gap_unclear(data)) else 0.12) * (high - low)
    return (low - pad if low < 0 else 0.0), high + pad


def sgr_bars(ax, frame: pd.DataFrame, ylim: tuple[float, float], error_bars: bool = False) -> None:
    """Bars of ``frame['sgr']`` by method with 2-decimal labels; NaN gets "NA" and no bar."""
    x = np.arange(len(frame))
    values = frame["sgr"].to_numpy(dtype=float)
    colours = [METHOD_COLOURS.get(m, OTHER_COLOUR) for m in frame["method"]]
    unclear = _gap_unclear(frame)
    for xi, value, colour, vague in zip(x, values, colours, unclear, strict=True):
        if math.isfinite(value):  # a gap whose interval contains 0: hatched and faint
            ax.bar(xi, value, color=colour, alpha=0.35 if vague else 1.0,
                   hatch="//" if vague else None, edgecolor=colour)  # fmt: skip
    if error_bars:
        low = frame["ci_low"].to_numpy(dtype=float)
        high = frame["ci_high"].to_numpy(dtype=float)
        # a whisker belongs to a drawn SGR: with no gap (or NA) there is no ratio to bound
        ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(values)
        # whiskers span the percentile CI, which need not be centred on the plug-in value
        ax.errorbar(
            x[ok],
            (low[ok] + high[ok]) / 2,
            yerr=(high[ok] - low[ok]) / 2,
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    step = 0.02 * (ylim[1] - ylim[0])
    top, bottom = values.copy(), values.copy()
    if error_bars:  # labels go past the whisker ends, not onto them
        top = np.fmax(top, frame["ci_high"].to_numpy(dtype=float))
        bottom = np.fmin(bottom, frame["ci_low"].to_numpy(dtype=float))
    positive = frame["gap_positive"] if "gap_positive" in frame else [True] * len(frame)
    for xi, value, hi, lo, gap, vague in zip(
        x, values, top, bottom, positive, unclear, strict=True
    ):
        if not gap:  # Hard ≤ Unsup: nothing to recover (docs/statistics.md#sgr-not-positive)
            ratio_note(ax, xi, step, "no gap", fontsize=8)
        elif not math.isfinite(value):
            ratio_note(ax, xi, step, "NA", fontsize=8)
        elif value >= 0:
            ax.text(xi, hi + step, _label(value, vague), ha="center", va="bottom", fontsize=8)
        else:
            ax.text(xi, lo - step, _label(value, vague), ha="center", va="top", fontsize=8)
    ax.set_xticks(x, frame["method"], fontsize=8)
    ax.set_xlim(-0.6, max(len(frame), 1) - 0.4)
    ax.set_ylim(*ylim)


def _gap_unclear(frame: pd.DataFrame) -> list[bool]:
    """Rows whose supervision gap interval contains 0 (docs/statistics.md#signal)."""
    if "gap_ci_low" not in frame:
        return [False] * len(frame)
    low = frame["gap_ci_low"].to_numpy(dtype=float)
    return list(~(low > 0))


def _label(value: float, vague: bool) -> str:
    return f"{value:.2f}" + ("\ngap n.s." if vague else "")


#: Under every SGR figure: what a hatched bar means.
GAP_NOTE = "hatched: the gap Hard − Unsup is not significant (its 95 % interval contains 0)"


def draw(
    data: pd.DataFrame,
    title: str,
    error_bars: bool = False,
    ncols: int = 3,
    left_out: dict[str, str] | None = None,
) -> plt.Figure:
    """One facet per panel, x = method, y = plug-in SGR on shared, data-driven y-limits.
    ``left_out``: {method: why} of configured methods some facets do not show, said under
    the plot."""
    panels = list(dict.fromkeys(data["panel"]))
    if not panels:
        raise ValueError(f"{title}: no panels to draw")
    ncols = min(ncols, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(max(3.6 * ncols, 7.5), 3.0 * nrows),
        squeeze=False,
        layout="constrained",
    )
    ylim = y_limits(data, error_bars)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = data[data["panel"] == panel]
        sgr_bars(ax, d, ylim, error_bars)
        ax.axhline(0.0, lw=0.8, color="black")
        ax.axhline(1.0, ls="--", lw=0.8, color="black")
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel("SGR")
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.suptitle(title)
    notes = [GAP_NOTE] if any(_gap_unclear(data)) else []
    if left_out:
        notes.append("not shown: " + "; ".join(f"{m}: {why}" for m, why in left_out.items()))
    if notes:
        fig.supxlabel("\n".join(notes), fontsize=8)
    return fig
