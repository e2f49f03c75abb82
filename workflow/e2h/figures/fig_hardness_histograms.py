"""``fig-hardness-histograms``: distribution of every hardness measure (docs/figures.md)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from e2h import registry

BINS = 30


def panel_values(dataset: str, measure: str, table: pd.DataFrame) -> tuple[str, np.ndarray]:
    """Title and values of one panel, shifted as the registry says (GSM8k: lines − 1)."""
    values = pd.to_numeric(table.loc[table["probing"], measure], errors="coerce").dropna()
    title = registry.panel_title(dataset, measure)
    shown = registry.dataset(dataset).measures[measure].histogram
    if isinstance(shown, dict):
        values = values + shown.get("shift", 0)
        title += shown.get("suffix", "")
    return title, values.to_numpy(dtype=float)


def shown(dataset: str, measure: str) -> bool:
    """Whether the measure has a panel (the paper leaves out GSM8k reasoning words)."""
    return registry.dataset(dataset).measures[measure].histogram is not False


def build(tables: dict[str, pd.DataFrame], measures: dict[str, list[str]]) -> pd.DataFrame:
    """Histogram counts per panel: dataset, measure, bin edges, count."""
    rows = []
    for dataset, table in tables.items():
        for measure in measures[dataset]:
            if not shown(dataset, measure):
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
