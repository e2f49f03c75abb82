"""Keyed training draws and capped test samples (docs/sampling.md#sampling)."""

from __future__ import annotations

import pandas as pd
import pytest

from e2h.sampling import ANY_MEASURE, EmptySplitError, capped_test_sample, draw_split


@pytest.fixture
def table() -> pd.DataFrame:
    ids = [f"q{i:03d}" for i in range(300)]
    levels = ["easy"] * 120 + ["medium"] * 100 + ["hard"] * 80
    return pd.DataFrame(
        {"id": ids, "probing": [i % 10 != 0 for i in range(300)], "m_level": levels}
    )


def test_training_sets_are_nested_and_disjoint_from_test(table):
    small = draw_split(table, "d", "m", "easy", 0, 10, None)
    large = draw_split(table, "d", "m", "easy", 0, 40, None)
    assert set(small.train_ids) <= set(large.train_ids)
    assert not set(large.train_ids) & set(large.test_ids)
    easy = set(table.loc[table.m_level.eq("easy") & table.probing, "id"])
    assert set(large.train_ids) <= easy
    assert len(large.test_ids) == table["probing"].sum() - 40


def test_draws_are_keyed(table):
    a = draw_split(table, "d", "m", "hard", 1, 10, None)
    assert a == draw_split(table.sample(frac=1, random_state=3), "d", "m", "hard", 1, 10, None)
    assert a != draw_split(table, "d", "m", "hard", 2, 10, None)
    assert a != draw_split(table, "d", "m", "hard", 1, 10, None, base_seed=9)


def test_capped_sample_is_shared_and_stratified(table):
    cap = capped_test_sample(table, "d", "m", 0, per_level=15, reserve=10)
    levels = table.set_index("id").loc[cap, "m_level"].value_counts()
    assert levels.to_dict() == {"easy": 15, "medium": 15, "hard": 15}
    easy = draw_split(table, "d", "m", "easy", 0, 10, cap)
    hard = draw_split(table, "d", "m", "hard", 0, 10, cap)
    assert easy.test_ids == hard.test_ids == cap
    assert not set(easy.train_ids) & set(cap)
    everything = capped_test_sample(table, "d", ANY_MEASURE, 0, per_level=15)
    assert len(everything) == 45


def test_empty_or_small_strata_say_why(table):
    with pytest.raises(EmptySplitError, match="fewer than the 500 training items"):
        draw_split(table, "d", "m", "hard", 0, 500, None)
    tiny = table.head(12).assign(probing=True)
    with pytest.raises(EmptySplitError, match="test set is empty"):
        draw_split(tiny, "d", "m", "all", 0, 12, None)
