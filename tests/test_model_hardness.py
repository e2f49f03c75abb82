"""The MDL stage without a model: draws, curves on synthetic features, per-item scores, the
model average, its plan and its config checks (docs/hardness.md#mdl)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
import yaml

from e2h import model_hardness as mh
from e2h.config import ConfigError, validated
from e2h.plan import Plan
from e2h.sampling import drawable, stratum
from tests.conftest import ROOT
from tests.tiny_model import one_thread, tiny, tiny_model_dir  # noqa: F401  (fixtures)

POOL = [f"p{i:03d}" for i in range(60)]
PROBING = [f"q{i:03d}" for i in range(40)]


@pytest.fixture(scope="module")
def default_cfg() -> dict:
    return validated(yaml.safe_load((ROOT / "config.yaml").read_text()))


def test_probing_subset_is_keyed_sorted_and_uncapped_when_null():
    a = mh.probing_subset(PROBING, 10, "arc", 0)
    assert a == mh.probing_subset(list(reversed(PROBING)), 10, "arc", 0)  # order-free
    assert len(a) == 10 and a == sorted(a) and set(a) <= set(PROBING)
    assert a != mh.probing_subset(PROBING, 10, "arc", 1)  # the seed changes the draw
    assert mh.probing_subset(PROBING, None, "arc", 0) == sorted(PROBING)
    assert mh.probing_subset(PROBING, 400, "arc", 0) == sorted(PROBING)


def test_curve_draws_are_nested_dev_free_and_the_same_for_every_model():
    draws = mh.curve_draws("arc", PROBING[:5], POOL, [2, 5, 20], 3, dev=10, seed=0)
    for b in range(3):
        dev, stream = mh.pool_stream(POOL, 10, "arc", 0, b)
        assert len(dev) == 10 and not set(dev) & set(stream) and len(stream) == 50
        assert draws.streams[b] == stream[:20]
        small, mid = draws.train_ids(b, 0), draws.train_ids(b, 1)
        assert mid[:2] == small and len(mid) == 5  # nested: 2 ⊂ 5 ⊂ 20
        assert draws.block_ids(b, 1) == stream[5:20]  # block coded by the 5-item model
    assert draws.streams[0] != draws.streams[1]  # resamples draw other streams
    assert set(draws.all_ids()) == set(PROBING[:5]) | {i for s in draws.streams for i in s}
    with pytest.raises(ValueError, match="fewer than the largest curve size 60"):
        mh.curve_draws("arc", PROBING, POOL, [5, 60], 1, dev=10, seed=0)


def test_curve_scores_and_online_code_by_hand():
    draws = mh.CurveDraws("arc", (2, 4), ["a", "b"], [["s1", "s2", "s3", "s4"]])
    # the 2-item model: p(gold) 0.5 (a, 4 choices), 0.25 (b, 2 choices); the 4-item model:
    # 0.25, 1.0; the 2-item model codes stream items s3, s4 with p = 0.5 and 0.25
    curve = mh.Curve(draws, np.array([[[0.5, 0.25], [0.25, 1.0]]]), [[np.array([0.5, 0.25])]])
    k = pd.Series({"a": 4, "b": 2, "s1": 4, "s2": 4, "s3": 2, "s4": 4})
    scores = mh.curve_scores(curve, k, "learned").set_index("id")
    np.testing.assert_allclose(scores["mdl_learned"], [1 - 0.375, 1 - 0.625])
    np.testing.assert_allclose(scores["mdl_logloss_learned"], [1.5, 1.0])
    np.testing.assert_allclose(scores["mdl_preq_learned"], [(4 + 2) / 4, (2 + 4) / 4])
    online = mh.online_codes(curve, k).iloc[0]
    # first block uniform: 2 + 2 bits; block 2: -log2 0.5 - log2 0.25 = 3 bits
    assert online["online_bits"] == pytest.approx(7.0)
    assert online["uniform_bits"] == pytest.approx(2 + 2 + 1 + 2)
    assert online["compression"] == pytest.approx(7 / 7)
    frame = curve.long_frame()
    assert len(frame) == 2 * 2 + 2  # probing rows per size, stream rows of the one block
    assert set(frame["role"]) == {"probing", "stream"}


def test_decoding_scores_and_gold_nll():
    pred = pd.DataFrame(
        {
            "id": ["x", "y"],
            "label_idx": [0, 1],
            "label_conf": [0.5, 0.125],
            "logprobs": [[-1.5, -2.0], [-0.1, -3.0]],
        }
    )
    d = mh.decoding_scores(pred, ["y", "x"], nll=False).set_index("id")
    np.testing.assert_allclose(d.loc[["x", "y"], "mdl_decoding"], [0.5, 0.875])
    np.testing.assert_allclose(d.loc[["x", "y"], "mdl_logloss_decoding"], [1.0, 3.0])
    nll = mh.decoding_scores(pred, ["x", "y"], nll=True).set_index("id")
    np.testing.assert_allclose(nll["mdl_nll_decoding"], [1.5, 3.0])


def test_model_average_needs_every_model_and_the_same_items():
    a = pd.DataFrame({"id": ["x", "y"], "mdl_decoding": [0.2, 0.4]})
    b = pd.DataFrame({"id": ["y", "x"], "mdl_decoding": [0.8, 0.6]})
    avg = mh.average_over_models({"a": a, "b": b}, ["a", "b"], ["mdl_decoding"])
    np.testing.assert_allclose(avg.set_index("id").loc[["x", "y"], "mdl_decoding"], [0.4, 0.6])
    with pytest.raises(ValueError, match=r"hardness models \['c'\] have no scores"):
        mh.average_over_models({"a": a, "b": b}, ["a", "b", "c"], ["mdl_decoding"])
    with pytest.raises(ValueError, match=r"scored different items .*\{'a': 1\}, of 1 shared"):
        mh.average_over_models({"a": a, "b": b.iloc[:1]}, ["a", "b"], ["mdl_decoding"])
    c = pd.DataFrame({"id": ["x", "z"], "mdl_decoding": [0.1, 0.9]})
    with pytest.raises(ValueError, match=r"\{'a': 1, 'b': 1, 'c': 1\}, of 1 shared"):
        mh.average_over_models({"a": a, "b": b, "c": c}, ["a", "b", "c"], ["mdl_decoding"])


def test_learned_curve_learns_a_separable_signal_and_is_deterministic():
    """Features that encode the gold choice: the probe's gold probability on held-out probing
    items rises with the training size, so MDL falls; reruns give identical numbers."""
    gen = np.random.default_rng(0)
    ids = POOL + PROBING
    n, c, d = len(ids), 4, 8
    labels = gen.integers(0, c, n)
    feats = gen.normal(size=(n, c, d)).astype(np.float32) * 0.5
    feats[np.arange(n), labels, 0] += 3.0  # the gold choice stands out on one dimension
    mask = np.ones((n, c), dtype=bool)
    rows = {i: r for r, i in enumerate(ids)}
    draws = mh.curve_draws("arc", PROBING, POOL, [2, 8, 40], 2, dev=10, seed=0)
    settings = {"lr": 0.05, "epochs": 50, "l2": 0.1, "lr_floor": 0.1, "clip": 1.0, "max_refits": 2}
    curve = mh.learned_curve(feats, mask, labels, rows, draws, settings, ("arc", "m"), 0)
    by_size = curve.probing.mean(axis=(0, 2))
    assert by_size[-1] > by_size[0] and by_size[-1] > 0.6
    again = mh.learned_curve(feats, mask, labels, rows, draws, settings, ("arc", "m"), 0)
    np.testing.assert_array_equal(curve.probing, again.probing)
    assert [len(b) for b in curve.blocks[0]] == [6, 32]


def test_plan_of_the_mdl_stage(default_cfg):
    plan = Plan(default_cfg)
    assert plan.mdl_variants("arc") == ["decoding", "learned", "finetuned"]
    assert plan.mdl_variants("gsm8k") == ["decoding"]
    assert plan.hardness_table("arc") == "results/hardness/arc/hardness.parquet"
    assert "mdl_decoding" not in plan.human_measures("arc")
    assert (
        plan.mdl_pass_params("gsm8k")["nll"] and plan.mdl_pass_params("gsm8k")["prompt"] == "0306"
    )
    assert plan.mdl_pass_params("arc")["prompt"] == "cloze"  # ARC's zero-shot prompt (config)
    assert set(plan.mdl_pass_params("arc")["curves"]) == {"learned"}  # features for the probe
    # adding a hardness model adds its files to the average; nothing it shares is re-planned
    cfg = copy.deepcopy(default_cfg)
    cfg["models"]["other"] = dict(cfg["models"]["smollm2-135m"])
    cfg["mdl"]["models"].append("other")
    two = Plan(validated(cfg))
    assert set(two.mdl_score_files("arc")) - set(plan.mdl_score_files("arc")) == {
        f"results/mdl/arc/other/{v}.parquet" for v in ("decoding", "learned", "finetuned")
    }
    for d in plan.mdl_datasets():
        assert two.mdl_pass_params(d) == plan.mdl_pass_params(d)
    # without MDL measures the human table is the hardness table and no MDL job exists
    cfg = copy.deepcopy(default_cfg)
    for d in cfg["datasets"].values():
        d["measures"] = {m: r for m, r in d["measures"].items() if not m.startswith("mdl_")}
    for lists in (
        cfg["experiments"]["extra_measures"],
        cfg["experiments"]["trained"]["extra_measures"],
    ):
        for d in lists:
            lists[d] = [m for m in lists[d] if not m.startswith("mdl_")]
    bare = Plan(validated(cfg))
    assert bare.hardness_table("arc") == "results/hardness/arc/human.parquet"
    assert not bare.mdl_datasets() and "tab-mdl-online" not in bare.outputs


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c.pop("mdl"), "model-based measures need an `mdl:` section"),
        (lambda c: c["mdl"].update(models=["nope"]), "mdl.models: 'nope' is not in the model"),
        (
            lambda c: c["datasets"]["arc"].update(hardness_pool=300),
            r"hardness_pool: 300 items, but mdl_learned needs mdl.dev \(100\) \+ .* = 440",
        ),
        (
            lambda c: c["mdl"]["learned"].update(sizes=[20, 5]),
            r"mdl.learned.sizes: \[20, 5\] must be strictly increasing",
        ),
        (
            lambda c: c["datasets"]["mmlu"]["measures"].update(mdl_learned={"rule": "percentile"}),
            "mmlu has no measure 'mdl_learned'",
        ),
    ],
)
def test_bad_mdl_config_is_named(edit, message):
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    edit(cfg)
    with pytest.raises(ConfigError, match=message):
        validated(cfg)


def test_unstratified_draws_take_only_scored_items_when_the_mdl_sample_is_capped():
    table = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "probing": [True, True, True, False],
            "sampled": [True, False, True, False],
            "m_level": ["hard", "hard", "easy", "hard"],
        }
    )
    assert list(drawable(table)) == [True, False, True, False]
    # unstratified draws take the scored sample; a level's stratum every probing item with it
    assert stratum(table, "any", "all") == ["a", "c"] and stratum(table, "m", "hard") == ["a", "b"]
    assert list(drawable(table.drop(columns="sampled"))) == [True, True, True, False]
    assert math.isclose(drawable(table).mean(), 0.5)


def test_a_killed_finetuned_curve_resumes_at_its_first_unfinished_point(
    tiny,  # noqa: F811  (the fixture)
    tmp_path,
    monkeypatch,
):
    """A finished curve point is kept; a killed job redoes only the rest, with the numbers an
    uninterrupted run gives."""
    import e2h.scoring
    from e2h.lora import LoraSettings
    from tests.tiny_model import toy_items

    model, tok = tiny
    items = toy_items(16)
    pool, probing = list(items["id"][:10]), list(items["id"][10:])
    draws = mh.curve_draws("toy", probing, pool, [2, 4], 1, dev=2, seed=0)
    settings = LoraSettings.from_config({"lr": 1e-3, "min_steps": 2, "micro_batch": 2})
    args = (model, tok, items, draws, "cloze", settings, ["q_proj", "v_proj"], 8, 512)
    whole = mh.finetuned_curve(*args, tmp_path / "whole", ("toy", "tiny"), 0)
    real, calls = e2h.scoring.score_choices, []

    def dies_on_the_second_point(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real(*a, **k)

    monkeypatch.setattr(e2h.scoring, "score_choices", dies_on_the_second_point)
    with pytest.raises(KeyboardInterrupt):
        mh.finetuned_curve(*args, tmp_path / "killed", ("toy", "tiny"), 0)
    assert (tmp_path / "killed/r0_n2/gold.parquet").exists()
    assert not (tmp_path / "killed/r0_n4/gold.parquet").exists()
    calls.clear()
    resumed = mh.finetuned_curve(*args, tmp_path / "killed", ("toy", "tiny"), 0)
    assert len(calls) == 1  # only the unfinished point was trained and scored again
    np.testing.assert_allclose(resumed.probing, whole.probing, atol=1e-6)
    np.testing.assert_allclose(resumed.blocks[0][0], whole.blocks[0][0], atol=1e-6)
