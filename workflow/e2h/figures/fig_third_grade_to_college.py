"""``fig-third-grade-to-college`` (Figure 1): accuracy on college STEM by training source."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from e2h.arms import accuracy_summary, arm_matrix
from e2h.plotting import SOURCE_COLOURS as COLOURS
from e2h.plotting import chance_line, labelled_bars
from e2h.seeds import rng
from e2h.transfer import LABELS


def build(preds: dict[str, pd.DataFrame], draws: int, base_seed: int, model: str) -> pd.DataFrame:
    """One row per source: boot-averaged accuracy ×100 on its MMLU-college test items."""
    rows = []
    for source in LABELS:
        if source not in preds:
            raise KeyError(f"fig-third-grade-to-college: no predictions for source {source!r}")
        gen = rng("bootstrap", "fig-third-grade-to-college", source, base_seed=base_seed)
        mat = arm_matrix(preds[source])
        rows.append(
            {
                "source": source,
                "label": LABELS[source],
                "model": model,
                **accuracy_summary(mat, draws, gen),
            }
        )
    return pd.DataFrame(rows)


def draw(data: pd.DataFrame, error_bars: bool = False) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.2, 3.4), layout="constrained")
    labelled_bars(ax, data, COLOURS[: len(data)], error_bars, fontsize=9)
    chance_line(ax, "mmlu")  # every source is tested on MMLU college
    ax.set_xlabel("Train Data")
    ax.set_ylabel("Accuracy (%)")
    ax.set_title(f"Accuracy on College STEM Questions ({data['model'].iloc[0]})")
    return fig
