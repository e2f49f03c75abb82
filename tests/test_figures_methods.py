"""By-method outputs on small synthetic prediction files: fig-sgr-by-method(-extra),
tab-sgr-by-method, tab-all-to-all (Table 4) and fig-third-grade-to-college-by-method."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from e2h import stats
from e2h.figures import fig_sgr_by_method as sgr_mod
from e2h.figures import fig_third_grade_to_college_by_method as tgc_mod
from e2h.tables import tab_all_to_all as a2a_mod
from e2h.transfer import LABELS
from tests.conftest import ROOT

DRAWS = 200
HARD = [f"i{j}" for j in range(10)]
EASY = [f"i{j}" for j in range(10, 20)]


# --------------------------------------------------------------------------------------------
# synthetic cells
# --------------------------------------------------------------------------------------------


def write_cell(path: Path, results: dict[int, dict[str, bool]], **fields) -> str:
    """results: {resample: {item id: correct}} → a predictions parquet like run_cell's."""
    meta = {
        "dataset": "arc",
        "model": "tiny",
        "method": "icl",
        "prompt": "0040",
        "measure": "human_grade",
        "train": "easy",
        "n": 2,
        "resamples": len(results),
        "cap": "all",
        "seed": 0,
        "cot": False,
        **fields,
    }
    rows = [
        {"id": i, "correct": bool(c), "resample": r, **meta}
        for r, items in results.items()
        for i, c in items.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path, index=False)
    return str(path)


def correct_first(ids: list[str], k: int) -> dict[str, bool]:
    return {i: j < k for j, i in enumerate(ids)}


def hardness_table(tmp_path: Path, dataset: str = "arc") -> str:
    path = tmp_path / f"hardness/{dataset}/human.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "id": HARD + EASY,
            "human_grade_level": ["hard"] * 10 + ["easy"] * 10,
            "question_num_words_level": ["easy"] * 10 + ["hard"] * 10,
        }
    ).to_parquet(path, index=False)
    return str(path)


@pytest.fixture
def sgr_setup(tmp_path: Path) -> tuple[list[dict], dict[str, str]]:
    """One ARC Grade Level panel with known hard-test accuracies per method.

    Unsup: 2/10 hard items right (and every easy item, which must not count).
    ICL: easy 6/10 and 5/8 in its two resamples (0.6125), hard 0.8 → SGR 0.6875.
    Probe: easy 0.4, hard 0.6 → SGR 0.5. LoRA: hard = unsup → SGR undefined.
    """
    c = tmp_path / "cells"
    unsup = write_cell(
        c / "zs.parquet",
        {0: {**correct_first(HARD, 2), **dict.fromkeys(EASY, True)}},
        method="zs",
        train="unsup",
        measure="any",
    )
    wrong = dict.fromkeys(EASY, False)  # easy-level test items: must not count
    icl_easy = write_cell(
        c / "icl_easy.parquet",
        {0: {**correct_first(HARD, 6), **wrong}, 1: {**correct_first(HARD[:8], 5), **wrong}},
    )
    icl_hard = write_cell(
        c / "icl_hard.parquet",
        {0: {**correct_first(HARD, 8), **wrong}, 1: {**correct_first(HARD, 8), **wrong}},
        train="hard",
    )
    probe_easy = write_cell(c / "probe_easy.parquet", {0: correct_first(HARD, 4)}, method="probe")
    probe_hard = write_cell(
        c / "probe_hard.parquet", {0: correct_first(HARD, 6)}, method="probe", train="hard"
    )
    lora_easy = write_cell(c / "lora_easy.parquet", {0: correct_first(HARD, 3)}, method="lora_mc")
    lora_hard = write_cell(
        c / "lora_hard.parquet", {0: correct_first(HARD, 2)}, method="lora_mc", train="hard"
    )
    specs = [
        {
            "model": "tiny",
            "dataset": "arc",
            "measure": "human_grade",
            "title": "ARC Grade Level",
            "methods": {  # deliberately not in plotting order
                "LoRA": {"unsup": unsup, "easy": lora_easy, "hard": lora_hard},
                "ICL": {"unsup": unsup, "easy": icl_easy, "hard": icl_hard},
                "Linear Probe": {"unsup": unsup, "easy": probe_easy, "hard": probe_hard},
            },
        }
    ]
    return specs, {"arc": hardness_table(tmp_path)}


# --------------------------------------------------------------------------------------------
# fig-sgr-by-method / tab-sgr-by-method
# --------------------------------------------------------------------------------------------


def test_sgr_by_method_known_values(sgr_setup) -> None:
    specs, tables = sgr_setup
    panels = sgr_mod.load_method_panels(specs, tables)
    data = sgr_mod.build(panels, DRAWS, base_seed=0)
    assert list(data["method"]) == ["ICL", "Linear Probe", "LoRA"]
    assert set(data["panel"]) == {"ARC Grade Level"}
    by = data.set_index("method")
    # Unsup is restricted to the hard level: easy items (all right) would give 0.6
    assert by["unsup"].tolist() == pytest.approx([0.2, 0.2, 0.2])
    assert by.loc["ICL", ["easy", "hard"]].tolist() == pytest.approx([0.6125, 0.8])
    assert by.loc["ICL", "sgr"] == pytest.approx((0.6125 - 0.2) / (0.8 - 0.2))
    assert by.loc["Linear Probe", "sgr"] == pytest.approx(0.5)
    assert math.isnan(by.loc["LoRA", "sgr"])
    assert by.loc["ICL", "gap_positive"] and not by.loc["LoRA", "gap_positive"]
    assert by.loc["ICL", "supervision_gap"] == pytest.approx(0.8 - 0.2)
    assert by.loc["LoRA", "draws_nonfinite"] == DRAWS
    assert by.loc["ICL", "n_items"] == 10
    assert by.loc["ICL", "method_code"] == "icl" and by.loc["LoRA", "method_code"] == "lora_mc"
    icl = by.loc["ICL"]
    assert icl["ci_low"] <= icl["sgr_bootstrap_mean"] <= icl["ci_high"]
    assert icl["half_width"] == pytest.approx((icl["ci_high"] - icl["ci_low"]) / 2)
    assert icl["draws"] == DRAWS and 0 <= icl["p_value"] <= 1


def test_sgr_by_method_is_keyed_and_reproducible(sgr_setup) -> None:
    specs, tables = sgr_setup
    panels = sgr_mod.load_method_panels(specs, tables)
    a = sgr_mod.build(panels, DRAWS, base_seed=0, purpose="tab-sgr-by-method")
    b = sgr_mod.build(panels, DRAWS, base_seed=0, purpose="tab-sgr-by-method")
    pd.testing.assert_frame_equal(a, b)
    c = sgr_mod.build(panels, DRAWS, base_seed=1, purpose="tab-sgr-by-method")
    pd.testing.assert_series_equal(a["sgr"], c["sgr"])  # the plug-in value is not random
    assert not np.allclose(a["sgr_bootstrap_mean"].iloc[:2], c["sgr_bootstrap_mean"].iloc[:2])


def test_sgr_table_columns(sgr_setup) -> None:
    specs, tables = sgr_setup
    data = sgr_mod.build(sgr_mod.load_method_panels(specs, tables), DRAWS, 0)
    tab = sgr_mod.table(data)
    assert list(tab.columns[:9]) == [
        "Dataname",
        "Hardness Measure",
        "Method",
        "Unsupervised",
        "Easy",
        "Hard",
        "SGR",
        "SGR Estimate",
        "n",
    ]
    assert tab["Dataname"].tolist() == ["ARC"] * 3
    assert tab["Hardness Measure"].iloc[0] == "Grade Level"
    icl = tab.iloc[0]
    assert icl["SGR Estimate"] == stats.format_estimate(
        icl["sgr_bootstrap_mean"], icl["half_width"], icl["p_value"]
    )
    assert re.fullmatch(r"-?\d+\.\d\d ± \d+\.\d\d \(p (=|<) .+\)", icl["SGR Estimate"])
    assert tab["SGR Estimate"].iloc[2] == "NA ± NA (p = NA) [no gap: Hard ≤ Unsup]"


def test_sgr_figure_bars_labels_and_na(sgr_setup) -> None:
    specs, tables = sgr_setup
    data = sgr_mod.build(sgr_mod.load_method_panels(specs, tables), DRAWS, 0)
    fig = sgr_mod.draw(data, sgr_mod.TITLE, error_bars=True)
    ax = fig.axes[0]
    assert ax.get_title() == "ARC Grade Level"
    assert fig.get_suptitle() == "Supervision Gap Recovered By Training Method"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ICL", "Linear Probe", "LoRA"]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == pytest.approx(sorted([0.6875, 0.5]))  # no bar for the NaN SGR
    texts = {t.get_text() for t in ax.texts}
    assert {f"{0.6875:.2f}", "0.50", "no gap"} <= texts  # LoRA: Hard = Unsup
    low, high = ax.get_ylim()
    assert low <= 0 and high >= max(1.0, data["ci_high"].max())
    plt.close(fig)


def test_sgr_figure_says_what_it_leaves_out(sgr_setup) -> None:
    specs, tables = sgr_setup
    data = sgr_mod.build(sgr_mod.load_method_panels(specs, tables), DRAWS, 0)
    left_out = {"LoRA-CoT": "left out by experiments.trained.skip (StrategyQA, GSM8k)"}
    note = sgr_mod.draw(data, sgr_mod.TITLE, left_out=left_out).get_supxlabel()
    assert note.endswith(
        "\nnot shown: LoRA-CoT: left out by experiments.trained.skip (StrategyQA, GSM8k)"
    )
    assert "not shown" not in sgr_mod.draw(data, sgr_mod.TITLE).get_supxlabel()
    plt.close("all")


def test_sgr_whiskers_only_on_drawn_bars(sgr_setup) -> None:
    """No ratio, no interval: a method with no gap gets its label but no whisker."""
    specs, tables = sgr_setup
    data = sgr_mod.build(sgr_mod.load_method_panels(specs, tables), DRAWS, 0)
    panel = data[data["panel"] == data["panel"].iloc[0]]
    ax = sgr_mod.draw(data, sgr_mod.TITLE, error_bars=True).axes[0]
    (whiskers,) = [c for c in ax.containers if hasattr(c, "has_yerr")]
    drawn = int(np.isfinite(panel["sgr"].to_numpy(dtype=float)).sum())
    assert len(whiskers.lines[2][0].get_segments()) == drawn < len(panel)
    plt.close("all")


def test_sgr_limits_hold_negative_values() -> None:
    data = pd.DataFrame(
        {"sgr": [-0.8, 2.4, np.nan], "ci_low": [-3.0, 1.0, np.nan], "ci_high": [0.5, 4.0, np.nan]}
    )
    low, high = sgr_mod.y_limits(data)
    assert low < -0.8 and high > 2.4
    low, high = sgr_mod.y_limits(data, error_bars=True)
    assert low < -3.0 and high > 4.0
    assert sgr_mod.y_limits(data.iloc[2:]) == (0.0, pytest.approx(1.12))


def test_sgr_missing_cell_names_the_file(sgr_setup) -> None:
    specs, tables = sgr_setup
    gone = specs[0]["methods"]["Linear Probe"]["hard"]
    Path(gone).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(gone)):
        sgr_mod.load_method_panels(specs, tables)


def test_sgr_empty_figure_fails() -> None:
    with pytest.raises(ValueError, match="no panels"):
        sgr_mod.draw(pd.DataFrame({"panel": []}), sgr_mod.TITLE)


# --------------------------------------------------------------------------------------------
# tab-all-to-all
# --------------------------------------------------------------------------------------------


@pytest.fixture
def all_to_all_rows(tmp_path: Path) -> list[dict]:
    c = tmp_path / "all"
    ids = HARD + EASY
    return [
        {
            "model": "tiny",
            "dataset": "arc",
            "method": "icl",
            "label": "ICL CoT=FALSE n=10",
            # 15/20 and 13/20 → boot-averaged 70.0
            "path": write_cell(
                c / "arc_icl.parquet", {0: correct_first(ids, 15), 1: correct_first(ids, 13)}
            ),
        },
        {
            "model": "tiny",
            "dataset": "arc",
            "method": "probe",
            "label": "Linear Probe CoT=FALSE n=8",
            "path": write_cell(c / "arc_probe.parquet", {0: correct_first(ids, 9)}),
        },
        {
            "model": "tiny",
            "dataset": "gsm8k",
            "method": "icl_cot",
            "label": "ICL CoT=TRUE n=8",
            "path": write_cell(
                c / "gsm8k_icl.parquet", {0: correct_first(ids, 0)}, dataset="gsm8k"
            ),
        },
    ]


def test_all_to_all_long_and_wide(all_to_all_rows) -> None:
    long = a2a_mod.build(all_to_all_rows, DRAWS, base_seed=0)
    assert long["accuracy"].tolist() == pytest.approx([70.0, 45.0, 0.0])
    assert long["n_items"].tolist() == [20, 20, 20]
    assert (long["ci_low"] <= long["accuracy"] + 1e-9).all()
    wide = a2a_mod.wide(long)
    assert wide["Method"].tolist() == [r["label"] for r in all_to_all_rows]
    assert a2a_mod.display_columns(wide) == ["Method", "ARC", "GSM8k"]
    half = long.loc[0, "half_width"]
    assert half > 0
    assert wide.loc[0, "ARC"] == f"70.0 ± {half:.1f}"
    assert wide.loc[2, "GSM8k"] == "0.0 ± 0.0"
    assert wide.loc[0, "GSM8k"] == "–" and wide.loc[2, "ARC"] == "–"
    assert wide.loc[1, "ARC accuracy"] == pytest.approx(45.0)
    assert math.isnan(wide.loc[1, "GSM8k accuracy"])


def test_all_to_all_save(all_to_all_rows, tmp_path: Path) -> None:
    wide = a2a_mod.wide(a2a_mod.build(all_to_all_rows, DRAWS, base_seed=0))
    csv, tex = tmp_path / "t.csv", tmp_path / "t.tex"
    a2a_mod.save(wide, str(csv), str(tex), caption="Table 4", label="tab:all-to-all")
    back = pd.read_csv(csv)
    assert list(back.columns) == list(wide.columns)
    assert back.loc[0, "ARC accuracy"] == pytest.approx(70.0)
    text = tex.read_text()
    assert "\\begin{tabular}" in text and "$\\pm$" in text and "accuracy" not in text
    assert "ICL CoT=TRUE n=8" in text


def test_all_to_all_missing_cell_and_duplicates(all_to_all_rows) -> None:
    Path(all_to_all_rows[1]["path"]).unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(all_to_all_rows[1]["path"])):
        a2a_mod.build(all_to_all_rows, DRAWS, 0)
    with pytest.raises(ValueError, match="duplicate"):
        a2a_mod.build([all_to_all_rows[0], all_to_all_rows[0]], DRAWS, 0)


# --------------------------------------------------------------------------------------------
# fig-third-grade-to-college-by-method
# --------------------------------------------------------------------------------------------


@pytest.fixture
def transfer_cells(tmp_path: Path) -> dict[str, dict[str, str]]:
    c = tmp_path / "transfer"
    ids = [f"c{j}" for j in range(10)]
    unsup = write_cell(c / "zs.parquet", {0: correct_first(ids, 3)}, method="zs", dataset="mmlu")
    out = {}
    methods = [("LoRA", "lora_mc"), ("ICL", "icl"), ("Linear Probe", "probe")]
    for m, (method, code) in enumerate(methods):
        out[method] = {"unsup": unsup}
        for s, source in enumerate(list(LABELS)[1:]):
            out[method][source] = write_cell(
                c / f"{code}_{source}.parquet",
                {0: correct_first(ids, 4 + s), 1: correct_first(ids, 4 + m)},
                method=code,
                dataset="mmlu",
            )
    return out


def test_third_grade_by_method(transfer_cells) -> None:
    data = tgc_mod.build(tgc_mod.load(transfer_cells), DRAWS, base_seed=0)
    assert list(dict.fromkeys(data["method"])) == ["ICL", "Linear Probe", "LoRA"]
    assert len(data) == 15
    assert list(data["label"].iloc[:5]) == list(LABELS.values())
    unsup = data[data["source"] == "unsup"]
    assert unsup["accuracy"].tolist() == pytest.approx([30.0] * 3)
    assert unsup["ci_low"].nunique() == 1 and unsup["ci_high"].nunique() == 1
    icl = data[(data["method"] == "ICL") & (data["source"] == "mmlu_college")].iloc[0]
    assert icl["accuracy"] == pytest.approx((70 + 50) / 2)  # s = 3, m = 1
    assert icl["method_code"] == "icl" and icl["n_items"] == 10

    fig = tgc_mod.draw(data, error_bars=True)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["ICL", "Linear Probe", "LoRA"]
    assert {ax.get_ylim() for ax in axes} == {axes[0].get_ylim()}
    assert axes[0].get_ylabel() == "Hard Test Acc (MMLU)"
    assert fig.get_suptitle().startswith(tgc_mod.TITLE)
    assert len(axes[1].patches) == 5
    plt.close(fig)


def test_third_grade_by_method_missing_source(transfer_cells) -> None:
    preds = tgc_mod.load(transfer_cells)
    del preds["LoRA"]["arc_grade3"]
    with pytest.raises(KeyError, match="arc_grade3"):
        tgc_mod.build(preds, DRAWS, 0)


# --------------------------------------------------------------------------------------------
# rule scripts and the rule file
# --------------------------------------------------------------------------------------------


def run_script(name: str, params: dict, output: dict) -> None:
    spec = importlib.util.spec_from_file_location(name, ROOT / f"workflow/scripts/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(SimpleNamespace(params=SimpleNamespace(**params), output=SimpleNamespace(**output)))


def fig_outputs(tmp_path: Path, fig_id: str) -> dict:
    return {
        "figures": [str(tmp_path / f"figures/{fig_id}.{ext}") for ext in ("pdf", "png")],
        "data": str(tmp_path / f"figure_data/{fig_id}.csv"),
    }


def check_figure(output: dict) -> pd.DataFrame:
    for path in output["figures"]:
        assert Path(path).stat().st_size > 1000, path
    return pd.read_csv(output["data"])


def test_scripts_end_to_end(sgr_setup, all_to_all_rows, transfer_cells, tmp_path: Path) -> None:
    specs, tables = sgr_setup
    common = {"draws": DRAWS, "seed": 0, "error_bars": False, "dpi": 50}
    for name in ["fig_sgr_by_method", "fig_sgr_by_method_extra"]:
        out = fig_outputs(tmp_path, name)
        params = {**common, "panels": specs, "tables": tables, "title": "T", "left_out": {}}
        run_script(name, params, out)
        assert check_figure(out)["sgr"].iloc[0] == pytest.approx(0.6875)

    tab = {"csv": str(tmp_path / "tab.csv"), "tex": str(tmp_path / "tab.tex")}
    run_script("tab_sgr_by_method", {"panels": specs, "tables": tables, **common}, tab)
    frame = pd.read_csv(tab["csv"])
    assert frame["Method"].tolist() == ["ICL", "Linear Probe", "LoRA"]
    assert "0.800" in Path(tab["tex"]).read_text()  # ICL hard accuracy, 3 decimals

    run_script("tab_all_to_all", {"rows": all_to_all_rows, **common}, tab)
    assert pd.read_csv(tab["csv"])["ARC accuracy"].iloc[0] == pytest.approx(70.0)

    out = fig_outputs(tmp_path, "fig-third-grade-to-college-by-method")
    left_out = {"LoRA": "left out by experiments.trained.skip (mmlu)"}
    params = {"cells": transfer_cells, "left_out": left_out, **common}
    run_script("fig_third_grade_to_college_by_method", params, out)
    assert len(check_figure(out)) == 15
    # a configured method without a facet is named under the plot, with the reason
    data = pd.read_csv(out["data"])
    fig = tgc_mod.draw(data, left_out=left_out)
    assert fig.get_supxlabel() == "Not shown: LoRA: left out by experiments.trained.skip (mmlu)"
    assert tgc_mod.draw(data).get_supxlabel() == ""


def test_sgr_without_a_positive_gap_recovers_nothing(sgr_setup) -> None:
    """Hard below Unsup: the ratio would be a number (here positive), but there is no gap to
    recover, so the plug-in SGR is NA, the table says why and the figure says "no gap"."""
    specs, tables = sgr_setup
    icl = specs[0]["methods"]["ICL"]
    flipped = {"unsup": icl["hard"], "easy": icl["easy"], "hard": icl["unsup"]}
    spec = {**specs[0], "methods": {"ICL": flipped}}
    data = sgr_mod.build(sgr_mod.load_method_panels([spec], tables), DRAWS, 0)
    row = data.iloc[0]
    assert row["supervision_gap"] < 0 and not row["gap_positive"] and math.isnan(row["sgr"])
    assert sgr_mod.table(data)["SGR Estimate"].iloc[0].endswith("[no gap: Hard ≤ Unsup]")
    fig = sgr_mod.draw(data, sgr_mod.TITLE)
    assert "no gap" in {t.get_text() for t in fig.axes[0].texts}


def test_acc_vs_test_hardness_reports_easy_and_hard_levels():
    """Besides one bar per hardness value, each panel states the accuracy of the measure's
    easy and hard test levels with t-intervals (the signal the figure is about)."""
    from e2h.figures.fig_acc_vs_test_hardness import build, draw

    ids = [f"q{i}" for i in range(12)]
    grade = [3, 3, 4, 4, 5, 5, 8, 8, 8, 9, 9, 9]
    table = pd.DataFrame(
        {
            "id": ids,
            "human_grade": grade,
            "human_grade_level": ["easy"] * 6 + ["hard"] * 6,
        }
    )
    correct = [1, 1, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0]
    pred = pd.DataFrame({"id": ids * 2, "correct": correct * 2, "resample": [0] * 12 + [1] * 12})
    spec = {"model": "m", "dataset": "arc", "measure": "human_grade", "title": "ARC Grade"}
    data = build([(spec, pred, table)])
    levels = data[data["scope"] == "level"].set_index("value")
    assert levels.loc["easy", "accuracy"] == pytest.approx(500 / 6)
    assert levels.loc["hard", "accuracy"] == pytest.approx(100 / 6)
    assert (levels["n_items"] == 6).all() and (levels["ci_low"] < levels["accuracy"]).all()
    assert list(data.loc[data["scope"] == "value", "value"]) == ["3", "4", "5", "8", "9"]
    ax = draw(data, "title").axes[0]
    # every bar names its items, and the 0 % bar (grade 9) says so instead of vanishing
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["3\nn=2", "4\nn=2", "5\nn=2", "8\nn=3", "9\nn=3"]
    assert [t.get_text() for t in ax.texts if t.get_text() == "0 %"] == ["0 %"]


@pytest.mark.parametrize(("error_bars", "label_y"), [(True, 61.0), (False, 41.0)])
def test_bar_values_sit_above_their_whiskers(error_bars, label_y):
    """A value label is never drawn on top of its confidence whisker."""
    import matplotlib.pyplot as plt

    from e2h.plotting import labelled_bars

    frame = pd.DataFrame({"accuracy": [40.0], "ci_low": [20.0], "ci_high": [60.0], "label": ["a"]})
    fig, ax = plt.subplots()
    labelled_bars(ax, frame, ["grey"], error_bars)
    (text,) = ax.texts
    assert text.get_text() == "40.0" and text.get_position()[1] == pytest.approx(label_y)
    assert ax.get_ylim()[1] > label_y
    plt.close(fig)


def test_sgr_labels_stay_inside_panels_with_two_line_titles() -> None:
    """A two-line "1.00 / gap n.s." label over a whisker's top stays inside its axes, also in
    a panel whose two-line title makes it shorter (fig-sgr-by-method-extra's MDL panels)."""
    rows = []
    for panel, high in (
        ("ARC Words", 7.0),
        ("ARC MDL (Linear Probe)\n(MDL from this model)", 15.4),
    ):
        for method in ("ICL", "Linear Probe", "LoRA"):
            rows.append(
                {"panel": panel, "method": method, "sgr": 1.0, "ci_low": -12.8, "ci_high": high,
                 "gap_positive": True, "gap_ci_low": -0.1}
            )  # fmt: skip
    fig = sgr_mod.draw(pd.DataFrame(rows), sgr_mod.TITLE, error_bars=True)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        box = ax.get_window_extent(renderer)
        for text in ax.texts:
            extent = text.get_window_extent(renderer)
            assert box.y0 <= extent.y0 and extent.y1 <= box.y1, (ax.get_title(), text.get_text())
    plt.close(fig)
