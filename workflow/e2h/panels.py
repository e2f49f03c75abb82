"""Panels: the arms (predictions per train source) of one (model, dataset, measure).

Shared by the RQ2 figures and the SGR tables, which select every arm's items by a test level
and align arms by item id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from e2h.arms import arm_matrix, read_predictions


@dataclass
class Panel:
    """The arms of one (model, dataset, measure) panel: predictions per train source."""

    dataset: str
    measure: str
    levels: pd.Series  # item id → level of this measure
    arms: dict[str, pd.DataFrame]  # train source → predictions
    model: str = ""
    title: str = ""

    def matrices(self, level: str) -> dict[str, pd.DataFrame]:
        """Arm matrices on a test level; Unsup restricted to items the supervised arms test."""
        mats = {a: arm_matrix(p, self.levels, level) for a, p in self.arms.items() if a != "unsup"}
        tested = set().union(*(set(m.index) for m in mats.values())) if mats else None
        mats["unsup"] = arm_matrix(self.arms["unsup"], self.levels, level, ids=tested)
        return mats


def load_panels(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[Panel]:
    """specs: [{model, dataset, measure, title, arms: {train source: predictions path}}];
    each file is read once (the zero-shot cell is shared by every measure)."""
    levels: dict[str, pd.DataFrame] = {}
    preds: dict[str, pd.DataFrame] = {}
    panels = []
    for spec in specs:
        dataset, measure = spec["dataset"], spec["measure"]
        if dataset not in levels:
            levels[dataset] = pd.read_parquet(tables[dataset]).set_index("id")
        arms = {}
        for arm, path in spec["arms"].items():
            if path not in preds:
                preds[path] = read_predictions([path])
            arms[arm] = preds[path]
        panels.append(
            Panel(
                dataset,
                measure,
                levels[dataset][f"{measure}_level"],
                arms,
                model=spec["model"],
                title=spec["title"],
            )
        )
    return panels
