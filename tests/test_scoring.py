"""The fast scorer equals the naive full-sequence reference (docs/scoring.md#mc-scoring)."""

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
@pytest.mark.parametrize("prefix_attention", ["shared", "expanded"])
def test_layouts_and_switches(tiny, three_shot, layout, cache, share, prefix_attention):  # noqa: F811
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
        prefix_attention=prefix_attention,
        progress=False,
    )
    assert stats["layout"] == layout
    assert stats["prefix_attention"] == (prefix_attention if layout == "packed" else "expanded")
    assert max_abs_diff(got, ref) <= TOL
    assert model.config._attn_implementation == "sdpa"  # switched back after the call


@pytest.mark.parametrize("kernel", ["cpu_flash", "matmul"])
def test_shared_prefix_attention_equals_full_attention(monkeypatch, kernel):
    """Prefix part + masked new part, merged by log-sum-exp == SDPA over [prefix; new]."""
    import torch
    from torch.nn.functional import scaled_dot_product_attention as sdpa

    from e2h import prefix_attention as pa

    if kernel == "matmul":
        monkeypatch.setattr(pa, "_CPU_FLASH", None)
    g = torch.Generator().manual_seed(0)
    n, kvh, grp, t, p, d = 3, 2, 3, 7, 11, 8
    q = torch.randn(n, kvh * grp, t, d, generator=g)
    k_new, v_new = (torch.randn(n, kvh, t, d, generator=g) for _ in range(2))
    kp, vp = (torch.randn(1, kvh, p, d, generator=g) for _ in range(2))
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool)).expand(n, 1, t, t).clone()
    allowed[1, 0, 5, :3] = False  # a tree-shaped row: a tail that skips earlier tokens

    class Layer:
        layer_idx = 0

    got, _ = pa._attention(Layer(), q, k_new, v_new, allowed, scaling=0.3, e2h_prefix_kv=[(kp, vp)])
    full_mask = torch.cat([torch.ones(n, 1, t, p, dtype=torch.bool), allowed], dim=-1)
    k_all = torch.cat([kp.expand(n, -1, -1, -1), k_new], dim=2).repeat_interleave(grp, dim=1)
    v_all = torch.cat([vp.expand(n, -1, -1, -1), v_new], dim=2).repeat_interleave(grp, dim=1)
    want = sdpa(q, k_all, v_all, attn_mask=full_mask, scale=0.3).transpose(1, 2)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5)


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


def test_benchmark_reports_the_job_limit(tiny_model_dir, tmp_path):  # noqa: F811
    """The benchmark times the engine against plain dense forwards over the job's unique
    tokens, in the same run; the engine must agree with the naive reference."""
    from e2h.benchmark import job_tokens, run_benchmark

    items, demos = toy_items(8), toy_items(3, offset=30)
    result = run_benchmark(
        tiny_model_dir, items, demos, prompt_id="0040", threads=1, batch_size=8,
        max_length=512, engines=("fast", "naive"), fast_repeats=1,
    )  # fmt: skip
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompts = build_prompts(items, demos, "0040", tok, 512)
    unique, scored = job_tokens(tok, prompts)
    naive_tokens = sum(len(tok(p.text + c)["input_ids"]) for p in prompts for c in p.continuations)
    assert result["unique_tokens"] == unique and 0 < unique < naive_tokens / 2
    assert 0 < scored < unique and result["scored_positions"] == scored
    assert result["raw_forward"]["wall_s"] > 0 and result["fast_over_limit"] > 0
    assert result["pairs"][0]["identical_predictions"]


@pytest.fixture(scope="module")
def tiny_sliding(tiny):  # noqa: F811
    """A tiny Gemma 3 (sliding-window and full layers, window 24 tokens) on tiny's tokenizer."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    _, tok = tiny
    torch.manual_seed(0)
    cfg = Gemma3TextConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, sliding_window=24,
        layer_types=["sliding_attention", "full_attention", "sliding_attention"],
        max_position_embeddings=2048, pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
    )  # fmt: skip
    cfg._attn_implementation = "sdpa"
    return Gemma3ForCausalLM(cfg).eval(), tok


@pytest.mark.parametrize("k", [0, 6])
def test_sliding_window_model_scores_with_the_shared_prefix_as_naive(tiny_sliding, data, k):
    """Demonstrations longer than the window: the shared prefix is kept (not a flat fallback),
    its attention applies the window per query position, and every score equals a full
    forward pass with the model's own sliding-window masks."""
    model, tok = tiny_sliding
    items, demos = data
    d = None if k == 0 else demos.head(k)
    prompts = build_prompts(items, d, "0040", tok)
    assert k == 0 or min(len(tok(p.prefix)["input_ids"]) for p in prompts) > 24
    got, stats = sum_logprobs_fast(model, tok, prompts, batch_size=8, progress=False)
    ref = sum_logprobs_naive(model, tok, prompts)
    assert max_abs_diff(got, ref) <= TOL
    if k:
        assert stats["prefix_attention"] == "shared" and stats["n_items_cached"] == len(items)
