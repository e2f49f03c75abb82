"""``fig-scaling`` and ``fig-strategyqa-by-model``: one panel, one facet per ladder model.

``fig-scaling`` is MMLU HS vs. College with ICL (k as in the grid); ``fig-strategyqa-by-model``
is StrategyQA reasoning steps with ICL-CoT and k = 4. Bars Unsupervised / Easy / Hard on the
hard test level, as in ``fig-e2h-main``; every facet's strip gives the model's SGR with its 95 %
two-way bootstrap CI, or says that there is no gap to recover (Hard ≤ Unsup). Facets follow the
measured strength of ``tab-model-ladder`` (weakest first), not parameter counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h import stats
from e2h.figures import fig_e2h
from e2h.panels import Panel
from e2h.plotting import chance_line, labelled_bars, panel_grid
from e2h.seeds import rng

LEVEL = "hard"
COLOURS = {"Unsupervised": "#8c8c8c", "Easy": "#55a868", "Hard": "#c44e52"}


def build(
    panels: list[Panel], order: list[str], draws: int, base_seed: int, purpose: str
) -> pd.DataFrame:
    """Rows per (model, arm): accuracy ×100 with CI (``fig_e2h.build``), plus the model's SGR,
    supervision gap and their CIs, in ladder order (``order``: weakest first)."""
    by_model = {p.model: p for p in panels}
    missing = [m for m in by_model if m not in order]
    if missing:
        raise KeyError(f"{purpose}: model(s) {missing} are not in tab-model-ladder ({order})")
    ordered = [by_model[m] for m in order if m in by_model]
    data = fig_e2h.build(ordered, LEVEL, draws, base_seed)
    data["invalid_rate"] = [
        _invalid_rate(by_model[m], arm) for m, arm in zip(data["model"], data["arm"], strict=True)
    ]
    sgr_rows = []
    for panel in ordered:
        mats = panel.matrices(LEVEL)
        # keyed by the panel, not the model: the models are compared on common random numbers
        gen = rng("bootstrap", purpose, panel.dataset, panel.measure, LEVEL, base_seed=base_seed)
        res = stats.sgr_bootstrap(mats["unsup"], mats["easy"], mats["hard"], draws, gen)
        gap = stats.boot_averaged_accuracy(mats["hard"]) - stats.boot_averaged_accuracy(
            mats["unsup"]
        )
        positive = bool(np.isfinite(gap) and gap >= stats.ZERO_GAP)
        sgr_rows.append(
            {
                "model": panel.model,
                "ladder_rank": order.index(panel.model) + 1,
                "sgr": res.estimate if positive else np.nan,
                "sgr_ci_low": res.ci_low if positive else np.nan,
                "sgr_ci_high": res.ci_high if positive else np.nan,
                "sgr_p_value": res.p_value,
                "supervision_gap": 100 * gap,
                "gap_ci_low": 100 * res.gap_ci_low,
                "gap_ci_high": 100 * res.gap_ci_high,
                "gap_positive": positive,
            }
        )
    return data.merge(pd.DataFrame(sgr_rows), on="model", how="left")


def _invalid_rate(panel: Panel, arm: str) -> float:
    """Fraction of the arm's hard-test generations with no parsable answer (counted wrong);
    NaN for scored (multiple-choice) arms."""
    pred = panel.arms[arm]
    if "invalid" not in pred.columns:
        return float("nan")
    hard = panel.levels[panel.levels == LEVEL].index
    rows = pred[pred["id"].astype(str).isin(set(map(str, hard)))]
    return float(rows["invalid"].mean()) if len(rows) else float("nan")


def strip(rows: pd.DataFrame) -> str:
    """A facet's title: the model, then its SGR [CI], or why there is none, and the share of
    unparsable generations where it is large enough to explain an accuracy below chance."""
    row = rows.iloc[0]
    gap = f"gap {row['supervision_gap']:+.1f} [{row['gap_ci_low']:+.1f}, {row['gap_ci_high']:+.1f}]"
    if not row["gap_positive"]:
        text = f"{row['model']}\nno gap to recover (Hard ≤ Unsup); {gap}"
    else:
        text = (
            f"{row['model']}\nSGR {row['sgr']:.2f} [{row['sgr_ci_low']:.2f}, "
            f"{row['sgr_ci_high']:.2f}]; {gap}"
        )
    invalid = rows.set_index("label")["invalid_rate"].dropna()
    if (invalid > 0.1).any():
        text += "\nno answer parsed: " + ", ".join(
            f"{label} {100 * v:.0f}%" for label, v in invalid.items()
        )
    return text


def draw(data: pd.DataFrame, title: str, error_bars: bool = False):
    models = list(dict.fromkeys(data["model"]))
    fig, axes = panel_grid(len(models), len(models), 3.8, 3.4)
    for ax, model in zip(axes.flat, models, strict=False):
        d = data[data["model"] == model]
        labelled_bars(ax, d, [COLOURS[lbl] for lbl in d["label"]], error_bars, fontsize=9)
        chance_line(ax, d["dataset"].iloc[0])
        ax.set_title(strip(d), fontsize=9)
        ax.set_ylabel("Hard Test Accuracy (%)")
    top = max(ax.get_ylim()[1] for ax in axes.flat[: len(models)])
    for ax in axes.flat[: len(models)]:
        ax.set_ylim(0.0, top)  # shared, so the facets compare at a glance
    fig.suptitle(f"{title}\n(facets by measured strength, weakest first: tab-model-ladder)")
    return fig


def run(smk) -> None:
    """The body of both rules (``fig-scaling``, ``fig-strategyqa-by-model``)."""
    from e2h.io import write_csv
    from e2h.panels import load_panels
    from e2h.plotting import save_figure, set_style
    from e2h.tables.tab_model_ladder import ladder_order

    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    order = ladder_order(str(smk.input.ladder))
    purpose = smk.rule.replace("_", "-")
    data = build(panels, order, smk.params.draws, smk.params.seed, purpose=purpose)
    write_csv(data, smk.output.data)
    fig = draw(data, smk.params.title, error_bars=smk.params.error_bars)
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)
