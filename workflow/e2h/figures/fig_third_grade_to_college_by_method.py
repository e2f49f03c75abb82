"""``fig-third-grade-to-college-by-method`` and ``-by-model``: Figure 1's five bars, one facet
per method or per model.

By method: ICL, Linear Probe and LoRA trained on ARC 3rd/8th grade or MMLU high school/college
and tested on all MMLU college test items; the Unsupervised bar (zero-shot ICL) is the same
cell, and so the same number, in every facet. By model: ICL of every model of the ladder on
the same items, facets in the ladder's measured order (``tab-model-ladder``, weakest first).
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
MODEL_TITLE = (
    f"{TITLE} (Across Models, ICL)\n(facets by measured strength, weakest first: tab-model-ladder)"
)


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


def build(
    preds: dict[str, dict[str, pd.DataFrame]],
    draws: int,
    base_seed: int,
    facet: str = "method",
    order: list[str] | None = None,
) -> pd.DataFrame:
    """One row per (facet, source): boot-averaged accuracy ×100 on MMLU college test items.

    By method, the bootstrap seed of a source is keyed by the method, except Unsupervised,
    which is keyed by the source alone so its repeated bar has the same CI in every facet. By
    model (``order``: the ladder, weakest first), every seed is keyed by the source alone: the
    models are compared on common random numbers.
    """
    purpose = f"fig-third-grade-to-college-by-{facet}"
    if not preds:
        raise ValueError(f"{purpose}: no {facet}")
    if order is not None:
        missing = [k for k in preds if k not in order]
        if missing:
            raise KeyError(f"{purpose}: {missing} not in tab-model-ladder ({order})")
    keys_in_order = [k for k in order if k in preds] if order is not None else ordered(preds)
    rows = []
    for key in keys_in_order:
        for source in LABELS:
            if source not in preds[key]:
                raise KeyError(f"{purpose}: {key} has no source {source!r}")
            pred = preds[key][source]
            keys = (source,) if source == "unsup" or facet == "model" else (key, source)
            gen = rng("bootstrap", purpose, *keys, base_seed=base_seed)
            rows.append(
                {
                    "facet": key,
                    "method": key if facet == "method" else "ICL",
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


def draw(
    data: pd.DataFrame,
    error_bars: bool = False,
    title: str = TITLE,
    left_out: dict[str, str] | None = None,
) -> plt.Figure:
    """One facet per method (ICL, Linear Probe, LoRA) or model, shared data-driven y-limits.
    ``left_out``: {method: why} of configured methods without a facet, said under the plot
    so a reader does not look for them."""
    facets = list(dict.fromkeys(data["facet"]))
    if not facets:
        raise ValueError(f"{title}: no facets to draw")
    fig, axes = plt.subplots(
        1, len(facets), figsize=(4.4 * len(facets), 3.6), squeeze=False, layout="constrained"
    )
    for ax, method in zip(axes.flat, facets, strict=True):
        d = data[data["facet"] == method]
        labelled_bars(ax, d, COLOURS[: len(d)], error_bars, fontsize=9)
        chance_line(ax, "mmlu")  # every source is tested on MMLU college
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(method, fontsize=10)
        ax.set_xlabel("Train Data")
        ax.set_ylabel("Hard Test Acc (MMLU)")
    top = max(ax.get_ylim()[1] for ax in axes.flat)  # labelled_bars sized each for its data
    for ax in axes.flat:
        ax.set_ylim(0.0, top)
    if left_out:
        note = "; ".join(f"{method}: {why}" for method, why in left_out.items())
        fig.supxlabel(f"Not shown: {note}", fontsize=8, color="0.3")
    if title != TITLE:
        fig.suptitle(title)
        return fig
    models = "+".join(dict.fromkeys(m for m in data["model"] if m))
    fig.suptitle(f"{TITLE} ({models})" if models else TITLE)
    return fig
