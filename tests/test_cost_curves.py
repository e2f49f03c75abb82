"""fig-cost-curves on synthetic learning curves: costs, kept points, Easy − Hard at common costs,
the break-even cost, the drawing; and the plan of the learning-curve cells."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from e2h.config import ConfigError, validated
from e2h.figures import fig_cost_curves as mod
from e2h.plan import Plan
from tests.conftest import ROOT

HARD = [f"h{i}" for i in range(40)]
RULE = {"hard_factor": 2, "min": 20, "max": 80}


def cell(acc: float, resamples: int = 2) -> pd.DataFrame:
    """Predictions on the 40 hard test items, the first ``acc`` share correct."""
    k = round(acc * len(HARD))
    return pd.DataFrame(
        [
            {"id": i, "resample": r, "correct": j < k}
            for r in range(resamples)
            for j, i in enumerate(HARD)
        ]
    )


def panel(easy: dict[int, float], hard: dict[int, float]) -> mod.CurvePanel:
    levels = pd.Series("hard", index=HARD)
    arms = {"easy": {n: cell(a) for n, a in easy.items()},
            "hard": {n: cell(a) for n, a in hard.items()}}  # fmt: skip
    return mod.CurvePanel("arc", "human_grade", levels, arms, model="m", title="ARC Grade Level")


def test_points_costs_and_break_even_by_hand():
    p = panel({10: 0.3, 20: 0.4, 40: 0.5, 80: 0.6}, {10: 0.5, 20: 0.5, 40: 0.55, 80: 0.7})
    data = mod.build([p], RULE, draws=300, base_seed=0)
    points = data[data["scope"] == "point"].set_index(["source", "n"])
    assert points.loc[("hard", 40), "cost"] == 80 and points.loc[("easy", 40), "cost"] == 40
    # kept: 20 <= cost <= 80 -> easy n 20, 40, 80; hard n 10, 20, 40
    assert points["kept"].to_dict() == {
        ("easy", 10): False, ("easy", 20): True, ("easy", 40): True, ("easy", 80): True,
        ("hard", 10): True, ("hard", 20): True, ("hard", 40): True, ("hard", 80): False,
    }  # fmt: skip
    assert points.loc[("easy", 40), "accuracy"] == pytest.approx(50.0)
    diff = data[data["scope"] == "difference"].set_index("cost")
    # cost 20: easy n=20 (40 %) vs hard n=10 (50 %); 40: 50 vs 50; 80: 60 vs 55
    np.testing.assert_allclose(diff["easy_minus_hard"].to_numpy(), [-10.0, 0.0, 5.0])
    even = data[data["scope"] == "break_even"].iloc[0]
    assert even["cost"] == 40 and even["compared"] == 3
    assert not even["significant"]  # a difference of 0 has an interval around 0


def test_no_break_even_is_said_and_drawn():
    p = panel({10: 0.1, 20: 0.1, 40: 0.2, 80: 0.2}, {10: 0.5, 20: 0.6, 40: 0.7, 80: 0.8})
    data = mod.build([p], RULE, draws=200, base_seed=0)
    even = data[data["scope"] == "break_even"].iloc[0]
    assert np.isnan(even["cost"]) and mod._note(even) == "easy below hard at every common cost"
    fig = mod.draw(data, "t")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["20", "40", "80"]
    lo, hi = ax.get_ylim()
    kept = data[(data["scope"] == "point") & data["kept"].astype(bool)]
    assert lo <= kept["ci_low"].clip(0).min() and hi >= kept["ci_high"].clip(upper=100).max()
    plt.close(fig)


def test_plan_of_the_learning_curves():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["experiments"]["learning_curves"] = {
        "sizes": [10, 20, 40], "resamples": 3,
        "measures": {"arc": ["human_grade"], "mmlu": ["human_hardness"]},
        "cost": {"hard_factor": 2, "min": 20, "max": None},
    }  # fmt: skip
    cfg["experiments"]["weak_to_strong"] = None  # its probe's n = 80 would set ARC's reserve
    plan = Plan(validated(cfg))
    specs = plan.curve_specs()
    assert [(s["dataset"], s["measure"]) for s in specs] == [
        ("arc", "human_grade"),
        ("mmlu", "human_hardness"),
    ]
    paths = specs[0]["arms"]["hard"]
    assert sorted(paths) == [10, 20, 40]
    spec = plan.cell(paths[40].rsplit("/", 1)[0])
    assert (spec.method, spec.n, spec.resamples, spec.train) == ("probe", 40, 3, "hard")
    assert plan.reserve("arc") == 40 and plan.reserve("gsm8k") == 8  # GSM8k has no curve
    assert plan.outputs["fig-cost-curves-mmlu"].params["panels"] == [specs[1]]
    bad = copy.deepcopy(cfg)
    bad["experiments"]["learning_curves"]["measures"] = {"gsm8k": ["num_steps"]}
    with pytest.raises(ConfigError, match="gsm8k does not run 'probe'"):
        validated(bad)
