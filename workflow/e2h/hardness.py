"""Human hardness measures and their easy/medium/hard levels (docs/hardness.md#hardness-measures).

Two rules, both configured per dataset and measure in ``config.yaml`` (one table,
docs/defects.md#d-19):
- ``fixed``: easy if x ≤ easy_max, hard if x ≥ hard_min, medium otherwise;
- ``percentile``: the same rule with easy_max = q30 and hard_min = q70 of the measure over
  the dataset's probing set (``numpy.quantile``, linear interpolation). Ties at a
  quantile go to easy or hard, so a level can hold more than 30 % of the items.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

LEVELS = ["easy", "medium", "hard"]


@dataclass(frozen=True)
class Cutoffs:
    """The realised thresholds of one measure on one dataset."""

    dataset: str
    measure: str
    rule: str
    easy_max: float
    hard_min: float
    quantiles: tuple[float, float] | None = None


def resolve_cutoffs(
    dataset: str,
    measure: str,
    spec: dict[str, Any],
    probing_values: pd.Series,
    quantiles: tuple[float, float] = (0.3, 0.7),
) -> Cutoffs:
    """Turn a config entry into numeric cutoffs (percentiles over the probing set)."""
    if spec["rule"] == "fixed":
        return Cutoffs(dataset, measure, "fixed", float(spec["easy_max"]), float(spec["hard_min"]))
    values = pd.to_numeric(probing_values, errors="coerce").dropna().to_numpy(dtype=float)
    if values.size == 0:
        raise ValueError(f"{dataset}/{measure}: no values on the probing set for percentiles")
    q_lo, q_hi = np.quantile(values, list(quantiles))
    return Cutoffs(dataset, measure, "percentile", float(q_lo), float(q_hi), tuple(quantiles))


def assign_levels(values: pd.Series, cutoffs: Cutoffs) -> pd.Series:
    """easy / medium / hard per value by the threshold rule; missing values stay missing."""
    x = pd.to_numeric(values, errors="coerce")
    level = np.where(
        x <= cutoffs.easy_max, "easy", np.where(x >= cutoffs.hard_min, "hard", "medium")
    )
    out = pd.Series(pd.Categorical(level, categories=LEVELS), index=values.index)
    out[x.isna()] = np.nan
    return out


def annotate_levels(
    items: pd.DataFrame,
    probing_ids: set[str],
    dataset: str,
    measures: dict[str, dict[str, Any]],
    quantiles: tuple[float, float] = (0.3, 0.7),
) -> tuple[pd.DataFrame, list[Cutoffs]]:
    """Add ``probing`` and one ``{measure}_level`` column per configured measure."""
    out = items.copy()
    out["probing"] = out["id"].isin(probing_ids)
    missing = [m for m in measures if m not in out.columns]
    if missing:
        raise KeyError(f"{dataset}: measures {missing} are not columns of the item table")
    cutoffs = []
    for measure, spec in measures.items():
        cut = resolve_cutoffs(dataset, measure, spec, out.loc[out["probing"], measure], quantiles)
        out[f"{measure}_level"] = assign_levels(out[measure], cut)
        cutoffs.append(cut)
    return out, cutoffs


def level_counts(
    table: pd.DataFrame, measures: list[str], probing_only: bool = True
) -> pd.DataFrame:
    """Items per level and measure (rows: measure; columns: easy, medium, hard)."""
    rows = table[table["probing"]] if probing_only else table
    counts = {m: rows[f"{m}_level"].value_counts().reindex(LEVELS, fill_value=0) for m in measures}
    return pd.DataFrame(counts).T.astype(int)


def cutoffs_frame(cutoffs: list[Cutoffs]) -> pd.DataFrame:
    return pd.DataFrame([asdict(c) for c in cutoffs])
