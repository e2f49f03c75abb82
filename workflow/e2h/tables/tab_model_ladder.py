"""``tab-model-ladder``: how strong each model of the ladder is, measured on the same items.

Every ladder model's zero-shot cell of every grid dataset has the same test items (the cells
differ only in the model), so the accuracies are comparable row by row. A model's strength is
its accuracy above chance over the datasets' test items pooled (each dataset weighted by its
items; GSM8k's chance is 0), so a dataset of a few dozen items, whose accuracy moves by ±10
points from sampling alone, cannot outvote one of hundreds; the by-model figures
(``fig-scaling``, ``fig-third-grade-to-college-by-model``, ``fig-strategyqa-by-model``) order
their facets by it, weakest first, instead of by parameter count (docs/methods.md#model-ladder).
Each model is also compared with the next weaker one item by item: the paired difference of
their accuracies with its bootstrap CI and p, per dataset (which model is stronger at which
task, and whether the data can tell).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h import registry, stats
from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.seeds import rng


def build(cells: dict[str, dict[str, str]], draws: int, base_seed: int) -> pd.DataFrame:
    """``cells``: {model: {dataset: zero-shot predictions path}}. One row per (model, dataset)
    with accuracy ×100 and its grid-bootstrap CI, plus the model's strength and rank."""
    rows = []
    items: dict[str, set[str]] = {}
    mats: dict[tuple[str, str], pd.DataFrame] = {}
    for model, by_dataset in cells.items():
        for dataset, path in by_dataset.items():
            mat = arm_matrix(read_predictions([str(path)]))
            mats[(model, dataset)] = mat
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
    weighted = frame["above_chance"] * frame["n_items"]
    strength = (
        weighted.groupby(frame["model"], sort=False).sum()
        / frame.groupby("model", sort=False)["n_items"].sum()
    )
    frame["strength"] = frame["model"].map(strength)
    order = strength.sort_values(kind="stable").index  # weakest first
    frame["rank"] = frame["model"].map({m: i + 1 for i, m in enumerate(order)})
    # each model against the next weaker one, item by item: which is stronger at which task
    weaker = dict(zip(order[1:], order[:-1], strict=True))
    diffs = []
    for _, r in frame.iterrows():
        if r["model"] not in weaker:
            diffs.append({})
            continue
        other = weaker[r["model"]]
        gen = rng("bootstrap", "tab-model-ladder", "diff", r["dataset"], base_seed=base_seed)
        res = stats.diff_bootstrap(
            mats[(r["model"], r["dataset"])], mats[(other, r["dataset"])], draws, gen
        )
        diffs.append(
            {
                "vs_weaker": other,
                "diff": 100 * res.estimate,
                "diff_ci_low": 100 * res.ci_low,
                "diff_ci_high": 100 * res.ci_high,
                "diff_p_value": res.p_value,
            }
        )
    frame = pd.concat([frame, pd.DataFrame(diffs, index=frame.index)], axis=1)
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
            text = f"{r['accuracy']:.1f} [{r['ci_low']:.1f}, {r['ci_high']:.1f}]" if ok else "--"
            if isinstance(r.get("vs_weaker"), str):  # the paired difference to the weaker model
                text += f" ({r['diff']:+.1f} [{r['diff_ci_low']:+.1f}, {r['diff_ci_high']:+.1f}])"
            row[r["Dataset"]] = text
        row["Above chance (items pooled)"] = float(d["strength"].iloc[0])
        row["Items"] = "/".join(str(int(n)) for n in d["n_items"])
        rows.append(row)
    return pd.DataFrame(rows)
