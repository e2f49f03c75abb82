"""fig-acc-vs-test-hardness-extra, the binned style of e2h.figures.fig_acc_vs_test_hardness, on
small synthetic train = All cells: equal-width bins, per-bin accuracies, dropped bins, the bar
style kept for discrete measures, and the drawn figure."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from e2h.figures import fig_acc_vs_test_hardness as mod
from tests.conftest import ROOT

RESAMPLES = 4

# question_num_words → per-item acc_mean, by the bin each value falls in (edges 10, 20, 30, 40, 50)
WORDS = {
    "bin 1": [(10, 1.0), (14, 1.0), (17, 0.75), (20, 1.0)],  # 20: an inner edge, right-closed
    "bin 2": [(21, 0.0), (25, 1.0), (29, 0.5)],  # SE 0.5/√3 = 0.289: dropped
    "bin 3": [(31, 0.5), (33, 0.5), (35, 0.5), (36, 0.5), (38, 0.75), (40, 0.25)],
    "bin 4": [(45, 0.25), (50, 0.25)],  # 50: the max, in the last bin
}


def cell(accs: dict[str, float], tested: dict[str, int] | None = None) -> pd.DataFrame:
    """Predictions with one row per (item, resample it was tested in) whose mean ``correct``
    is the item's acc; ``tested`` gives items tested in fewer than RESAMPLES resamples."""
    rows = []
    for item, acc in accs.items():
        k = (tested or {}).get(item, RESAMPLES)
        hits = round(acc * k)
        assert hits == acc * k, "acc must be a multiple of 1/k"
        rows += [{"id": item, "resample": r, "correct": int(r < hits)} for r in range(k)]
    return pd.DataFrame(rows)


def words_panel() -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    items = [(f"w{i}", v, a) for i, (v, a) in enumerate(x for b in WORDS.values() for x in b)]
    # two items without a value (as MDL measures leave some): accuracy 0 and, as if stale, a
    # "hard" level, so counting them would move both the bins and the hard level
    items += [("nan0", math.nan, 0.0), ("nan1", math.nan, 0.0)]
    value = [v for _, v, _ in items]
    level = ["easy" if v <= 20 else "hard" if v >= 40 else "medium" for v in value[:-2]]
    table = pd.DataFrame(
        {
            "id": [i for i, _, _ in items],
            "question_num_words": value,
            "question_num_words_level": [*level, "hard", "hard"],
        }
    )
    # the 0.5 item of bin 2 was tested in two resamples only: its mean is over those two
    pred = cell({i: a for i, _, a in items}, tested={"w6": 2})
    spec = {"model": "m", "dataset": "arc", "measure": "question_num_words", "title": "ARC Words"}
    return spec, pred, table


def grade_panel() -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """Five distinct grades (< 9): the bar style, one bar per value."""
    ids = [f"g{i}" for i in range(12)]
    table = pd.DataFrame(
        {
            "id": ids,
            "human_grade": [3, 3, 4, 4, 5, 5, 8, 8, 8, 9, 9, 9],
            "human_grade_level": ["easy"] * 6 + ["hard"] * 6,
        }
    )
    accs = [1, 1, 1, 0, 1, 0.5, 0, 0, 1, 0, 0.25, 0]
    spec = {"model": "m", "dataset": "arc", "measure": "human_grade", "title": "ARC Grade"}
    return spec, cell(dict(zip(ids, accs, strict=True))), table


def chars_panel() -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """answer_num_chars 0–7 and one item at 100: bins [0, 25] (8 items), two empty bins and
    (75, 100] with the max alone; accuracies low, so the y-limit comes from the data."""
    values = [0, 1, 2, 3, 4, 5, 6, 7, 100]
    accs = [0.25, 0.5] * 4 + [1.0]
    ids = [f"c{i}" for i in range(len(values))]
    table = pd.DataFrame(
        {
            "id": ids,
            "answer_num_chars": values,
            "answer_num_chars_level": ["easy"] * 4 + ["medium"] * 4 + ["hard"],
        }
    )
    spec = {"model": "m", "dataset": "arc", "measure": "answer_num_chars", "title": "ARC Chars"}
    return spec, cell(dict(zip(ids, accs, strict=True))), table


def bins(data: pd.DataFrame, panel: str) -> pd.DataFrame:
    return data[(data["panel"] == panel) & (data["scope"] == "bin")].reset_index(drop=True)


def line_of(ax: plt.Axes):
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "bins"]
    return line


def test_bins_are_equal_width_with_min_and_max_inside():
    data = mod.build_binned([words_panel()])
    assert list(data.columns) == mod.BINNED_COLUMNS
    b = bins(data, "ARC Words")
    assert b["bin_low"].tolist() == [10.0, 20.0, 30.0, 40.0]
    assert b["bin_high"].tolist() == [20.0, 30.0, 40.0, 50.0]
    assert b["x"].tolist() == [15.0, 25.0, 35.0, 45.0]
    assert b["value"].tolist() == ["[10.0, 20.0]", "(20.0, 30.0]", "(30.0, 40.0]", "(40.0, 50.0]"]
    # min (10) in the first bin, inner edges (20, 40) in the bin below them, max (50) in the last;
    # the two items without a value in none
    assert b["n_items"].tolist() == [4, 3, 6, 2]


def test_bin_accuracies_and_intervals_are_the_items_means():
    b = bins(mod.build_binned([words_panel()]), "ARC Words")
    assert b["accuracy"].tolist() == pytest.approx([93.75, 50.0, 50.0, 25.0])
    assert b["se"].tolist() == pytest.approx([0.0625, 0.5 / math.sqrt(3), 0.025**0.5 / 6**0.5, 0])
    # bin 3: 50 ± t(0.975, 5) · 15.811 / √6
    assert b.loc[2, "ci_low"] == pytest.approx(33.4070, abs=1e-3)
    assert b.loc[2, "ci_high"] == pytest.approx(66.5930, abs=1e-3)
    assert (b.loc[3, "ci_low"], b.loc[3, "ci_high"]) == pytest.approx((25.0, 25.0))


def test_a_bin_with_a_large_standard_error_is_kept_in_the_data_but_not_drawn():
    data = mod.build_binned([words_panel()])
    assert bins(data, "ARC Words")["dropped"].tolist() == ["", "SE ≥ 0.1", "", ""]
    # a tighter threshold drops bin 3 (SE 0.0645) as well, not bin 1 (0.0625); SE = threshold drops
    strict = mod.build_binned([words_panel()], max_se=0.063)
    assert bins(strict, "ARC Words")["dropped"].tolist() == ["", "SE ≥ 0.063", "SE ≥ 0.063", ""]
    edge = mod.build_binned([words_panel()], max_se=0.0625)
    assert bins(edge, "ARC Words")["dropped"].tolist()[0] == "SE ≥ 0.0625"
    fig = mod.draw_binned(data, "title")
    ax = fig.axes[0]
    # the dropped bin (midpoint 25) breaks the line: no point, no segment across it
    x, y = np.asarray(line_of(ax).get_xdata()), np.asarray(line_of(ax).get_ydata(), dtype=float)
    assert list(x[np.isfinite(y)]) == [15.0, 35.0, 45.0]
    assert list(y[np.isfinite(y)]) == pytest.approx([93.75, 50.0, 25.0])
    assert np.isnan(y[x == 25.0]).all()
    assert any("1 bin dropped (SE ≥ 0.1)" in t.get_text() for t in ax.texts)
    counts = [t.get_text() for t in ax.get_xticklabels(minor=True)]
    assert counts == ["n=4", "n=3\n(dropped)", "n=6", "n=2"]
    plt.close(fig)


def test_bins_with_fewer_than_two_items_are_dropped():
    b = bins(mod.build_binned([chars_panel()]), "ARC Chars")
    assert b["n_items"].tolist() == [8, 0, 0, 1]  # the max (100) alone in the last bin
    assert b["dropped"].tolist() == ["", "n < 2", "n < 2", "n < 2"]
    assert b.loc[0, "accuracy"] == pytest.approx(37.5)
    assert b.loc[3, "accuracy"] == pytest.approx(100.0) and math.isnan(b.loc[1, "accuracy"])
    fig = mod.draw_binned(mod.build_binned([chars_panel()]), "title")
    assert any("3 bins dropped (n < 2)" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_items_without_a_value_are_left_out_of_bins_and_levels():
    data = mod.build_binned([words_panel()])
    assert bins(data, "ARC Words")["n_items"].sum() == 15  # 17 items, 2 without a value
    levels = data[data["scope"] == "level"].set_index("value")
    assert levels.loc["easy", "accuracy"] == pytest.approx(93.75)
    assert levels.loc["hard", "accuracy"] == pytest.approx(25.0)  # 40, 45, 50; not 15
    assert levels["n_items"].tolist() == [4, 3]
    assert levels[["x", "bin_low", "bin_high"]].isna().all().all()
    assert (levels["dropped"] == "").all()


def test_a_discrete_measure_keeps_builds_value_rows():
    panels = [grade_panel(), words_panel()]
    data = mod.build_binned(panels)
    grade = data[data["panel"] == "ARC Grade"]
    assert set(grade["scope"]) == {"value", "level"}
    assert grade.loc[grade["scope"] == "value", "value"].tolist() == ["3", "4", "5", "8", "9"]
    assert grade.loc[grade["scope"] == "value", "accuracy"].tolist() == pytest.approx(
        [100.0, 50.0, 75.0, 100 / 3, 25 / 3]
    )
    # the same rows as the bar style's build, value and level rows alike
    reference = mod.build(panels)
    words_values = (reference["panel"] == "ARC Words") & (reference["scope"] == "value")
    reference = reference[~words_values]
    ours = data[data["scope"] != "bin"][list(reference.columns)]
    pd.testing.assert_frame_equal(
        ours.reset_index(drop=True), reference.reset_index(drop=True), check_dtype=False
    )
    # with a lower threshold the five grades are binned too
    assert set(mod.build_binned(panels, min_distinct=5)["scope"]) == {"bin", "level"}


def test_draw_binned_draws_a_line_and_bars_with_limits_from_the_data(tmp_path: Path):
    data = mod.build_binned([words_panel(), grade_panel(), chars_panel()])
    fig = mod.draw_binned(data, "Accuracy vs. test hardness (extra)")
    assert len(fig.axes) == 3
    assert all(ax.axison for ax in fig.axes)
    words, grade, chars = fig.axes
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "Question Num. Words",
        "Grade Level",
        "Answer Num. Chars",
    ]
    assert all(ax.get_ylabel() == "Accuracy (%)" for ax in fig.axes)
    assert len(grade.patches) == 5 and not [ln for ln in grade.get_lines() if ln.get_gid()]
    assert words.get_xlim() == (10.0, 50.0)  # the measure's own scale, not bin positions
    for ax, panel in ((words, "ARC Words"), (chars, "ARC Chars")):
        kept = bins(data, panel).query("dropped == ''")
        top = ax.get_ylim()[1]
        assert top <= 105 and (kept["ci_high"].clip(upper=100) < top).all()
        assert (kept["accuracy"] < top).all()
    # low accuracies: the limit follows the data (37.5 + 11.2 → 55), not a fixed 100
    assert bins(data, "ARC Chars").loc[0, "ci_high"] == pytest.approx(48.672, abs=1e-3)
    assert chars.get_ylim() == (0.0, 55.0)
    fig.savefig(tmp_path / "example.png", dpi=80)
    plt.close(fig)


def test_draw_binned_leaves_spare_axes_empty_and_survives_all_bins_dropped():
    data = mod.build_binned([words_panel(), grade_panel()], max_se=0.0)  # SE ≥ 0: every bin
    assert (bins(data, "ARC Words")["dropped"] != "").all()
    fig = mod.draw_binned(data, "title")
    assert len(fig.axes) == 3 and [ax.axison for ax in fig.axes] == [True, True, False]
    assert not np.isfinite(np.asarray(line_of(fig.axes[0]).get_ydata(), dtype=float)).any()
    assert fig.axes[0].get_ylim() == (0.0, 30.0)  # nothing drawn: up to the chance line (25)
    assert any("4 bins dropped" in t.get_text() for t in fig.axes[0].texts)
    # the empty panel says why in its middle, with the bins' sizes
    assert any(t.get_text().startswith("every bin dropped\n") for t in fig.axes[0].texts)
    plt.close(fig)
    dropped = pd.DataFrame({"n_items": [6, 21], "dropped": ["SE ≥ 0.1", "SE ≥ 0.1"]})
    assert mod._all_dropped_text(dropped) == (
        "every bin dropped\n6–21 items per bin;\nSE < 0.1 needs about 26 per bin"
    )  # 0.25 / 0.1² = 25, and the SE must be below the threshold


def test_rule_script_writes_binned_data_and_figures(tmp_path: Path):
    tables, specs = {}, []
    for spec, pred, table in (words_panel(), grade_panel()):
        path = tmp_path / f"{spec['measure']}.parquet"
        pred.to_parquet(path)
        tables.setdefault("arc", []).append(table)
        specs.append({**spec, "path": str(path)})
    table = pd.concat(tables["arc"], ignore_index=True)
    table.to_parquet(tmp_path / "arc.parquet")
    spec = importlib.util.spec_from_file_location(
        "extra", ROOT / "workflow/scripts/fig_acc_vs_test_hardness_extra.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    (tmp_path / "figure_data").mkdir()
    out = SimpleNamespace(
        data=str(tmp_path / "figure_data/extra.csv"),
        figures=[str(tmp_path / "figures/extra.png")],
    )
    params = SimpleNamespace(
        panels=specs, tables={"arc": str(tmp_path / "arc.parquet")}, title="t", dpi=50
    )
    script.main(SimpleNamespace(params=params, output=out))
    written = pd.read_csv(out.data, keep_default_na=False, na_values=[""])
    assert list(written.columns) == mod.BINNED_COLUMNS
    assert written["scope"].value_counts().to_dict() == {"bin": 4, "value": 5, "level": 4}
    assert (tmp_path / "figures/extra.png").stat().st_size > 0
    assert np.isnan(written.loc[written["scope"] == "level", "x"]).all()


def test_level_note_says_when_the_sample_has_no_item_of_a_level():
    """A panel whose train = All sample drew no hard item (GSM8k at small caps) says so
    instead of showing the easy level alone."""
    row = {"panel": "p", "scope": "level", "accuracy": 50.0, "ci_low": 20.0, "ci_high": 80.0}
    both = pd.DataFrame(
        [{**row, "value": "easy", "n_items": 8}, {**row, "value": "hard", "n_items": 1}]
    )
    assert mod._level_note(both) == "easy 50 % [20, 80] (n=8) vs hard 50 % (n=1)"
    assert mod._level_note(both.iloc[:1]) == "easy 50 % [20, 80] (n=8) vs hard: no test item"
    assert mod._level_note(both.iloc[:0]) == ""
