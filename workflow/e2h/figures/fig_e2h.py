"""``fig-e2h-main`` (hard test) and ``fig-e2h-all-test`` (all test): accuracy by train source.

One panel per (dataset, measure); bars Unsupervised / Easy / (Medium) / Hard are
boot-averaged accuracies ×100 on the panel's test level, with grid-bootstrap CIs stored
in the figure data (drawn when ``figures.error_bars`` is true).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from e2h.arms import accuracy_summary
from e2h.panels import Panel
from e2h.plotting import chance_line, labelled_bars
from e2h.seeds import rng

ARM_LABELS = {"unsup": "Unsupervised", "easy": "Easy", "medium": "Medium", "hard": "Hard"}


def build(panels: list[Panel], level: str, draws: int, base_seed: int) -> pd.DataFrame:
    rows = []
    for panel in panels:
        mats = panel.matrices(level)
        for arm in [a for a in ARM_LABELS if a in mats]:
            gen = rng(
                "bootstrap",
                "fig-e2h",
                panel.dataset,
                panel.measure,
                level,
                arm,
                base_seed=base_seed,
            )
            rows.append(
                {
                    "panel": panel.title,
                    "dataset": panel.dataset,
                    "measure": panel.measure,
                    "test_level": level,
                    "arm": arm,
                    "label": ARM_LABELS[arm],
                    **accuracy_summary(mats[arm], draws, gen),
                    "model": panel.model,
                }
            )
    return pd.DataFrame(rows)


def draw(data: pd.DataFrame, title: str, error_bars: bool = False, ncols: int = 3) -> plt.Figure:
    panels = list(dict.fromkeys(data["panel"]))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.6 * ncols, 3.0 * nrows), squeeze=False, layout="constrained"
    )
    colours = {"Unsupervised": "#8c8c8c", "Easy": "#55a868", "Medium": "#dd8452", "Hard": "#c44e52"}
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = data[data["panel"] == panel]
        labelled_bars(ax, d, [colours[lbl] for lbl in d["label"]], error_bars)
        chance_line(ax, d["dataset"].iloc[0])
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel("Accuracy (%)")
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.suptitle(title)
    return fig
