"""workflow/tools/signal_report.py: arms, gap and items needed from a run's tables."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location(
    "signal_report", ROOT / "workflow/tools/signal_report.py"
)
signal_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(signal_report)


def _sgr_row(gap: float, low: float, high: float, n: int = 100) -> dict:
    arms = {"unsup": 0.40, "easy": 0.43, "hard": 0.40 + gap}
    row = {f"{a}_ci_{b}": v + d for a, v in arms.items() for b, d in (("low", -0.1), ("high", 0.1))}
    return {
        **arms, **row, "supervision_gap": gap, "gap_ci_low": low, "gap_ci_high": high, "n": n,
        "dataset": "arc", "measure": "human_grade", "model": "m", "test_level": "hard",
    }  # fmt: skip


def test_gap_rows_and_items_needed(tmp_path):
    tables = tmp_path / "results/tables"
    tables.mkdir(parents=True)
    pd.DataFrame([_sgr_row(0.04, -0.02, 0.10), _sgr_row(0.08, 0.02, 0.14)]).to_csv(
        tables / "tab-sgr.csv", index=False
    )
    gaps, levels = signal_report.report(tmp_path)
    assert levels.empty and list(gaps["gap_excludes_0"]) == [False, True]
    # half-width 0.06 on a gap of 0.04 with 100 items: 100 * (0.06 / 0.04)^2 = 225 items
    assert gaps["items_needed"].iloc[0] == "225"
    assert gaps["unsup"].iloc[0] == "40.0 [30.0, 50.0]"


def test_level_rows_separation(tmp_path):
    data = tmp_path / "results/figure_data"
    data.mkdir(parents=True)
    rows = [
        {"panel": "P", "scope": "level", "value": "easy", "accuracy": 50.0, "ci_low": 44.0,
         "ci_high": 56.0, "n_items": 100, "model": "m"},
        {"panel": "P", "scope": "level", "value": "hard", "accuracy": 40.0, "ci_low": 34.0,
         "ci_high": 46.0, "n_items": 100, "model": "m"},
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(data / "fig-acc-vs-test-hardness.csv", index=False)
    _, levels = signal_report.report(tmp_path)
    assert not levels["separated"].iloc[0]
    # half-widths 6 + 6 on a difference of 10: 100 * 1.2^2 = 144 items per level
    assert levels["items_needed"].iloc[0] == "144"
    assert signal_report.main([str(tmp_path)]) == 0
    assert signal_report.main([str(tmp_path / "missing")]) == 1


@pytest.mark.parametrize("effect", [0.0, -0.01])
def test_no_items_needed_without_an_effect(effect):
    assert signal_report._needed(100, 0.05, effect) == "-"
