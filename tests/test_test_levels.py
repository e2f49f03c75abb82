"""Cells narrowed to one test level (CellSpec.test_level, docs/speed.md#test-levels): same
training items and seeds as their every-level twin, only that level's test items, and only
where no output reads another level."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from e2h.cells import (
    SUPERVISOR,
    CellSpec,
    splits,
    summarise_cell,
    supervisor_resample,
)
from e2h.config import validated
from e2h.plan import Plan
from e2h.prompting import score_splits
from tests.conftest import ROOT
from tests.tiny_model import one_thread, tiny, tiny_model_dir, toy_items  # noqa: F401

#: Outputs that read test levels other than hard: none of their cells may be narrowed.
EVERY_LEVEL = (
    "fig-e2h-all-test",
    "tab-sgr",
    "tab-all-to-all",
    "fig-acc-vs-test-hardness",
    "fig-acc-vs-test-hardness-extra",
    "tab-model-ladder",
    "fig-third-grade-to-college",
    "fig-third-grade-to-college-by-method",
    "fig-third-grade-to-college-by-model",
)


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "id": [f"q{i:03d}" for i in range(300)],
            "probing": [i % 7 != 0 for i in range(300)],
            "m_level": [("easy", "medium", "hard")[i % 3] for i in range(300)],
            "label_idx": rng.integers(0, 4, 300),
        }
    )


def test_a_narrowed_cell_trains_on_its_twins_items_and_tests_one_level(table):
    wide = CellSpec("d", "x", "icl", "p", "m", "easy", 10, 3, 15, 0, reserve=20)
    narrow = replace(wide, test_level="hard")
    level = table.set_index("id")["m_level"]
    for w, n in zip(splits(table, wide), splits(table, narrow), strict=True):
        assert n.train_ids == w.train_ids
        assert n.test_ids == [i for i in w.test_ids if level[i] == "hard"]
        assert len(n.test_ids) == 15 and len(w.test_ids) == 45
    # the folder says so, and an every-level cell's folder, params and hash are unchanged
    assert narrow.directory == wide.directory.replace("easy-n10/", "easy-n10-test_hard/")
    assert CellSpec.from_directory(narrow.directory).test_level == "hard"
    assert "test_level" not in wide.as_dict() and narrow.as_dict()["test_level"] == "hard"
    assert narrow.cell_hash() != wide.cell_hash()


def test_a_narrowed_supervisor_still_labels_every_student_item(table):
    wide = CellSpec("d", "w", "probe", "p", "m", SUPERVISOR, 30, 2, 15, 0, reserve=20)
    narrow = replace(wide, test_level="hard")
    level = table.set_index("id")["m_level"]
    for r in range(2):
        (w, w_students), (n, n_students) = (
            supervisor_resample(table, s, r) for s in (wide, narrow)
        )
        assert n_students == w_students and n.train_ids == w.train_ids
        students = set(w_students)
        assert students <= set(n.test_ids)
        tests = [i for i in n.test_ids if i not in students]
        assert tests and all(level[i] == "hard" for i in tests)
        assert tests == [i for i in w.test_ids if i not in students and level[i] == "hard"]


def test_a_supervisors_summary_keeps_its_labels_apart_from_its_tests(table):
    """cell.json of a weak supervisor: "labelled" = its students' items (the weak labels'
    accuracy); "all" and the levels = its test items only."""
    spec = CellSpec("d", "w", "probe", "p", "m", SUPERVISOR, 30, 2, 15, 0, reserve=20)
    resample_splits = splits(table, spec)
    labelled = {r: set(supervisor_resample(table, spec, r)[1]) for r in range(2)}
    rows = []
    for r, split in enumerate(resample_splits):
        assert set(split.labelled) == labelled[r]
        for i in split.test_ids:  # students' items right, test items wrong
            rows.append({"resample": r, "id": i, "correct": i in labelled[r]})
    summary = summarise_cell(pd.DataFrame(rows), table, "m", resample_splits).set_index(
        ["resample", "level"]
    )
    for r in range(2):
        assert summary.loc[(r, "labelled"), "accuracy"] == 1.0
        assert summary.loc[(r, "labelled"), "n"] == len(labelled[r]) > 0
        assert summary.loc[(r, "all"), "accuracy"] == 0.0
        assert summary.loc[(r, "all"), "n"] == len(resample_splits[r].test_ids) - len(labelled[r])
    other = replace(spec, train="hard", n=10)
    assert all(split.labelled == () for split in splits(table, other))


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"test_level": "hardest"}, "one of"),
        ({"measure": "any", "train": "all", "test_level": "hard"}, "no test levels"),
        ({"train": "unsup", "n": 0, "test_level": "hard"}, "no test levels"),
        ({"noise": 0.1, "labels": "weak_w_probe_n4"}, "noisy already"),
    ],
)
def test_bad_test_levels_and_noisy_weak_labels_are_refused(fields, message):
    base = {"dataset": "d", "model": "x", "method": "icl", "prompt": "p", "measure": "m"}
    base |= {"train": "easy", "n": 4, "resamples": 1, "cap": 5, "seed": 0}
    with pytest.raises(ValueError, match=message):
        CellSpec(**{**base, **fields})


def test_narrowed_icl_scores_are_the_twins_on_that_level(tiny):  # noqa: F811
    model, tok = tiny
    table = toy_items(60)
    table["probing"] = True
    table["m_level"] = [("easy", "medium", "hard")[i % 3] for i in range(60)]
    wide = CellSpec("arc", "tiny", "icl", "0040", "m", "easy", 3, 1, 4, 0, reserve=3)
    narrow = replace(wide, test_level="hard")
    w, n = (
        score_splits(table, table, splits(table, s), s, model, tok, 8, 1024) for s in (wide, narrow)
    )
    hard = set(table.loc[table["m_level"] == "hard", "id"])
    w = w[w["id"].isin(hard)].reset_index(drop=True)
    assert len(n) == len(w) == 4
    assert list(n["id"]) == list(w["id"]) and list(n["pred"]) == list(w["pred"])
    assert list(n["prompt_hash"]) == list(w["prompt_hash"])
    np.testing.assert_allclose(np.stack(n["logprobs"]), np.stack(w["logprobs"]), atol=1e-4)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(validated(yaml.safe_load(Path(ROOT / "config.yaml").read_text())))


def _cells_of(output) -> list[str]:
    return [p.removesuffix("/predictions.parquet") for p in output.inputs.get("cells", [])]


def test_outputs_reading_every_level_get_every_level_cells(plan):
    narrowed = {d for d, s in plan.cells.items() if s.test_level}
    assert narrowed and {plan.cells[d].test_level for d in narrowed} == {"hard"}
    for output_id in EVERY_LEVEL:
        if plan.has(output_id):
            wrong = [d for d in _cells_of(plan.outputs[output_id]) if d in narrowed]
            assert not wrong, f"{output_id} reads every level of {wrong}"
    for output_id, output in plan.outputs.items():
        for directory in _cells_of(output):
            assert directory in plan.cells, f"{output_id}: {directory} is not planned"


def test_a_cell_two_experiments_share_tests_what_either_reads(plan):
    """fig-scaling asks for SmolLM2's MMLU easy / hard ICL on the hard level only; the grid's
    panels read every level of the same cells, so they stay whole (one cell, not two)."""
    arms = plan._ladder_arms("smollm2-135m", "mmlu", "human_hardness")
    for arm in ("easy", "hard"):
        assert plan.resolve(arms[arm]).test_level == ""
    gemma = plan._ladder_arms("gemma3-270m", "mmlu", "human_hardness")
    assert plan.resolve(gemma["hard"]).test_level == "hard"
    twins = [s for s in plan.cells.values() if replace(s, test_level="") != s]
    wide = {replace(s, test_level="").directory for s in plan.cells.values() if not s.test_level}
    assert not [s.directory for s in twins if replace(s, test_level="").directory in wide]


def test_zero_shot_covers_every_level_of_grid_measures_and_the_hard_level_of_others(table):
    base = CellSpec("d", "x", "zs", "p", "any", "unsup", 0, 2, 15, 0, reserve=20)
    from e2h.cells import zero_shot_test_ids

    every = set(zero_shot_test_ids(table, replace(base, cap_measures=("m",))))
    hard = set(zero_shot_test_ids(table, replace(base, cap_measures=("m:hard",))))
    level = table.set_index("id")["m_level"]
    assert hard == {i for i in every if level[i] == "hard"} and len(hard) < len(every)
    both = set(zero_shot_test_ids(table, replace(base, cap_measures=("m", "m:hard"))))
    assert both == every


def test_zero_shot_covers_the_all_cells_sample_at_its_own_cap(table):
    """experiments.all_test_cap: the train = All cells draw their unstratified sample at a
    larger cap than the grid's; "any@cap" makes the zero-shot cell (every Unsup arm) score
    exactly those items too."""
    from e2h.cells import splits, zero_shot_test_ids

    base = CellSpec("d", "x", "zs", "p", "any", "unsup", 0, 2, 5, 0, reserve=20)
    at_cap = set(zero_shot_test_ids(table, replace(base, cap_measures=("any",))))
    own = set(zero_shot_test_ids(table, replace(base, cap_measures=("any@10",))))
    assert at_cap < own
    everything = CellSpec("d", "x", "icl", "p", "any", "all", 3, 2, 10, 0, reserve=20)
    tested = {i for s in splits(table, everything) for i in s.test_ids}
    assert tested <= own and len(tested) > len(at_cap)
