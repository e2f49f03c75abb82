"""``fig-train-test-gap``: hard-test accuracy as a function of the training data's hardness
(RQ4, the paper's tentative Figure 9).

The population grid's ICL* cells trained on easy, medium and hard items, tested on the hard
level, for every measure with three levels (MMLU's binary measure has no medium). No new
cells: a re-plot of ``fig-e2h-main``'s arms without the Unsupervised one. Beyond the paper,
the figure data carries each bar's grid-bootstrap interval and the paired differences
Easy − Medium and Easy − Hard with their intervals and p-values (the paper's claim: "Easy is
barely worse than Medium").
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from e2h import stats
from e2h.arms import accuracy_summary
from e2h.panels import Panel
from e2h.plotting import chance_line, labelled_bars, panel_grid, signed
from e2h.seeds import rng

ARMS = {"easy": "Easy", "medium": "Medium", "hard": "Hard"}
COLOURS = {"Easy": "#55a868", "Medium": "#dd8452", "Hard": "#c44e52"}
TEST_LEVEL = "hard"
PURPOSE = "fig-train-test-gap"


def build(panels: list[Panel], draws: int, base_seed: int) -> pd.DataFrame:
    """Rows ``scope`` = bar (one per training level) and difference (Easy − Medium,
    Easy − Hard on the items both arms test)."""
    rows = []
    for panel in panels:
        mats = panel.matrices(TEST_LEVEL)
        base = {"panel": panel.title, "dataset": panel.dataset, "measure": panel.measure,
                "model": panel.model}  # fmt: skip
        for arm, label in ARMS.items():
            gen = rng("bootstrap", PURPOSE, panel.dataset, panel.measure, arm, base_seed=base_seed)
            rows.append({**base, "scope": "bar", "arm": arm, "label": label,
                         **accuracy_summary(mats[arm], draws, gen)})  # fmt: skip
        for other in ("medium", "hard"):
            gen = rng("bootstrap", PURPOSE, panel.dataset, panel.measure, "easy-" + other,
                      base_seed=base_seed)  # fmt: skip
            res = stats.diff_bootstrap(mats["easy"], mats[other], draws, gen)
            rows.append(
                {**base, "scope": "difference", "arm": f"easy-{other}",
                 "label": f"Easy − {ARMS[other]}", "accuracy": 100 * res.estimate,
                 "ci_low": 100 * res.ci_low, "ci_high": 100 * res.ci_high,
                 "p_value": res.p_value, "n_items": res.n_items}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _note(d: pd.DataFrame) -> str:
    parts = []

    for _, r in d.iterrows():
        ci = f"[{signed(r['ci_low'])}, {signed(r['ci_high'])}]"
        parts.append(f"{r['label']}: {signed(r['accuracy'])} {ci}")
    return "; ".join(parts)


def draw(data: pd.DataFrame, title: str, error_bars: bool = True, ncols: int = 3) -> plt.Figure:
    bars = data[data["scope"] == "bar"]
    diffs = data[data["scope"] == "difference"]
    panels = list(dict.fromkeys(bars["panel"]))
    fig, axes = panel_grid(len(panels), ncols, 4.2, 3.3)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = bars[bars["panel"] == panel]
        labelled_bars(ax, d, [COLOURS[lbl] for lbl in d["label"]], error_bars)
        chance_line(ax, d["dataset"].iloc[0])
        ax.set_title(panel, fontsize=10, pad=14)
        ax.text(0.5, 1.01, _note(diffs[diffs["panel"] == panel]), transform=ax.transAxes,
                fontsize=6.5, ha="center", va="bottom")  # fmt: skip
        ax.set_ylabel("Hard Test Accuracy (%)")
        ax.set_xlabel("Train Data Hardness")
    fig.suptitle(title)
    return fig
