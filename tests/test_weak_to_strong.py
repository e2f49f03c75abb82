"""Weak-to-strong beside easy-to-hard (docs/methods.md#weak-to-strong): the supervisor's split,
no gold-label leak, weak labels in every method, PGR on known arms, the confidence loss by hand,
the plan and its validation."""

from __future__ import annotations

import copy
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from e2h import stats
from e2h.cells import SUPERVISOR, CellSpec, splits, supervisor_resample
from e2h.config import ConfigError, schema_defaults, validated
from e2h.figures import fig_sgr_vs_pgr as fig_mod
from e2h.lora import LoraSettings, mc_loss
from e2h.plan import Plan, PlanError
from e2h.probe import fit_probe
from e2h.sampling import first_draws
from e2h.trained import lora_predictions, probe_predictions
from e2h.weak import (
    WeakLabels,
    confidence_targets,
    confidence_weight,
    parse_supervisor,
    soft_cross_entropy,
    supervisor_labels,
)
from tests.conftest import ROOT
from tests.tiny_model import one_thread, tiny, tiny_model_dir, toy_items  # noqa: F401

W2S = {
    "measures": {"arc": ["human_grade"]},
    "supervisor": {"model": "smollm2-135m", "method": "icl", "n": 10},
    "student": "gemma3-270m",
    "methods": {"icl": 10, "probe": 40},
    "confidence": {"methods": ["probe"]},
}


@pytest.fixture
def table() -> pd.DataFrame:
    ids = [f"q{i:03d}" for i in range(400)]
    levels = (["easy"] * 150 + ["medium"] * 100 + ["hard"] * 150)[:400]
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "id": ids,
            "probing": [i % 8 != 0 for i in range(400)],
            "m_level": levels,
            "label_idx": rng.integers(0, 4, 400),
        }
    )


def _supervisor(n: int = 30, reserve: int = 20, seed: int = 0) -> CellSpec:
    return CellSpec("d", "weak", "probe", "p", "m", SUPERVISOR, n, 3, 15, seed, reserve=reserve)


def test_supervisor_split_is_disjoint_deterministic_and_labels_every_student_item(table):
    spec = _supervisor()
    for r in range(spec.resamples):
        split, labelled = supervisor_resample(table, spec, r)
        test = set(split.test_ids) - set(labelled)
        assert len(split.train_ids) == 30 and len(test) == 45  # 15 per level
        students = set()
        for level in ("easy", "hard"):
            for n in (1, 10, 20):  # every student size up to the reserve: nested draws
                students |= set(first_draws(table, "d", "m", level, r, n, sorted(test)))
        assert students == set(labelled)
        assert not set(split.train_ids) & (students | test)  # never a student or test item
        assert set(split.test_ids) == students | test  # it predicts both
        shuffled = table.sample(frac=1, random_state=r)
        assert supervisor_resample(shuffled, spec, r) == (split, labelled)
    assert splits(table, spec)[0] != splits(table, spec)[1]
    assert splits(table, spec) != splits(table, _supervisor(seed=1))


class _Features:
    """A Representations stand-in: random features with the label planted in choice 0's
    first dimension of every item (so a probe can learn it), addressed by id."""

    def __init__(self, table: pd.DataFrame, labels: np.ndarray, dim: int = 6) -> None:
        n = len(table)
        rng = np.random.default_rng(1)
        self.features = rng.normal(size=(n, 4, dim)).astype(np.float32)
        self.features[np.arange(n), labels, 0] += 3.0
        self.mask = np.ones((n, 4), dtype=bool)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.row = {i: k for k, i in enumerate(table["id"])}
        self.prompt_hashes = self.item_hashes = self.target_hashes = ["h"] * n

    def rows(self, ids):
        return np.array([self.row[i] for i in ids], dtype=np.int64)


def _supervise(table: pd.DataFrame, gold: np.ndarray) -> pd.DataFrame:
    spec = _supervisor()
    reps = _Features(table, table["label_idx"].to_numpy())
    reps.labels = gold  # what the probe is told: the features stay those of the true labels
    settings = schema_defaults("experiments", "trained", "probe")
    pred, _ = probe_predictions(reps, reps, splits(table, spec), spec, settings)
    return pred


def test_weak_labels_never_see_the_gold_labels_of_student_or_test_items(table):
    spec = _supervisor()
    pred = _supervise(table, table["label_idx"].to_numpy())
    # scramble the gold labels of every item the supervisor does not train on
    trained = set().union(*(set(s.train_ids) for s in splits(table, spec)))
    scrambled = table["label_idx"].to_numpy().copy()
    others = ~table["id"].isin(trained).to_numpy()
    scrambled[others] = (scrambled[others] + 1) % 4
    again = _supervise(table, scrambled)
    np.testing.assert_array_equal(pred["pred"].to_numpy(), again["pred"].to_numpy())
    # and the student relabelled from them carries the supervisor's labels, gold kept aside
    weak = WeakLabels(pred)
    _, labelled = supervisor_resample(table, spec, 0)
    items = table.set_index("id").loc[labelled].reset_index()
    items["choices"] = [["a", "b", "c", "d"]] * len(items)
    out = weak.relabel(items, 0)
    hard = pred[pred["resample"] == 0].set_index("id").loc[labelled, "pred"].to_numpy()
    np.testing.assert_array_equal(out["label_idx"].to_numpy(), hard)
    np.testing.assert_array_equal(out["gold_label_idx"].to_numpy(), items["label_idx"].to_numpy())
    assert list(out["answer_text"]) == [["a", "b", "c", "d"][k] for k in hard]
    assert 0.3 < weak.accuracy(0, labelled) < 1.0  # weak: better than chance, not gold
    with pytest.raises(KeyError, match="no weak label for 1 training item"):
        weak.hard(0, splits(table, spec)[0].train_ids[:1])  # its own training item


def test_a_weak_label_probe_trains_on_the_supervisors_labels(table):
    ids = list(table["id"])
    reps = _Features(table, table["label_idx"].to_numpy())
    spec = CellSpec("d", "strong", "probe", "p", "m", "hard", 40, 1, 15, 0)
    weak_spec = CellSpec(
        "d", "strong", "probe", "p", "m", "hard", 40, 1, 15, 0, labels="weak_w_probe_n30"
    )
    split = [splits(table, spec)[0]]
    train = split[0].train_ids
    flipped = (table.set_index("id").loc[train, "label_idx"].to_numpy() + 1) % 4
    sup = pd.DataFrame({"id": train, "resample": 0, "pred": flipped, "label_idx": 0})
    settings = schema_defaults("experiments", "trained", "probe")
    gold, _ = probe_predictions(reps, reps, split, spec, settings)
    weak, fits = probe_predictions(reps, reps, split, weak_spec, settings, WeakLabels(sup))
    assert fits[0]["weak_label_accuracy"] == pytest.approx(
        float((flipped == 0).mean())
    )  # against the "gold" column of the supervisor's frame
    assert gold["correct"].mean() > 0.8 > weak["correct"].mean()  # every label was wrong
    with pytest.raises(ValueError, match="none were given"):
        probe_predictions(reps, reps, split, weak_spec, settings)
    assert ids  # the table is untouched
    assert (table["label_idx"] >= 0).all()


def test_pgr_on_known_arms_and_the_supervisors_labels_are_not_its_test():
    n = 40
    ids = [f"t{i}" for i in range(n)]
    levels = pd.Series("hard", index=ids + ["s0", "s1"])

    def arm(correct: int, extra: dict | None = None) -> pd.DataFrame:
        rows = [
            {"id": i, "resample": r, "correct": k < correct}
            for r in (0, 1)
            for k, i in enumerate(ids)
        ]
        for i, c in (extra or {}).items():  # rows the supervisor predicts for students only
            rows += [{"id": i, "resample": r, "correct": c} for r in (0, 1)]
        return pd.DataFrame(rows)

    preds = {
        "unsup": arm(8),  # 0.2
        "easy": arm(20),  # 0.5
        "hard": arm(28),  # 0.7 (the ceiling)
        "weak": arm(12, {"s0": True, "s1": True}),  # 0.3 on tests; its labels do not count
        "w2s": arm(24),  # 0.6
        "easy_weak": arm(16),  # 0.4
    }
    spec = {
        "dataset": "arc", "measure": "human_grade", "method": "probe",
        "method_label": "Linear Probe", "confidence": False, "student": "s",
        "supervisor": "w", "preds": preds, "levels": levels,
    }  # fmt: skip
    row = fig_mod.build([spec], 2000, 0, purpose="test").iloc[0]
    assert row["weak"] == pytest.approx(0.3) and row["hard"] == pytest.approx(0.7)
    assert row["sgr"] == pytest.approx((0.5 - 0.2) / (0.7 - 0.2))
    assert row["pgr"] == pytest.approx((0.6 - 0.3) / (0.7 - 0.3))  # 0.75
    assert row["pgr_easy_weak"] == pytest.approx((0.4 - 0.3) / (0.7 - 0.3))
    assert row["sgr_easy_weak"] == pytest.approx((0.4 - 0.2) / (0.7 - 0.2))
    assert row["pgr_ci_low"] < 0.75 < row["pgr_ci_high"] and row["pgr_gap_positive"]
    assert row["supervisor_accuracy_labelled"] == 1.0 and row["n_items"] == n
    # a supervisor as good as the ceiling leaves no gap: no PGR, said so
    preds["weak"] = arm(28)
    frame = fig_mod.build([spec], 500, 0, purpose="test")
    row = frame.iloc[0]
    assert not row["pgr_gap_positive"] and math.isnan(row["pgr"])
    assert "no gap" in fig_mod.table(frame)["PGR"].iloc[0]
    fig = fig_mod.draw(frame)  # accuracies above, ratios below; "no gap" written, not drawn
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert len(fig.axes) == 2 and "no\ngap" in texts and f"{row['sgr']:.2f}" in texts
    plt.close(fig)


def test_confidence_loss_by_hand():
    probs = torch.tensor([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8]])
    labels = torch.tensor([1, 0, 1, 1])
    mask = torch.ones(4, 2, dtype=torch.bool)
    # weak share of choice 1 is 0.75: the threshold is the 0.75-quantile of p(choice 0),
    # 0.6 + 0.25 * (0.9 - 0.6) = 0.675, so only item 0 hardens to choice 0
    target = confidence_targets(probs, labels, mask, 0.5)
    expected = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.0, 1.0], [0.0, 1.0]])
    torch.testing.assert_close(target, expected)
    loss = soft_cross_entropy(torch.log(probs), target, mask)
    by_hand = -(
        0.5 * math.log(0.9) + 0.5 * math.log(0.1) + 0.5 * math.log(0.6) + 0.5 * math.log(0.4)
        + math.log(0.7) + math.log(0.8)
    ) / 4  # fmt: skip
    assert float(loss) == pytest.approx(by_hand, rel=1e-6)
    # more choices: the student's argmax, padded slots never chosen
    probs3 = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.0]])
    mask3 = torch.tensor([[True, True, True], [True, True, False]])
    t3 = confidence_targets(probs3, torch.tensor([0, 1]), mask3, 1.0)
    torch.testing.assert_close(t3, torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]))
    assert confidence_weight(0.1, 0.75, 0.2) == pytest.approx(0.375)
    assert confidence_weight(0.5, 0.75, 0.2) == 0.75 == confidence_weight(0.0, 0.75, 0.0)


def test_confidence_loss_at_weight_zero_is_the_plain_probe(table):
    reps = _Features(table, table["label_idx"].to_numpy())
    settings = schema_defaults("experiments", "trained", "probe")
    items = np.arange(60)
    plain = fit_probe(reps.features, reps.mask, reps.labels, seed=3, items=items, **settings)
    zero = fit_probe(
        reps.features, reps.mask, reps.labels, seed=3, items=items, confidence=(1e-12, 0.2),
        **settings,
    )  # fmt: skip
    np.testing.assert_allclose(zero.weight, plain.weight, atol=1e-5)
    full = fit_probe(
        reps.features, reps.mask, reps.labels, seed=3, items=items, confidence=(0.75, 0.2),
        **settings,
    )  # fmt: skip
    assert not np.allclose(full.weight, plain.weight, atol=1e-3)


def test_lora_trains_on_weak_labels_with_the_confidence_loss(tiny, tmp_path):  # noqa: F811
    model, tok = tiny
    table = toy_items(12)
    ids = list(table["id"])
    from e2h.sampling import Split

    split = [Split(ids[:4], ids[8:12])]
    wrong = (table["label_idx"].to_numpy()[:4] + 1) % table["choices"].map(len).to_numpy()[:4]
    sup = pd.DataFrame(
        {"id": ids[:4], "resample": 0, "pred": wrong, "label_idx": table["label_idx"][:4]}
    )
    spec = CellSpec(
        "arc", "tiny", "lora_mc", "0040", "any", "all", 4, 1, None, 0,
        labels="weak_w_probe_n4", confidence=0.5,
    )  # fmt: skip
    fast = LoraSettings.from_config({"lr": 5e-3, "min_steps": 3, "epochs": 1, "items_per_step": 4})
    pred, logs = lora_predictions(
        model, tok, table, table, split, spec, ["q_proj", "v_proj"], fast, 8, 1024, tmp_path,
        weak=WeakLabels(sup), confidence_settings={"warmup": 0.5},
    )  # fmt: skip
    assert logs[0]["weak_label_accuracy"] == 0.0 and len(pred) == 4
    assert (pred["labels"] == "weak_w_probe_n4").all() and (pred["confidence"] == 0.5).all()
    items = WeakLabels(sup).relabel(table.iloc[:4], 0)
    plain = float(mc_loss(model, tok, items, "0040", 1024))
    mixed = float(mc_loss(model, tok, items, "0040", 1024, confidence_coef=0.0))
    assert mixed == pytest.approx(plain, rel=1e-5)


def test_supervisor_names_round_trip():
    assert parse_supervisor(supervisor_labels("smollm2-135m", "lora_mc", 80)) == (
        "smollm2-135m", "lora_mc", 80,
    )  # fmt: skip
    spec = CellSpec("arc", "g", "probe", "cloze", "m", "hard", 8, 2, 45, 0,
                    labels="weak_smollm2-135m_lora_mc_n80", confidence=0.75)  # fmt: skip
    assert CellSpec.from_directory(spec.directory) == spec
    assert spec.directory.endswith("hard-n8-weak_smollm2-135m_lora_mc_n80-conf0.75/r2-cap45-s0")
    with pytest.raises(ValueError, match="weak_<model>"):
        CellSpec("arc", "g", "probe", "cloze", "m", "hard", 8, 2, 45, 0, labels="gold")


def _config(**w2s) -> dict:
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["experiments"]["weak_to_strong"] = {**copy.deepcopy(W2S), **w2s}
    return cfg


def test_the_plan_adds_the_panels_cells_and_nothing_else_changes():
    without = yaml.safe_load((ROOT / "config.yaml").read_text())
    without["experiments"]["weak_to_strong"] = None
    base = Plan(validated(without))
    plan = Plan(validated(_config()))
    assert set(base.cells) < set(plan.cells)  # every existing cell is kept, unchanged
    new = [plan.cells[d] for d in set(plan.cells) - set(base.cells)]
    sup = [s for s in new if s.is_supervisor]
    assert len(sup) == 1 and sup[0].model == "smollm2-135m" and sup[0].method == "icl"
    students = [s for s in new if not s.is_supervisor]
    assert {s.model for s in students} == {"gemma3-270m"}
    # icl: easy/hard gold + weak; probe: the same + the two confidence-loss students
    assert len(students) == 4 + 6
    assert sum(s.confidence > 0 for s in students) == 2
    weak_inputs = plan.group_inputs(plan.groups["arc/gemma3-270m/probe-w2s"])["weak_labels"]
    assert weak_inputs == [f"{sup[0].directory}/predictions.parquet"]
    assert {"tab-sgr-vs-pgr", "fig-sgr-vs-pgr"} <= set(plan.outputs)
    # switching the experiment on adds jobs and changes no existing one
    for folder, group in base.groups.items():
        assert plan.group_params(plan.groups[folder]) == base.group_params(group), folder
    rows = plan.outputs["tab-sgr-vs-pgr"].params["panels"]
    assert [r["method_label"] for r in rows] == ["ICL", "Linear Probe", "Linear Probe + conf. loss"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"student": "smollm2-135m"}, "must be another"),
        ({"methods": {"lora_cot": 8}}, "lora_cot"),
        ({"measures": {"gsm8k": ["num_steps"]}}, "gsm8k does not run 'icl'"),
        ({"confidence": {"methods": ["lora_mc"]}}, "not a student method"),
        ({"measures": {"arc": ["no_such_measure"]}}, "no level rule"),
        ({"student": "unregistered"}, "not in the model registry"),
    ],
)
def test_bad_weak_to_strong_configs_name_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        validated(_config(**change))


def test_a_supervisor_is_found_for_every_weak_student():
    plan = Plan(validated(_config()))
    student = next(s for s in plan.cells.values() if s.weak)
    other = CellSpec(**{**student.as_dict(), "labels": "weak_other_icl_n3",
                        "cap_measures": student.cap_measures})  # fmt: skip
    with pytest.raises(PlanError, match="no configured supervisor"):
        plan.weak_supervisor_of(other)
    assert stats.ZERO_GAP > 0  # the "no gap" threshold the figure uses
