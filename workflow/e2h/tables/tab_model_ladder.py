"""``tab-model-ladder``: how strong each model of the ladder is, measured on the same items.

Every ladder model's zero-shot cell of every grid dataset has the same test items (the cells
differ only in the model), so the accuracies are comparable row by row. A model's strength is
its mean accuracy above chance over the datasets (GSM8k's chance is 0); the by-model figures
(``fig-scaling``, ``fig-third-grade-to-college-by-model``, ``fig-strategyqa-by-model``) order
their facets by it, weakest first, instead of by parameter count (docs/methods.md#model-ladder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h import registry
from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.seeds import rng


def build(cells: dict[str, dict[str, str]], draws: int, base_seed: int) -> pd.DataFrame:
    """``cells``: {model: {dataset: zero-shot predictions path}}. One row per (model, dataset)
    with accuracy ×100 and its grid-bootstrap CI, plus the model's strength and rank."""
    rows = []
    items: dict[str, set[str]] = {}
    for model, by_dataset in cells.items():
        for dataset, path in by_dataset.items():
            mat = arm_matrix(read_predictions([str(path)]))
            ids = set(mat.index)
            if items.setdefault(dataset, ids) != ids:
                raise ValueError(
                    f"tab-model-ladder: {model}'s zero-shot items on {dataset} differ from "
                    f"the other models' ({path}); the ladder compares models on the same items"
                )
            # keyed by the dataset, not the model: common random numbers across models
            gen = rng("bootstrap", "tab-model-ladder", dataset, base_seed=base_seed)
            chance = registry.dataset(dataset).chance or 0.0
            summary = accuracy_summary(mat, draws, gen)
            rows.append(
                {
                    "model": model,
                    "dataset": dataset,
                    "Dataset": registry.dataset(dataset).name,
                    **summary,
                    "chance": chance,
                    "above_chance": summary["accuracy"] - chance,
                }
            )
    frame = pd.DataFrame(rows)
    strength = frame.groupby("model", sort=False)["above_chance"].mean()
    frame["strength"] = frame["model"].map(strength)
    order = strength.sort_values(kind="stable").index  # weakest first
    frame["rank"] = frame["model"].map({m: i + 1 for i, m in enumerate(order)})
    return frame.sort_values(["rank", "dataset"], kind="stable").reset_index(drop=True)


def ladder_order(table: pd.DataFrame | str) -> list[str]:
    """The models of a ``tab-model-ladder`` CSV (or frame), weakest first."""
    frame = pd.read_csv(table) if isinstance(table, str) else table
    ranks = frame.drop_duplicates("model").sort_values("rank", kind="stable")
    return list(ranks["model"])


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model: accuracy [CI] per dataset and the strength (the LaTeX table)."""
    rows = []
    for model, d in frame.groupby("model", sort=False):
        row = {"Rank": int(d["rank"].iloc[0]), "Model": model}
        for _, r in d.iterrows():
            ok = np.isfinite(r["accuracy"])
            row[r["Dataset"]] = (
                f"{r['accuracy']:.1f} [{r['ci_low']:.1f}, {r['ci_high']:.1f}]" if ok else "--"
            )
        row["Mean above chance"] = float(d["strength"].iloc[0])
        row["Items"] = "/".join(str(int(n)) for n in d["n_items"])
        rows.append(row)
    return pd.DataFrame(rows)
