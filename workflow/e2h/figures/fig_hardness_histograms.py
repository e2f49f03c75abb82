"""``fig-hardness-histograms``: distribution of every hardness measure (figures.md §3)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h.hardness import DATASET_NAMES, DISPLAY_NAMES

#: Panels the paper leaves out (GSM8k reasoning words).
EXCLUDED = {("gsm8k", "reasoning_num_words")}
BINS = 30


def panel_values(dataset: str, measure: str, table: pd.DataFrame) -> tuple[str, np.ndarray]:
    """Title and values of one panel; GSM8k steps are plotted as lines − 1 (study.md §3.1)."""
    values = pd.to_numeric(table.loc[table["probing"], measure], errors="coerce").dropna()
    title = f"{DATASET_NAMES[dataset].split('-')[0]} {DISPLAY_NAMES.get(measure, measure)}"
    if dataset == "gsm8k" and measure == "num_steps":
        values = values - 1
        title += " (lines − 1)"
    return title, values.to_numpy(dtype=float)


def build(tables: dict[str, pd.DataFrame], measures: dict[str, list[str]]) -> pd.DataFrame:
    """Histogram counts per panel: dataset, measure, bin edges, count."""
    rows = []
    for dataset, table in tables.items():
        for measure in measures[dataset]:
            if (dataset, measure) in EXCLUDED:
                continue
            title, values = panel_values(dataset, measure, table)
            counts, edges = np.histogram(values, bins=BINS)
            for i, c in enumerate(counts):
                rows.append(
                    {
                        "dataset": dataset,
                        "measure": measure,
                        "panel": title,
                        "bin_left": edges[i],
                        "bin_right": edges[i + 1],
                        "count": int(c),
                        "n_items": len(values),
                    }
                )
    return pd.DataFrame(rows)


def draw(data: pd.DataFrame, ncols: int = 4) -> plt.Figure:
    panels = list(dict.fromkeys(data["panel"]))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        d = data[data["panel"] == panel]
        ax.bar(
            d["bin_left"],
            d["count"],
            width=d["bin_right"] - d["bin_left"],
            align="edge",
            color="#4C72B0",
            edgecolor="white",
            linewidth=0.3,
        )
        ax.set_title(panel, fontsize=9)
        ax.set_ylabel("Items")
        ax.tick_params(labelsize=8)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    fig.suptitle("Distribution of Hardness Measures (probing sets)")
    fig.tight_layout()
    return fig
