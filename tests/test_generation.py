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


def test_resample_sets_share_batches_and_generate_as_alone(tiny, monkeypatch):  # noqa: F811
    """The resamples of a cell (each its own demonstrations) decode in shared batches, one
    block of rows per prefix, and generate exactly what each set generates alone, and what
    transformers' own generate gives without any prefix cache."""
    import e2h.generation as generation

    model, tok = tiny
    items = _yesno(toy_items(5))
    sets = [
        (items, _yesno(toy_items(3, offset=40))),
        (items.iloc[1:4].reset_index(drop=True), _yesno(toy_items(2, offset=60))),
        (items.iloc[:2].reset_index(drop=True), None),  # zero-shot rows in the same batch
    ]
    blocks = []
    real = generation._greedy_cached

    def recording(model, tokenizer, seqs, prefixes, sizes, *args):
        blocks.append(list(sizes))
        return real(model, tokenizer, seqs, prefixes, sizes, *args)

    monkeypatch.setattr(generation, "_greedy_cached", recording)
    together = generation.generate_answer_sets(
        model, tok, sets, "0305", "yesno", 10, batch_size=16, stop=None, progress=False
    )
    assert blocks == [[5, 3, 2]]  # one batch, three prefixes
    blocks.clear()
    for (test, demos), frame in zip(sets, together, strict=True):
        alone = generate_answers(
            model, tok, test, demos, "0305", "yesno", 10, batch_size=16, stop=None, progress=False
        )
        pd.testing.assert_frame_equal(frame, alone)
        plain = generate_answers(
            model, tok, test, demos, "0305", "yesno", 10, stop=None, use_prefix_cache=False,
            progress=False,
        )  # fmt: skip
        assert list(frame["generation"]) == list(plain["generation"])
    assert all(len(b) == 1 for b in blocks)  # alone: one prefix per batch
    assert any(g for f in together for g in f["generation"])


def test_prefix_groups_attention_equals_separate_batches(tiny):  # noqa: F811
    """Two prefixes in one batch (and a block without a stored prefix) give each row the
    hidden states it gets in a batch of its own prefix."""
    from e2h.generation import _decoder
    from e2h.prefix_attention import PrefixGroups, shared_prefix_attention
    from e2h.scoring import prefix_cache

    model, _ = tiny
    torch.manual_seed(0)
    vocab = model.config.vocab_size
    prefixes = [torch.randint(5, vocab, (n,)).tolist() for n in (7, 4)]
    own = torch.randint(5, vocab, (5, 3))
    # rows 0-1 after prefix 0, rows 2-3 after prefix 1, row 4 without one (positions from 0)
    caches = [prefix_cache(model, p) for p in prefixes] + [None]
    start = [7, 7, 4, 4, 0]
    dec = _decoder(model)
    cfg = model.config

    def run(rows, prefix_kv):
        mask = torch.tril(torch.ones(3, 3, dtype=torch.bool))[None, None].expand(len(rows), 1, 3, 3)
        pos = torch.tensor([start[r] for r in rows])[:, None] + torch.arange(3)[None]
        with shared_prefix_attention(cfg), torch.inference_mode():
            return dec(
                input_ids=own[rows], attention_mask=mask, position_ids=pos, use_cache=False,
                e2h_prefix_kv=prefix_kv,
            ).last_hidden_state  # fmt: skip

    together = run([0, 1, 2, 3, 4], PrefixGroups(caches, [2, 2, 1]))
    for g, rows in enumerate(([0, 1], [2, 3], [4])):
        alone = run(rows, PrefixGroups([caches[g]], [len(rows)]))
        torch.testing.assert_close(together[rows], alone, rtol=0, atol=1e-5)
    single = run([0, 1], caches[0])  # the one-prefix form gives the same
    torch.testing.assert_close(together[[0, 1]], single, rtol=0, atol=1e-5)


def test_prefix_cache_keeps_no_autograd_graph(tiny):  # noqa: F811
    """The demonstration prefix's cache is computed without autograd, whatever the caller:
    with it, the cache kept every layer's activations of the prefix alive (2.4 GB for a
    1500-token prefix of SmolLM2-135M)."""
    from e2h.scoring import prefix_cache

    model, _ = tiny
    assert any(p.requires_grad for p in model.parameters())
    with torch.enable_grad():
        kv = prefix_cache(model, list(range(5, 25)))
    for key, value in kv:
        assert key.grad_fn is None and value.grad_fn is None
        assert not key.requires_grad and not value.requires_grad


def test_the_kv_cache_goes_by_the_installed_transformers_keyword(tiny):  # noqa: F811
    """transformers 5 renamed the decoder's ``past_key_values`` to ``cache`` (the old name
    warns and goes in 5.40, inside the ``transformers>=5,<6`` pin): the scorer and the
    generator pass and read the cache under whichever name the installed version takes."""
    import inspect
    import warnings

    from e2h.scoring import _decoder, prefix_cache, with_cache

    model, tok = tiny
    dec = _decoder(model)
    (name,) = with_cache(dec, None)
    assert name in inspect.signature(type(dec).forward).parameters
    items, demos = _yesno(toy_items(2)), _yesno(toy_items(2, offset=40))
    prompts = build_prompts(items, demos, "0305", tok, reserve_tokens=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # a deprecated keyword fails here
        kv = prefix_cache(model, list(range(5, 25)))
        texts = generate_texts(model, tok, prompts, 3, batch_size=2, stop=None, progress=False)
    assert len(kv) == model.config.num_hidden_layers and len(texts) == 2
