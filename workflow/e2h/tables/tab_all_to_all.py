"""``tab-all-to-all`` (Table 4): every method trained on all data, tested on all test items.

Rows are method labels ("{method} CoT={TRUE|FALSE} n={k or n}"), columns datasets; a cell is the
boot-averaged accuracy ×100 ± the half-width of the grid-bootstrap 95 % percentile interval
(docs/statistics.md#accuracy-bookkeeping, #grid-bootstrap), "–" where a method does not apply to a
dataset.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h import registry, stats
from e2h.arms import accuracy_summary, arm_matrix, read_predictions
from e2h.io import write_csv
from e2h.plotting import save_table
from e2h.seeds import rng

MISSING = "–"
NUMERIC = ["accuracy", "ci_low", "ci_high", "half_width", "n_items"]


def dataset_name(dataset: str) -> str:
    return registry.dataset(dataset).short_name


def build(rows: list[dict[str, Any]], draws: int, base_seed: int) -> pd.DataFrame:
    """Long format, one row per (dataset, method label): accuracy ×100, CI, half-width, n."""
    out = []
    seen = set()
    for row in rows:
        key = (row["model"], row["dataset"], row["label"])
        if key in seen:
            raise ValueError(f"tab-all-to-all: duplicate row {key}")
        seen.add(key)
        pred = read_predictions([row["path"]])
        gen = rng(
            "bootstrap",
            "tab-all-to-all",
            row["dataset"],
            row["method"],
            row["label"],
            base_seed=base_seed,
        )
        summary = accuracy_summary(arm_matrix(pred), draws, gen)
        if summary["n_items"] == 0:
            raise ValueError(f"tab-all-to-all: no observed test item in {row['path']}")
        half = (summary["ci_high"] - summary["ci_low"]) / 2
        out.append(
            {
                "dataset": row["dataset"],
                "Dataset": dataset_name(row["dataset"]),
                "method": row["method"],
                "label": row["label"],
                "model": row["model"],
                **summary,
                "half_width": half,
                "cell": stats.format_estimate(summary["accuracy"], half, digits=1),
            }
        )
    return pd.DataFrame(out)


def wide(long: pd.DataFrame) -> pd.DataFrame:
    """Table 4: "Method" then one display column per dataset, then per-dataset numbers.

    Row and column order follow the order of first appearance in ``long``; with several
    models a row is "{model}: {method label}".
    """
    long = long.copy()
    if long["model"].nunique() > 1:
        long["label"] = long["model"] + ": " + long["label"]
    labels = list(dict.fromkeys(long["label"]))
    names = list(dict.fromkeys(long["Dataset"]))
    table = pd.DataFrame({"Method": labels})
    cells = long.set_index(["label", "Dataset"])
    for name in names:
        table[name] = [
            cells.loc[(lbl, name), "cell"] if (lbl, name) in cells.index else MISSING
            for lbl in labels
        ]
    for name in names:
        for col in NUMERIC:
            table[f"{name} {col}"] = [
                cells.loc[(lbl, name), col] if (lbl, name) in cells.index else float("nan")
                for lbl in labels
            ]
    return table


def display_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if not c.endswith(tuple(f" {n}" for n in NUMERIC))]


def save(table: pd.DataFrame, csv_path: str, tex_path: str, caption: str, label: str) -> None:
    """CSV: the whole wide table (display and numbers); LaTeX: the display columns only."""
    save_table(table[display_columns(table)], csv_path, tex_path, caption=caption, label=label)
    write_csv(table, csv_path)  # replaces the display-only CSV, atomically
