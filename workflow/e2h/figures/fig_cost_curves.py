"""``fig-cost-curves`` and ``fig-cost-curves-mmlu``: is easy data the better buy when a hard
label costs more? (RQ3, docs/methods.md#learning-curves)

Linear-probe learning curves on easy and on hard training data (nested sizes, the same keyed
test items for every size and source), hard test level, re-plotted against labelling cost:
cost(easy, n) = n, cost(hard, n) = hard_factor · n, points kept where min ≤ cost ≤ max. Each
point is a boot-averaged accuracy with its grid-bootstrap 95 % interval, drawn as a band (the
paper draws none). Per panel and for every cost both sources reach, the figure data gives
Easy − Hard with its paired bootstrap interval and p-value, and the **break-even cost**: the
smallest such cost at which easy data matches or beats hard data (point estimates), and
whether that difference's interval excludes zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd

from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.figures.easy_vs_hard import differences, draw_curves, note
from e2h.plotting import chance_line, panel_grid
from e2h.seeds import rng

LABELS = {"easy": "Easy", "hard": "Hard"}
COLOURS = {"easy": "#55a868", "hard": "#c44e52"}
TEST_LEVEL = "hard"


@dataclass
class CurvePanel:
    """One (model, dataset, measure): predictions per training source and size."""

    dataset: str
    measure: str
    levels: pd.Series  # item id → level of the measure
    arms: dict[str, dict[int, pd.DataFrame]]
    model: str = ""
    title: str = ""


def load_panels(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[CurvePanel]:
    """specs: [{model, dataset, measure, title, arms: {source: {n: predictions path}}}]."""
    levels: dict[str, pd.DataFrame] = {}
    panels = []
    for spec in specs:
        dataset = spec["dataset"]
        if dataset not in levels:
            levels[dataset] = pd.read_parquet(tables[dataset]).set_index("id")
        arms = {
            source: {int(n): read_predictions([path]) for n, path in by_n.items()}
            for source, by_n in spec["arms"].items()
        }
        panels.append(
            CurvePanel(
                dataset,
                spec["measure"],
                levels[dataset][f"{spec['measure']}_level"],
                arms,
                model=spec["model"],
                title=spec["title"],
            )
        )
    return panels


def cost_of(source: str, n: int, hard_factor: float) -> float:
    return float(n) * (hard_factor if source == "hard" else 1.0)


def kept(cost: float, rule: dict[str, Any]) -> bool:
    high = rule.get("max")
    return cost >= float(rule["min"]) and (high is None or cost <= float(high))


def build(
    panels: list[CurvePanel], rule: dict[str, Any], draws: int, base_seed: int
) -> pd.DataFrame:
    """Rows ``scope`` = point (source, n, cost, accuracy, CI, kept), difference (Easy − Hard at
    a common kept cost) and break_even (one per panel)."""
    rows = []
    factor = float(rule["hard_factor"])
    for panel in panels:
        base = {"panel": panel.title, "dataset": panel.dataset, "measure": panel.measure,
                "model": panel.model}  # fmt: skip
        mats: dict[tuple[str, float], pd.DataFrame] = {}
        for source, by_n in panel.arms.items():
            for n, pred in sorted(by_n.items()):
                cost = cost_of(source, n, factor)
                mat = arm_matrix(pred, panel.levels, TEST_LEVEL)
                gen = rng("bootstrap", "fig-cost-curves", panel.dataset, panel.measure, source, n,
                          base_seed=base_seed)  # fmt: skip
                rows.append(
                    {**base, "scope": "point", "source": source, "label": LABELS[source],
                     "n": n, "cost": cost, "kept": kept(cost, rule),
                     **accuracy_summary(mat, draws, gen)}
                )  # fmt: skip
                if kept(cost, rule):
                    mats[(source, cost)] = mat
        keys = ("fig-cost-curves", panel.dataset, panel.measure)
        rows += differences(mats, "cost", "break_even", keys, draws, base_seed, base)
    return pd.DataFrame(rows)


def _note(row: pd.Series) -> str:
    return note(row, "cost", "cost ", "easy below hard at every common cost")


def draw(data: pd.DataFrame, title: str, ncols: int = 2) -> plt.Figure:
    points = data[(data["scope"] == "point") & data["kept"].astype(bool)]
    notes = data[data["scope"] == "break_even"].set_index("panel")
    panels = list(dict.fromkeys(data["panel"]))
    fig, axes = panel_grid(len(panels), ncols, 4.6, 3.4)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = points[points["panel"] == panel]
        draw_curves(ax, d, "cost", LABELS, COLOURS)
        costs = sorted(d["cost"].unique())
        ax.set_xscale("log", base=2)
        ax.set_xticks(costs, [f"{c:g}" for c in costs])
        ax.minorticks_off()
        chance_line(ax, d["dataset"].iloc[0])
        ax.set_title(panel, fontsize=10, pad=14)
        ax.text(0.5, 1.01, _note(notes.loc[panel]), transform=ax.transAxes, fontsize=7,
                ha="center", va="bottom")  # fmt: skip
        ax.set_xlabel("Training Data Cost")
        ax.set_ylabel("Hard Test Accuracy (%)")
        ax.legend(title="Training Data", fontsize=7, title_fontsize=7, loc="lower right")
    fig.suptitle(title)
    return fig


def run(smk) -> None:
    """The body of both rules (fig-cost-curves and its MMLU panel alone)."""
    from e2h.io import write_csv
    from e2h.plotting import save_figure, set_style

    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    data = build(panels, smk.params.cost, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    save_figure(draw(data, smk.params.title), smk.output.figures, dpi=smk.params.dpi)
