"""``fig-third-grade-to-college-by-method``: Figure 1's five bars, one facet per method.

Methods ICL, Linear Probe and LoRA trained on ARC 3rd/8th grade or MMLU high school/college
and tested on all MMLU college test items; the Unsupervised bar (zero-shot ICL) is the same
cell, and so the same number, in every facet.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.plotting import METHOD_ORDER, chance_line, labelled_bars
from e2h.plotting import SOURCE_COLOURS as COLOURS
from e2h.seeds import rng
from e2h.transfer import LABELS

TITLE = "Hard Test Performance As a Function of Training Hardness"


def ordered(methods) -> list[str]:
    methods = list(methods)
    return [m for m in METHOD_ORDER if m in methods] + [m for m in methods if m not in METHOD_ORDER]


def load(cells: dict[str, dict[str, str]]) -> dict[str, dict[str, pd.DataFrame]]:
    """{method: {source: path}} → predictions, each file read once (fails naming a missing one)."""
    cache: dict[str, pd.DataFrame] = {}
    out = {}
    for method, sources in cells.items():
        out[method] = {}
        for source, path in sources.items():
            if str(path) not in cache:
                cache[str(path)] = read_predictions([str(path)])
            out[method][source] = cache[str(path)]
    return out


def build(preds: dict[str, dict[str, pd.DataFrame]], draws: int, base_seed: int) -> pd.DataFrame:
    """One row per (method, source): boot-averaged accuracy ×100 on MMLU college test items.

    The bootstrap seed of a source is keyed by the method, except Unsupervised, which is keyed
    by the source alone so its repeated bar has the same CI in every facet.
    """
    if not preds:
        raise ValueError("fig-third-grade-to-college-by-method: no method")
    rows = []
    for method in ordered(preds):
        for source in LABELS:
            if source not in preds[method]:
                raise KeyError(
                    f"fig-third-grade-to-college-by-method: {method} has no source {source!r}"
                )
            pred = preds[method][source]
            keys = (source,) if source == "unsup" else (method, source)
            gen = rng(
                "bootstrap", "fig-third-grade-to-college-by-method", *keys, base_seed=base_seed
            )
            rows.append(
                {
                    "method": method,
                    "source": source,
                    "label": LABELS[source],
                    "method_code": "+".join(sorted(map(str, pred["method"].unique())))
                    if "method" in pred.columns
                    else "",
                    "model": "+".join(sorted(map(str, pred["model"].unique())))
                    if "model" in pred.columns
                    else "",
                    **accuracy_summary(arm_matrix(pred), draws, gen),
                }
            )
    return pd.DataFrame(rows)


def draw(data: pd.DataFrame, error_bars: bool = False) -> plt.Figure:
    """One facet per method (ICL, Linear Probe, LoRA), shared data-driven y-limits."""
    methods = list(dict.fromkeys(data["method"]))
    if not methods:
        raise ValueError(f"{TITLE}: no facets to draw")
    fig, axes = plt.subplots(
        1, len(methods), figsize=(4.4 * len(methods), 3.6), squeeze=False, layout="constrained"
    )
    for ax, method in zip(axes.flat, methods, strict=True):
        d = data[data["method"] == method]
        labelled_bars(ax, d, COLOURS[: len(d)], error_bars, fontsize=9)
        chance_line(ax, "mmlu")  # every source is tested on MMLU college
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(method, fontsize=10)
        ax.set_xlabel("Train Data")
        ax.set_ylabel("Hard Test Acc (MMLU)")
    top = max(ax.get_ylim()[1] for ax in axes.flat)  # labelled_bars sized each for its data
    for ax in axes.flat:
        ax.set_ylim(0.0, top)
    models = "+".join(dict.fromkeys(m for m in data["model"] if m))
    fig.suptitle(f"{TITLE} ({models})" if models else TITLE)
    return fig
