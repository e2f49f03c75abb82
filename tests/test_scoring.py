"""The fast scorer equals the naive full-sequence reference (study.md §7.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from e2h.prompts import build_prompts
from e2h.scoring import (
    choice_softmax,
    encode_prompts,
    max_abs_diff,
    score_choices,
    score_choices_naive,
    sum_logprobs_fast,
    sum_logprobs_naive,
)
from tests.tiny_model import one_thread, tiny, tiny_model_dir, toy_items  # noqa: F401  (fixtures)

TOL = 1e-4


@pytest.fixture(scope="module")
def data():
    items = toy_items(12)
    items.loc[3, "choices"] = ["a very long answer " * 6 + "indeed", "no", "yes"]
    items.loc[3, "answer_text"] = items.loc[3, "choices"][items.loc[3, "label_idx"]]
    return items, toy_items(6, offset=100)


@pytest.mark.parametrize("k", [0, 6])
def test_fast_equals_naive(tiny, data, k):  # noqa: F811
    model, tok = tiny
    items, demos = data
    d = None if k == 0 else demos.head(k)
    fast = score_choices(
        model, tok, items, d, "0040", batch_size=8, model_key="tiny", seed=3, progress=False
    )
    ref = score_choices_naive(model, tok, items, d, "0040", model_key="tiny", seed=3)
    assert max_abs_diff(fast["logprobs"], ref["logprobs"]) <= TOL
    assert (fast["pred"] == ref["pred"]).all()
    assert list(fast["id"]) == list(items["id"])
    assert fast.attrs["params"]["n_items_cached"] == len(items)
    assert set(fast["n_choices"]) == {3, 4, 5}
    assert fast[["model", "prompt_id", "k", "seed"]].iloc[0].tolist() == ["tiny", "0040", k, 3]


@pytest.fixture(scope="module")
def three_shot(tiny, data):  # noqa: F811
    model, tok = tiny
    items, demos = data
    prompts = build_prompts(items, demos.head(3), "0040", tok)
    return prompts, sum_logprobs_naive(model, tok, prompts)


@pytest.mark.parametrize("layout", ["packed", "staged"])
@pytest.mark.parametrize("cache,share", [(True, True), (False, True), (True, False)])
def test_layouts_and_switches(tiny, three_shot, layout, cache, share):  # noqa: F811
    model, tok = tiny
    prompts, ref = three_shot
    got, stats = sum_logprobs_fast(
        model,
        tok,
        prompts,
        batch_size=5,
        layout=layout,
        use_prefix_cache=cache,
        share_context=share,
        progress=False,
    )
    assert stats["layout"] == layout
    assert max_abs_diff(got, ref) <= TOL


def test_prompt_0306_yes_no(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(6)
    items["choices"] = [["yes", "no"]] * 6
    items["label_idx"] = [0, 1] * 3
    items["answer_text"] = ["yes", "no"] * 3
    fast = score_choices(model, tok, items.tail(4), items.head(2), "0306", progress=False)
    ref = score_choices_naive(model, tok, items.tail(4), items.head(2), "0306")
    assert max_abs_diff(fast["logprobs"], ref["logprobs"]) <= TOL


def test_boundary_is_one_pass_suffix(tiny):  # noqa: F811
    _, tok = tiny
    items = toy_items(5)
    prompts = build_prompts(items, toy_items(2, offset=9), "0040", tok)
    for p, enc in zip(prompts, encode_prompts(tok, prompts), strict=True):
        for cont, ids, b in zip(p.continuations, enc.full, enc.bounds, strict=True):
            assert ids == tok(p.text + cont, add_special_tokens=False)["input_ids"]
            assert tok.decode(ids[b:]) == cont
            assert ids[: enc.prefix_len] == enc.full[0][: enc.prefix_len]


def test_masked_softmax_and_outputs(tiny, data):  # noqa: F811
    s, p = choice_softmax([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0, -1.0, -1.0]])
    assert np.isneginf(s[0, 3:]).all() and (p[0, 3:] == 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 0.2)
    model, tok = tiny
    items, _ = data
    df = score_choices(model, tok, items, None, "0040", progress=False)
    for _, r in df.iterrows():
        assert len(r["probs"]) == len(r["logprobs"]) == r["n_choices"]
        assert abs(sum(r["probs"]) - 1) < 1e-9
        assert r["label_conf"] == pytest.approx(r["probs"][r["label_idx"]])
        assert r["correct"] == (r["pred"] == r["label_idx"])


def test_batch_size_never_zero_and_deterministic(tiny, data):  # noqa: F811
    model, tok = tiny
    items, demos = data
    a = score_choices(model, tok, items, demos, "0040", batch_size=1, progress=False)
    b = score_choices(model, tok, items, demos, "0040", batch_size=64, progress=False)
    assert max_abs_diff(a["logprobs"], b["logprobs"]) <= TOL


def test_truncation_counted(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(3)
    demos = toy_items(8, offset=30)
    df = score_choices(model, tok, items, demos, "0040", max_length=300, progress=False)
    assert df.attrs["params"]["n_truncated"] == int(df["truncated"].sum()) > 0
    assert (df["n_demos"] < 8).all()
    ref = score_choices_naive(model, tok, items, demos, "0040", max_length=300)
    assert max_abs_diff(df["logprobs"], ref["logprobs"]) <= TOL


def test_rejects_bad_items(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(2)
    with pytest.raises(ValueError, match="unique"):
        score_choices(model, tok, pd.concat([items, items]), None, "0040", progress=False)
    bad = items.copy()
    bad["label_idx"] = 7
    with pytest.raises(ValueError, match="label_idx"):
        score_choices(model, tok, bad, None, "0040", progress=False)
