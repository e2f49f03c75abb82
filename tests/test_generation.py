"""Greedy CoT generation with a cached demonstration prefix (docs/scoring.md#cot-generation)."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import torch

from e2h.generation import generate_answers, generate_texts
from e2h.prompts import build_prompts
from tests.tiny_model import one_thread, tiny, tiny_model_dir, toy_items  # noqa: F401  (fixtures)


def _yesno(items):
    items = items.copy()
    items["choices"] = [["yes", "no"]] * len(items)
    items["label_idx"] = [i % 2 for i in range(len(items))]
    items["answer_text"] = ["yes" if i % 2 == 0 else "no" for i in range(len(items))]
    return items


def test_cached_equals_transformers_generate(tiny):  # noqa: F811
    model, tok = tiny
    items, demos = _yesno(toy_items(5)), _yesno(toy_items(3, offset=40))
    prompts = build_prompts(items, demos, "0305", tok, reserve_tokens=12)
    fast = generate_texts(model, tok, prompts, 12, batch_size=3, stop=None, progress=False)
    plain = generate_texts(
        model, tok, prompts, 12, batch_size=2, stop=None, use_prefix_cache=False, progress=False
    )
    assert fast == plain
    for p, text in zip(prompts[:2], fast[:2], strict=True):
        x = tok(p.text, return_tensors="pt")
        g = model.generate(**x, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
        assert text == tok.decode(g[0, x["input_ids"].shape[1] :], skip_special_tokens=True)


def _forced(model, tok, text):
    """A copy of the model whose LM head always prefers the token(s) of ``text``."""
    m = copy.deepcopy(model)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    head = torch.nn.Linear(m.config.hidden_size, m.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[ids[0]] = 10.0
    m.lm_head = head
    return m


def test_stop_string_and_eos(tiny):  # noqa: F811
    model, tok = tiny
    items = _yesno(toy_items(2))
    prompts = build_prompts(items, None, "0305", tok)
    nl = _forced(model, tok, "\n")
    texts = generate_texts(nl, tok, prompts, 20, stop="\n\n", progress=False)
    assert texts == ["", ""]
    eos = _forced(model, tok, "</s>")
    assert generate_texts(eos, tok, prompts, 20, stop=None, progress=False) == ["", ""]
    no_stop = generate_texts(nl, tok, prompts, 5, stop="\n\nQ:", progress=False)
    assert no_stop == ["\n" * 5] * 2


def test_generate_answers_frame(tiny, monkeypatch):  # noqa: F811
    model, tok = tiny
    items, demos = _yesno(toy_items(4)), _yesno(toy_items(2, offset=40))
    import e2h.generation as gen

    canned = iter(
        [
            "Facts. So the answer is yes\n\nQ: next",
            "so the answer is no.",
            "rambling",
            "The answer is yes",
        ]
    )
    monkeypatch.setattr(
        gen,
        "generate_texts",
        lambda *a, **k: [gen._cut(next(canned), gen.STOP)[0] for _ in range(4)],
    )
    df = generate_answers(
        model, tok, items, demos, "0305", "yesno", 30, model_key="tiny", seed=1, progress=False
    )
    assert [None if pd.isna(x) else x for x in df["pred"]] == ["yes", "no", None, "yes"]
    assert list(df["correct"]) == [True, True, False, False]
    assert list(df["invalid"]) == [False, False, True, False]
    assert df["generation"].iloc[0] == "Facts. So the answer is yes"
    assert df.attrs["params"]["invalid_rate"] == pytest.approx(0.25)
    assert (df["k"] == 2).all() and (df["model"] == "tiny").all()


def test_generate_numbers_zero_shot_runs(tiny):  # noqa: F811
    model, tok = tiny
    items = toy_items(3)
    items["choices"] = [["18"], ["-5"], ["1,000"]]
    items["answer_text"] = ["18", "-5", "1,000"]
    items["label_idx"] = 0
    df = generate_answers(model, tok, items, None, "5305", "number", 8, progress=False)
    assert len(df) == 3 and df["invalid"].all() and not df["correct"].any()


def test_shared_prefix_attention_equals_expanded_cache(tiny, monkeypatch):  # noqa: F811
    """Decoding on CPU attends to the one stored demonstration prefix; it generates exactly
    what the prefix expanded into every row's cache generates."""
    import e2h.generation as generation

    model, tok = tiny
    items, demos = _yesno(toy_items(6)), _yesno(toy_items(3, offset=40))
    prompts = build_prompts(items, demos, "0305", tok, reserve_tokens=16)
    assert generation._shared_prefix(model)
    shared = generate_texts(model, tok, prompts, 16, batch_size=4, stop=None, progress=False)
    monkeypatch.setattr(generation, "_shared_prefix", lambda model: False)
    expanded = generate_texts(model, tok, prompts, 16, batch_size=4, stop=None, progress=False)
    assert shared == expanded and any(shared)
