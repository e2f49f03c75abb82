"""Hidden-state features for the linear probe (docs/methods.md#linear-probe)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from e2h.hidden_states import (
    extract_hidden_states,
    last_token_index,
    load_hidden_states,
    probe_layers,
)
from e2h.prompts import build_prompts
from tests.tiny_model import build_tiny, one_thread, toy_items  # noqa: F401  (fixtures)


def test_probe_layers():
    assert probe_layers(30) == (16, 30)
    assert probe_layers(32) == (17, 32)
    assert probe_layers(80) == (41, 80)


def test_last_token_index_both_sides():
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]])
    assert last_token_index(left).tolist() == [3, 3]
    assert last_token_index(right).tolist() == [1, 2]


@pytest.fixture(scope="module")
def four_layer(tmp_path_factory):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = build_tiny(tmp_path_factory.mktemp("tiny4") / "m", layers=4, seed=1)
    return AutoModelForCausalLM.from_pretrained(d).eval(), AutoTokenizer.from_pretrained(d)


def test_features_layers_padding_and_manifest(four_layer, tmp_path):
    model, tok = four_layer
    items = toy_items(7)
    tok.padding_side = "left"
    man = extract_hidden_states(
        model,
        tok,
        items,
        "0040",
        tmp_path / "left",
        batch_size=4,
        model_info={"model_key": "tiny4", "hub_id": "x/y"},
        progress=False,
    )
    tok.padding_side = "right"
    extract_hidden_states(
        model, tok, items, "0040", tmp_path / "right", batch_size=3, progress=False
    )
    f_left, m_left, manifest = load_hidden_states(tmp_path / "left", verify=True)
    f_right, m_right, _ = load_hidden_states(tmp_path / "right", verify=True)
    assert isinstance(f_left, np.memmap)
    assert man["layers"] == [3, 4] and manifest["shape"] == [7, 5, 64]
    assert manifest["item_ids"] == list(items["id"]) and manifest["model_key"] == "tiny4"
    np.testing.assert_allclose(f_left, f_right, atol=1e-5)
    assert (m_left == m_right).all()
    assert m_left.sum() == sum(len(c) for c in items["choices"])
    assert (f_left[~m_left] == 0).all()
    # reference: one unpadded sequence, entries 3 and 4 of the hidden_states tuple
    p = build_prompts(items.iloc[[2]], None, "0040", tok)[0]
    for j, cont in enumerate(p.continuations):
        x = tok(p.text + cont, return_tensors="pt")
        with torch.no_grad():
            hs = model(**x, output_hidden_states=True).hidden_states
        assert len(hs) == 5
        ref = torch.cat([hs[3][0, -1], hs[4][0, -1]]).numpy()
        np.testing.assert_allclose(f_left[2, j], ref, atol=1e-5)


def test_hash_detects_tampering_and_float16(four_layer, tmp_path):
    model, tok = four_layer
    out = tmp_path / "h"
    extract_hidden_states(model, tok, toy_items(3), "0040", out, dtype="float16", progress=False)
    f, _, man = load_hidden_states(out, verify=True)
    assert f.dtype == np.float16 and man["dtype"] == "float16"
    arr = np.load(out / "features.npy")
    arr[0, 0, 0] += 1
    np.save(out / "features.npy", arr)
    with pytest.raises(ValueError, match="hash"):
        load_hidden_states(out, verify=True)
    load_hidden_states(out, verify=False)
    assert json.loads((out / "manifest.json").read_text())["k"] == 0


def test_packed_and_padded_layouts_give_the_same_features(four_layer, tmp_path, monkeypatch):
    """The packed layout (question once per item, tree mask) equals one padded row per
    choice, the layout used for attention implementations without custom masks."""
    import e2h.hidden_states as hidden

    model, tok = four_layer
    items = toy_items(9)
    extract_hidden_states(model, tok, items, "cloze", tmp_path / "packed", 8, progress=False)
    monkeypatch.setattr(hidden, "_attn_impl", lambda model: "flash_attention_2")
    extract_hidden_states(model, tok, items, "cloze", tmp_path / "padded", 8, progress=False)
    f_packed, m_packed, _ = load_hidden_states(tmp_path / "packed", verify=True)
    f_padded, m_padded, _ = load_hidden_states(tmp_path / "padded", verify=True)
    assert (m_packed == m_padded).all() and m_packed.sum() == sum(map(len, items["choices"]))
    np.testing.assert_allclose(f_packed, f_padded, atol=1e-5)
    assert (np.abs(f_packed[m_packed]).sum(axis=1) > 0).all()  # every real slot was written


def test_zero_shot_pass_scores_and_features_from_one_forward(four_layer, tmp_path):
    """One pass gives the scoring engine's zero-shot predictions and the extraction's
    features (the MDL stage's decoding scores and probe features come from the same tokens)."""
    from e2h.hidden_states import zero_shot_pass
    from e2h.scoring import score_choices

    model, tok = four_layer
    items = toy_items(9)
    pred, manifest = zero_shot_pass(
        model, tok, items, "0040", tmp_path / "pass", 8, model_key="tiny", progress=False
    )
    engine = score_choices(model, tok, items, None, "0040", batch_size=8, progress=False)
    assert list(pred["id"]) == list(engine["id"])
    for ours, theirs in zip(pred["logprobs"], engine["logprobs"], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert (pred["pred"] == engine["pred"]).all()
    np.testing.assert_allclose(pred["label_conf"], engine["label_conf"], atol=1e-4)
    extract_hidden_states(model, tok, items, "0040", tmp_path / "alone", 8, progress=False)
    f_pass, m_pass, _ = load_hidden_states(tmp_path / "pass", verify=True)
    f_alone, m_alone, _ = load_hidden_states(tmp_path / "alone", verify=True)
    assert (m_pass == m_alone).all()
    np.testing.assert_array_equal(f_pass, f_alone)
    assert manifest["item_ids"] == list(items["id"])


def test_zero_shot_pass_reuses_an_earlier_pass_of_the_same_tokens(four_layer, tmp_path):
    """The grid's zero-shot pass copies the items the MDL stage's pass computed (same model,
    prompt hash and choices) and runs the forwards of the others only; the result equals a
    pass over every item, and a zero-shot cell reads its rows from it."""
    from e2h.cells import CellSpec
    from e2h.hidden_states import zero_shot_pass
    from e2h.prompting import from_zero_shot_pass

    model, tok = four_layer
    items = toy_items(9)
    first, _ = zero_shot_pass(
        model, tok, items.iloc[:5], "0040", tmp_path / "mdl", 8, model_key="tiny", progress=False
    )
    first.to_parquet(tmp_path / "mdl.parquet")
    calls = []
    hook = model.model.layers[0].register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    try:
        pred, manifest = zero_shot_pass(
            model, tok, items, "0040", tmp_path / "grid", 8, model_key="tiny", progress=False,
            reuse=(tmp_path / "mdl", tmp_path / "mdl.parquet"),
        )  # fmt: skip
    finally:
        hook.remove()
    assert sum(shape[0] for shape in calls) == 4  # one packed row per new item
    whole, _ = zero_shot_pass(
        model, tok, items, "0040", tmp_path / "whole", 8, model_key="tiny", progress=False
    )
    assert list(pred["id"]) == list(items["id"]) == manifest["item_ids"]
    for ours, theirs in zip(pred["logprobs"], whole["logprobs"], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert list(pred["logprobs"][:5]) == list(first["logprobs"])  # copied, bit for bit
    f_grid, m_grid, _ = load_hidden_states(tmp_path / "grid", verify=True)
    f_whole, m_whole, _ = load_hidden_states(tmp_path / "whole", verify=True)
    assert (m_grid == m_whole).all()
    np.testing.assert_allclose(f_grid, f_whole, atol=1e-5)
    # another prompt: nothing matches, every item runs
    other, _ = zero_shot_pass(
        model, tok, items.iloc[:3], "cloze", tmp_path / "cloze", 8, model_key="tiny",
        progress=False, reuse=(tmp_path / "mdl", tmp_path / "mdl.parquet"),
    )  # fmt: skip
    assert len(other) == 3
    # a zero-shot cell's rows, as the scorer returns them; an item the pass lacks is named
    spec = CellSpec(dataset="arc", model="tiny", method="zs", prompt="0040", measure="any",
                    train="unsup", n=0, resamples=1, cap=None, seed=0)  # fmt: skip
    rows = from_zero_shot_pass(pred, items.iloc[[6, 2]], spec)
    assert list(rows["id"]) == list(items["id"].iloc[[6, 2]])
    assert rows["seed"].tolist() == [0, 0]
    with pytest.raises(ValueError, match="not in the zero-shot pass"):
        from_zero_shot_pass(pred.iloc[:5], items.iloc[[6]], spec)


def test_zero_shot_pass_scores_only_the_items_a_zero_shot_cell_reads(four_layer, tmp_path):
    """Items only probes read get hidden states but no LM head: the pass's rows are the
    scored items', equal to a pass scoring everything, and its features are bit-identical
    (batches of 8 items, so scored items sit at other rows than the first)."""
    from e2h.hidden_states import zero_shot_pass

    model, tok = four_layer
    items = toy_items(9)
    scored = list(items["id"].iloc[[1, 4, 7]])
    head_rows = []
    hook = model.lm_head.register_forward_hook(lambda m, i, o: head_rows.append(i[0].shape[0]))
    try:
        part, _ = zero_shot_pass(
            model, tok, items, "0040", tmp_path / "part", 32, model_key="tiny", progress=False,
            scored_ids=scored,
        )  # fmt: skip
        some = sum(head_rows)
        head_rows.clear()
        whole, _ = zero_shot_pass(
            model, tok, items, "0040", tmp_path / "whole", 32, model_key="tiny", progress=False
        )
        every = sum(head_rows)
    finally:
        hook.remove()
    assert list(part["id"]) == scored
    assert 0 < some < every / 2  # the LM head ran on the scored items' tokens only
    rows = whole.set_index("id").loc[scored]
    for ours, theirs in zip(part["logprobs"], rows["logprobs"], strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    assert list(part["pred"]) == list(rows["pred"])
    f_part, m_part, _ = load_hidden_states(tmp_path / "part", verify=True)
    f_whole, m_whole, _ = load_hidden_states(tmp_path / "whole", verify=True)
    assert (m_part == m_whole).all()
    np.testing.assert_array_equal(f_part, f_whole)
    # a pass only probes read (no zero-shot cell): features, and an empty frame
    none, _ = zero_shot_pass(
        model, tok, items, "0040", tmp_path / "none", 32, model_key="tiny", progress=False,
        scored_ids=[],
    )  # fmt: skip
    assert none.empty and {"id", "logprobs", "correct", "model"} <= set(none.columns)
    f_none, _, _ = load_hidden_states(tmp_path / "none", verify=True)
    np.testing.assert_array_equal(f_none, f_whole)
    with pytest.raises(ValueError, match="not in the pass"):
        zero_shot_pass(
            model, tok, items.iloc[:3], "0040", tmp_path / "bad", 8, progress=False,
            scored_ids=[items["id"].iloc[5]],
        )  # fmt: skip
