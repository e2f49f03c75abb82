"""Load the per-panel arms that the RQ2 figures and tables share."""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h.arms import read_predictions
from e2h.figures.fig_e2h import Panel


def load_panels(specs: list[dict[str, Any]], tables: dict[str, str]) -> list[Panel]:
    """specs: [{dataset, measure, arms: {train source: predictions path}}]."""
    cache: dict[str, pd.DataFrame] = {}
    panels = []
    for spec in specs:
        dataset, measure = spec["dataset"], spec["measure"]
        if dataset not in cache:
            cache[dataset] = pd.read_parquet(tables[dataset])
        levels = cache[dataset].set_index("id")[f"{measure}_level"]
        arms = {arm: read_predictions([path]) for arm, path in spec["arms"].items()}
        panels.append(Panel(dataset, measure, levels, arms))
    return panels
