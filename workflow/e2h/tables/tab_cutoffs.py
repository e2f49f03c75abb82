"""``tab-cutoffs``: the level rule of every measure and its realised level counts."""

from __future__ import annotations

import pandas as pd

from e2h import registry
from e2h.hardness import LEVELS


def _fmt(x: float) -> str:
    return f"{x:g}"


def describe_levels(rule: str, easy_max: float, hard_min: float, measure: str) -> list[str]:
    """Human-readable easy / medium / hard ranges for one measure's cutoffs."""
    if measure == "human_hardness":
        return ["High School", "–", "College"]
    if rule == "percentile":
        return [f"≤ {_fmt(easy_max)} (q30)", "between", f"≥ {_fmt(hard_min)} (q70)"]
    if not (float(easy_max).is_integer() and float(hard_min).is_integer()):
        medium = f"({_fmt(easy_max)}, {_fmt(hard_min)})"
    elif hard_min - easy_max <= 1:
        medium = "–"
    elif hard_min - easy_max == 2:
        medium = _fmt(easy_max + 1)
    else:
        medium = f"{_fmt(easy_max + 1)}–{_fmt(hard_min - 1)}"
    return [f"≤ {_fmt(easy_max)}", medium, f"≥ {_fmt(hard_min)}"]


def build(tables: dict[str, pd.DataFrame], cutoffs: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, measure): rule, ranges, q30/q70 and probing-set level counts."""
    rows = []
    for cut in cutoffs.itertuples(index=False):
        table = tables[cut.dataset]
        probing = table[table["probing"]]
        counts = probing[f"{cut.measure}_level"].value_counts().reindex(LEVELS, fill_value=0)
        full = table[f"{cut.measure}_level"].value_counts().reindex(LEVELS, fill_value=0)
        easy, medium, hard = describe_levels(cut.rule, cut.easy_max, cut.hard_min, cut.measure)
        rows.append(
            {
                "Dataset": registry.dataset(cut.dataset).name,
                "Measure": registry.measure_label(cut.measure),
                "measure_id": cut.measure,
                "Rule": cut.rule,
                "Easy": easy,
                "Medium": medium,
                "Hard": hard,
                "easy_max": cut.easy_max,
                "hard_min": cut.hard_min,
                "n easy": int(counts["easy"]),
                "n medium": int(counts["medium"]),
                "n hard": int(counts["hard"]),
                "n missing": int(probing[f"{cut.measure}_level"].isna().sum()),
                "n easy (all items)": int(full["easy"]),
                "n medium (all items)": int(full["medium"]),
                "n hard (all items)": int(full["hard"]),
            }
        )
    return pd.DataFrame(rows)
