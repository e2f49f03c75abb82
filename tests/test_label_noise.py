"""Noisy training labels (fig-noisy-labels): nested, keyed, rates, modes, cells and figure."""

from __future__ import annotations

import copy

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml

from e2h.cells import CellSpec
from e2h.config import ConfigError, validated
from e2h.figures import fig_noisy_labels as fig_mod
from e2h.label_noise import corrupt, item_draws, noisy_labels
from e2h.plan import Plan
from tests.conftest import ROOT

IDS = [f"q{i}" for i in range(400)]


def default_config() -> dict:
    return validated(yaml.safe_load((ROOT / "config.yaml").read_text()))


def test_corruption_by_hand():
    labels = np.array([0, 1, 2, 3])
    n = np.array([4, 4, 4, 4])
    draws = np.array([[0.01, 0.10], [0.50, 0.99], [0.04, 0.60], [0.02, 0.80]])
    # p = 0.05 hits items 0, 2, 3; "any" takes floor(v * 4): 0, 2, 3 -> item 0 and 2 keep gold
    np.testing.assert_array_equal(corrupt(labels, n, draws, 0.05, "any"), [0, 1, 2, 3])
    # "wrong_only" takes the floor(v * 3)-th wrong choice: 0 -> 1; 1 -> (0,1,3)[1] = 1; 2 -> 2
    np.testing.assert_array_equal(corrupt(labels, n, draws, 0.05, "wrong_only"), [1, 1, 1, 2])
    np.testing.assert_array_equal(corrupt(labels, n, draws, 0.0, "any"), labels)


def test_noise_is_nested_across_p_and_keyed_by_item():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, len(IDS))
    n = np.full(len(IDS), 4)
    previous = np.zeros(len(IDS), dtype=bool)
    for p in (0.05, 0.1, 0.2, 0.3, 0.6):
        out, rate = noisy_labels(labels, n, IDS, "mmlu", 0, p, "wrong_only", 0)
        wrong = out != labels
        assert (wrong | ~previous).all()  # every item corrupted before still is, same label
        assert rate == pytest.approx(wrong.mean())
        assert abs(rate - p) < 0.07  # wrong_only: the realised rate is about p
        previous = wrong
    # "any" redraws the gold label a quarter of the time: rate about 0.75 p
    _, rate = noisy_labels(labels, n, IDS, "mmlu", 0, 0.6, "any", 0)
    assert abs(rate - 0.45) < 0.08
    # keyed by item id: a subset of the items gets the same draws
    np.testing.assert_array_equal(
        item_draws("mmlu", 0, IDS[10:20], 0), item_draws("mmlu", 0, IDS, 0)[10:20]
    )
    assert not np.array_equal(item_draws("mmlu", 1, IDS, 0), item_draws("mmlu", 0, IDS, 0))


def test_noise_is_part_of_a_cells_identity_and_clean_cells_keep_their_folders():
    spec = CellSpec("mmlu", "m", "probe", "cloze", "human_hardness", "hard", 80, 4, 30, 0)
    noisy = CellSpec(**{**spec.as_dict(), "noise": 0.1, "noise_mode": "any", "cap_measures": ()})
    assert "noise" not in spec.directory and "noise" not in spec.as_dict()
    assert noisy.directory.endswith("/hard-n80-noise0.1-any/r4-cap30-s0")
    assert CellSpec.from_directory(noisy.directory).path_fields() == noisy.path_fields()
    assert CellSpec.from_dict(noisy.as_dict()) == noisy
    with pytest.raises(ValueError, match="noise_mode"):
        CellSpec(**{**spec.as_dict(), "noise": 0.1, "noise_mode": "flip", "cap_measures": ()})


def test_plan_nests_noise_levels_and_shares_the_clean_cells():
    plan = Plan(default_config())
    panels = plan.outputs["fig-noisy-labels"].params["panels"]
    assert len(panels) == 1 and panels[0]["mode"] == "any"
    arms = panels[0]["arms"]
    assert sorted(arms["easy"]) == [0.0, 0.05, 0.1, 0.2, 0.3]
    assert "noise0.6-any" in arms["hard"][0.3] and "noise0.3-any" in arms["easy"][0.3]
    # the clean points are the learning curves' largest cells (n = 40, 4 resamples)
    curve = plan.outputs["fig-cost-curves"].params["panels"]
    mmlu = next(c for c in curve if c["dataset"] == "mmlu")
    assert arms["easy"][0.0] == mmlu["arms"]["easy"][40]


def test_noise_config_errors_name_the_key():
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    bad = copy.deepcopy(cfg)
    bad["experiments"]["noisy_labels"]["noise"] = [0, 0.3, 0.6]
    with pytest.raises(ConfigError, match=r"hard_factor x max\(noise\) = 1.2"):
        validated(bad)
    bad = copy.deepcopy(cfg)
    bad["experiments"]["noisy_labels"]["measure"] = "num_steps"
    with pytest.raises(ConfigError, match="experiments.noisy_labels.measure"):
        validated(bad)


def _arm(acc: float, rate: float) -> pd.DataFrame:
    ids = [f"c{i}" for i in range(40)]
    k = round(acc * len(ids))
    return pd.DataFrame(
        [
            {"id": i, "resample": r, "correct": j < k, "label_noise_rate": rate}
            for r in range(2)
            for j, i in enumerate(ids)
        ]
    )


def test_figure_points_rates_and_crossover_by_hand():
    levels = pd.Series("hard", index=[f"c{i}" for i in range(40)])
    arms = {
        "easy": {0.0: _arm(0.50, 0.0), 0.1: _arm(0.45, 0.075), 0.2: _arm(0.40, 0.15)},
        "hard": {0.0: _arm(0.55, 0.0), 0.1: _arm(0.45, 0.15), 0.2: _arm(0.30, 0.3)},
    }
    panel = fig_mod.NoisePanel("mmlu", "human_hardness", "any", 2.0, levels, arms, "m", "t")
    data = fig_mod.build([panel], draws=300, base_seed=0)
    pts = data[data["scope"] == "point"].set_index(["source", "p"])
    assert pts.loc[("hard", 0.2), "noise"] == pytest.approx(0.4)
    assert pts.loc[("hard", 0.2), "realised_rate"] == pytest.approx(0.3)
    assert pts.loc[("easy", 0.1), "accuracy"] == pytest.approx(45.0)
    diff = data[data["scope"] == "difference"].set_index("p")["easy_minus_hard"]
    np.testing.assert_allclose(diff.to_numpy(), [-5.0, 0.0, 10.0], atol=1e-9)
    cross = data[data["scope"] == "crossover"].iloc[0]
    assert cross["p"] == 0.1  # easy matches hard from p = 0.1
    fig = fig_mod.draw(data, "title")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[2] == "0.2\nE 15%\nH 30%"
    plt.close(fig)
