"""fig-train-test-gap on synthetic arms: bars per training level, paired differences, plan."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import yaml

from e2h.config import validated
from e2h.figures import fig_train_test_gap as mod
from e2h.panels import Panel
from e2h.plan import Plan
from tests.conftest import ROOT

HARD = [f"h{i}" for i in range(30)]


def arm(acc: float) -> pd.DataFrame:
    k = round(acc * len(HARD))
    return pd.DataFrame(
        [{"id": i, "resample": r, "correct": j < k} for r in range(2) for j, i in enumerate(HARD)]
    )


def test_bars_and_paired_differences_by_hand():
    levels = pd.Series("hard", index=HARD)
    arms = {"unsup": arm(0.2), "easy": arm(0.5), "medium": arm(0.6), "hard": arm(0.4)}
    panel = Panel("arc", "human_grade", levels, arms, model="m", title="ARC Grade Level")
    data = mod.build([panel], draws=300, base_seed=0)
    bars = data[data["scope"] == "bar"].set_index("arm")
    assert list(bars.index) == ["easy", "medium", "hard"]  # no Unsupervised bar
    np.testing.assert_allclose(bars["accuracy"], [50.0, 60.0, 40.0])
    diff = data[data["scope"] == "difference"].set_index("arm")
    np.testing.assert_allclose(diff["accuracy"], [-10.0, 10.0])
    assert (diff["ci_low"] <= diff["accuracy"]).all() and (
        diff["accuracy"] <= diff["ci_high"]
    ).all()
    fig = mod.draw(data, "t")
    assert "Easy − Medium: -10.0" in fig.axes[0].texts[-1].get_text()
    plt.close(fig)


def test_plan_uses_the_grids_three_level_arms():
    plan = Plan(validated(yaml.safe_load((ROOT / "config.yaml").read_text())))
    out = plan.outputs["fig-train-test-gap"]
    titles = [p["title"] for p in out.params["panels"]]
    assert titles == [
        "ARC Grade Level",
        "ARC 1/2/3 Difficulty",
        "ARC Bloom Skill",
        "StrategyQA Num. Reasoning Steps",
        "GSM8k Num. Reasoning Steps",
    ]  # MMLU's binary measure has no medium
    grid = set(plan.outputs["fig-e2h-main"].inputs["cells"])
    assert set(out.inputs["cells"]) <= grid  # no new cells
