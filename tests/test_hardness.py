"""Level rules (docs/hardness.md#hardness-measures) and the realised counts on the bundled data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from e2h.config import validated
from e2h.hardness import Cutoffs, annotate_levels, assign_levels, level_counts, resolve_cutoffs
from e2h.plan import Plan
from e2h.pool import draw_hardness_pool


def test_fixed_rule_boundaries():
    cut = Cutoffs("arc", "human_grade", "fixed", 5, 8)
    levels = assign_levels(pd.Series([3, 5, 6, 7, 8, np.nan]), cut)
    assert levels.tolist()[:5] == ["easy", "easy", "medium", "medium", "hard"]
    assert pd.isna(levels.iloc[5])


def test_binary_measure_has_no_medium():
    cut = Cutoffs("mmlu", "human_hardness", "fixed", 0, 1)
    assert set(assign_levels(pd.Series([0, 1, 1, 0]), cut)) == {"easy", "hard"}


def test_percentile_rule_uses_numpy_quantile_and_ties_go_to_extremes():
    values = pd.Series([1, 2, 2, 2, 3, 4, 5, 5, 5, 9])
    cut = resolve_cutoffs("d", "question_num_words", {"rule": "percentile"}, values)
    assert (cut.easy_max, cut.hard_min) == tuple(np.quantile(values, [0.3, 0.7]))
    levels = assign_levels(values, cut)
    assert (levels == "easy").sum() == 4  # every tie at q30 = 2 is easy: 40 % of items
    assert (levels == "hard").sum() == 4


def test_percentiles_come_from_the_probing_set_only():
    items = pd.DataFrame({"id": list("abcdef"), "question_num_words": [1, 2, 3, 4, 100, 200]})
    table, (cut,) = annotate_levels(
        items, {"a", "b", "c", "d"}, "d", {"question_num_words": {"rule": "percentile"}}
    )
    assert cut.hard_min == pytest.approx(np.quantile([1, 2, 3, 4], 0.7))
    assert table["probing"].sum() == 4


@pytest.mark.parametrize(
    ("dataset", "measure", "counts"),
    [
        ("arc", "human_grade", (1434, 1055, 2032)),
        ("arc", "human_difficulty", (1056, 2878, 587)),
        ("arc", "human_bloom", (2357, 1314, 850)),
        ("mmlu", "human_hardness", (1143, 0, 603)),
        ("strategyqa", "num_steps", (644, 1219, 427)),
        ("gsm8k", "num_steps", (6763, 1635, 394)),
    ],
)
def test_full_set_level_counts_match_the_paper(
    dataset, measure, counts, bundled_items, default_config
):
    spec = {measure: default_config["datasets"][dataset]["measures"][measure]}
    items = bundled_items[dataset]
    table, _ = annotate_levels(items, set(items["id"]), dataset, spec)
    assert tuple(level_counts(table, [measure]).loc[measure]) == counts


def test_probing_set_level_sizes(bundled_items, default_config):
    items = bundled_items["arc"]
    probing = set(items["id"]) - set(draw_hardness_pool(items["id"], 1000, "arc"))
    # MDL measures come from the MDL stage
    human = Plan(validated(default_config)).human_measures("arc")
    table, _ = annotate_levels(items, probing, "arc", human)
    counts = level_counts(table, ["human_grade"]).loc["human_grade"]
    assert counts.sum() == 3521
    assert abs(counts["hard"] - 0.779 * 2032) < 40  # ≈ 77.9 % of the full-set count
