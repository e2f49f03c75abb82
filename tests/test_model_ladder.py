"""The model ladder (RQ4 across models): strength table, facet order, cells, config."""

from __future__ import annotations

import copy
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from e2h.config import ConfigError, validated
from e2h.figures import fig_by_model
from e2h.figures import fig_third_grade_to_college_by_method as tgc
from e2h.panels import Panel
from e2h.plan import Plan
from e2h.tables import tab_model_ladder
from tests.conftest import ROOT

IDS = [f"h{i}" for i in range(40)]


def arm(acc: float, ids=IDS) -> pd.DataFrame:
    k = round(acc * len(ids))
    return pd.DataFrame(
        [{"id": i, "resample": r, "correct": j < k} for r in range(2) for j, i in enumerate(ids)]
    )


def write(tmp_path: Path, name: str, frame: pd.DataFrame) -> str:
    path = tmp_path / f"{name}.parquet"
    frame.to_parquet(path)
    return str(path)


def test_strength_is_mean_accuracy_above_chance_and_orders_weakest_first(tmp_path):
    # "big" is better on MMLU but worse on StrategyQA: mean above chance decides
    accuracies = {
        "big": {"mmlu": 0.45, "strategyqa": 0.5},
        "small": {"mmlu": 0.3, "strategyqa": 0.6},
    }
    cells = {
        model: {d: write(tmp_path, f"{model}-{d}", arm(a)) for d, a in by_dataset.items()}
        for model, by_dataset in accuracies.items()
    }
    frame = tab_model_ladder.build(cells, draws=200, base_seed=0)
    strength = frame.drop_duplicates("model").set_index("model")["strength"]
    assert strength["big"] == pytest.approx((20 + 0) / 2)
    assert strength["small"] == pytest.approx((5 + 10) / 2)
    assert tab_model_ladder.ladder_order(frame) == ["small", "big"]
    big = frame[frame["model"] == "big"].set_index("dataset")
    assert big.loc["mmlu", "vs_weaker"] == "small"
    assert big.loc["mmlu", "diff"] == pytest.approx(15.0)
    assert big.loc["strategyqa", "diff"] == pytest.approx(-10.0)
    assert big.loc["mmlu", "diff_ci_low"] < 15 < big.loc["mmlu", "diff_ci_high"]
    assert frame.loc[frame["model"] == "small", "vs_weaker"].isna().all()
    shown = tab_model_ladder.display(frame)
    assert list(shown["Model"]) == ["small", "big"] and "30.0 [" in shown.iloc[0]["MMLU-STEM-5"]
    assert "(+15.0 [" in shown.iloc[1]["MMLU-STEM-5"]


def test_strength_weights_each_dataset_by_its_items(tmp_path):
    """A 10-item dataset cannot outvote a 40-item one: "big" is 10 points better on 40 ARC
    items and 20 points worse on 10 MMLU items, stronger over the 50 items (+4 points), though
    the unweighted mean of the two datasets would rank it weaker (-5)."""
    accuracies = {"big": {"arc": 0.6, "mmlu": 0.3}, "small": {"arc": 0.5, "mmlu": 0.5}}
    cells = {
        model: {
            d: write(tmp_path, f"{model}-{d}", arm(a, ids=IDS if d == "arc" else IDS[:10]))
            for d, a in by_dataset.items()
        }
        for model, by_dataset in accuracies.items()
    }
    frame = tab_model_ladder.build(cells, draws=200, base_seed=0)
    strength = frame.drop_duplicates("model").set_index("model")["strength"]
    assert strength["big"] == pytest.approx((40 * 35 + 10 * 5) / 50)
    assert strength["small"] == pytest.approx((40 * 25 + 10 * 25) / 50)
    assert tab_model_ladder.ladder_order(frame) == ["small", "big"]


def test_models_on_different_items_are_refused(tmp_path):
    cells = {
        "a": {"mmlu": write(tmp_path, "a", arm(0.4))},
        "b": {"mmlu": write(tmp_path, "b", arm(0.4, ids=IDS[:30]))},
    }
    with pytest.raises(ValueError, match="b's zero-shot items on mmlu differ"):
        tab_model_ladder.build(cells, draws=50, base_seed=0)


def test_by_model_facets_follow_the_ladder_and_say_when_there_is_no_gap():
    levels = pd.Series("hard", index=IDS)
    panels = [
        Panel("mmlu", "human_hardness", levels,
              {"unsup": arm(0.3), "easy": arm(0.4), "hard": arm(0.5)}, "big", "big"),
        Panel("mmlu", "human_hardness", levels,
              {"unsup": arm(0.3), "easy": arm(0.35), "hard": arm(0.25)}, "small", "small"),
    ]  # fmt: skip
    data = fig_by_model.build(panels, ["small", "big"], 300, 0, "fig-scaling")
    assert list(dict.fromkeys(data["model"])) == ["small", "big"]
    big = data[data["model"] == "big"].iloc[0]
    assert big["sgr"] == pytest.approx(0.5) and big["ladder_rank"] == 2
    assert big["sgr_ci_low"] <= 0.5 <= big["sgr_ci_high"]
    small = data[data["model"] == "small"].iloc[0]
    assert not small["gap_positive"] and np.isnan(small["sgr"])
    fig = fig_by_model.draw(data, "t")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("small\nno gap to recover") and "SGR 0.50 [" in titles[1]
    plt.close(fig)
    with pytest.raises(KeyError, match="not in tab-model-ladder"):
        fig_by_model.build(panels, ["big"], 50, 0, "fig-scaling")


def test_third_grade_to_college_by_model_in_ladder_order():
    sources = ["unsup", "arc_grade3", "arc_grade8", "mmlu_hs", "mmlu_college"]
    preds = {m: {s: arm(0.3 + 0.05 * i) for i, s in enumerate(sources)} for m in ("a", "b")}
    data = tgc.build(preds, 100, 0, facet="model", order=["b", "a"])
    assert list(dict.fromkeys(data["facet"])) == ["b", "a"] and len(data) == 10
    fig = tgc.draw(data, title=tgc.MODEL_TITLE)
    assert [ax.get_title() for ax in fig.axes] == ["b", "a"]
    plt.close(fig)


def default() -> dict:
    return validated(yaml.safe_load((ROOT / "config.yaml").read_text()))


def test_plan_runs_the_ladder_on_the_grids_items():
    plan = Plan(default())
    assert plan.ladder == ["smollm2-135m", "gemma3-270m"]
    zs = plan.outputs["tab-model-ladder"].params["cells"]
    assert set(zs) == set(plan.ladder) and set(zs["gemma3-270m"]) == set(plan.grid_datasets())
    small = plan.cell(str(Path(zs["smollm2-135m"]["arc"]).parent))
    big = plan.cell(str(Path(zs["gemma3-270m"]["arc"]).parent))
    # the same cell but for the model: the same test items
    assert {**small.as_dict(), "model": ""} == {**big.as_dict(), "model": ""}
    sqa = plan.outputs["fig-strategyqa-by-model"].params["panels"]
    assert [p["model"] for p in sqa] == plan.ladder
    easy = plan.cell(str(Path(sqa[0]["arms"]["easy"]).parent))
    assert easy.n == 4 and easy.method == "icl_cot"
    # the grid's StrategyQA cells keep k = 8: fig-e2h-main is unchanged
    main = plan.outputs["fig-e2h-main"].params["panels"]
    grid = next(p for p in main if p["dataset"] == "strategyqa")
    assert plan.cell(str(Path(grid["arms"]["easy"]).parent)).n == 8
    by_model = plan.outputs["fig-third-grade-to-college-by-model"].params["cells"]
    assert list(by_model) == plan.ladder and len(by_model["gemma3-270m"]) == 5
    scaling = plan.outputs["fig-scaling"].inputs
    assert scaling["ladder"] == "results/tables/tab-model-ladder.csv"


def test_ladder_by_model_list_and_errors():
    cfg = yaml.safe_load((ROOT / "workflow/configs/paper.yaml").read_text())
    plan = Plan(validated(cfg))
    assert [p["model"] for p in plan.outputs["fig-scaling"].params["panels"]] == [
        "llama2-7b", "llama2-13b", "llama2-70b",
    ]  # fmt: skip
    assert list(plan.outputs["fig-third-grade-to-college-by-model"].params["cells"]) == [
        "llama2-70b", "llama2-70b-chat", "mixtral-8x7b", "qwen-72b",
    ]  # fmt: skip
    assert len(plan.outputs["tab-model-ladder"].params["cells"]) == 6
    bad = yaml.safe_load((ROOT / "config.yaml").read_text())
    bad2 = copy.deepcopy(bad)
    bad["experiments"]["ladder"]["models"] = ["smollm2-135m", "gemma-9000"]
    with pytest.raises(ConfigError, match="'gemma-9000' is not in the model registry"):
        validated(bad)
    bad2["experiments"]["ladder"]["models"] = ["smollm2-135m", "smollm2-135m"]
    with pytest.raises(ConfigError, match="ladder.models.*lists a model twice"):
        validated(bad2)
