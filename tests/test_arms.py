"""Prediction files feed the statistics one row per (item, resample), never averaged."""

from __future__ import annotations

import pandas as pd
import pytest

from e2h.arms import arm_matrix, read_predictions


def _pred(rows):
    return pd.DataFrame(rows, columns=["id", "resample", "correct"])


def test_duplicated_item_resample_rows_are_an_error_naming_the_file(tmp_path):
    path = tmp_path / "predictions.parquet"
    _pred([("q1", 0, True), ("q2", 0, False), ("q1", 0, False)]).to_parquet(path)
    with pytest.raises(ValueError, match=r"predictions\.parquet: 2 rows repeat.*'q1'"):
        read_predictions([str(path)])
    with pytest.raises(ValueError, match="repeat an \\(item, resample\\) pair"):
        arm_matrix(_pred([("q1", 0, True), ("q1", 0, False)]))


def test_the_same_item_in_two_resamples_is_two_observations(tmp_path):
    path = tmp_path / "predictions.parquet"
    _pred([("q1", 0, True), ("q1", 1, False), ("q2", 1, True)]).to_parquet(path)
    mat = arm_matrix(read_predictions([str(path)]))
    assert mat.loc["q1"].tolist() == [1.0, 0.0]
    assert pd.isna(mat.loc["q2", 0]) and mat.loc["q2", 1] == 1.0
