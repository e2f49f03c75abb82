"""Prompt templates and assembly (docs/prompts.md#prompt-ids)."""

from __future__ import annotations

import pandas as pd
import pytest

from e2h.prompts import (
    INSTRUCTION_5,
    build_prefix,
    build_prompts,
    continuations,
    format_context,
    format_demonstration,
    get_template,
    n_truncated,
)
from tests.tiny_model import one_thread, tiny_model_dir, toy_items  # noqa: F401  (fixtures)


def _item(**kw):
    base = {
        "id": "x",
        "question": "What is 2+2?",
        "choices": ["3", "4", "5", "22"],
        "label_idx": 1,
        "answer_text": "4",
        "reasoning": "Two plus two is four.",
    }
    base.update(kw)
    return pd.Series(base)


def test_0040_context_and_demo():
    item = _item()
    assert format_context(item, "0040") == (
        "Question: What is 2+2?\nA) 3\nB) 4\nC) 5\nD) 22\nAnswer:"
    )
    assert format_demonstration(item, "0040").endswith("\nAnswer: 4")
    assert continuations(item) == [" 3", " 4", " 5", " 22"]


@pytest.mark.parametrize("n", [3, 4, 5])
def test_letters_follow_choice_count(n):
    item = _item(choices=[f"c{i}" for i in range(n)], label_idx=0, answer_text="c0")
    ctx = format_context(item, "0040")
    letters = [line[0] for line in ctx.split("\n")[1:-1]]
    assert letters == list("ABCDE"[:n])


def test_0306_and_0305():
    item = _item(
        choices=["yes", "no"],
        label_idx=0,
        answer_text="yes",
        question="Is water wet?",
        reasoning="Water makes things wet.",
    )
    assert format_context(item, "0306") == "Q: Is water wet?\nA:"
    assert format_demonstration(item, "0306") == "Q: Is water wet?\nA: yes"
    assert format_demonstration(item, "0305") == (
        "Q: Is water wet?\nA: Water makes things wet. So the answer is yes"
    )
    with pytest.raises(ValueError, match="rationale"):
        format_demonstration(_item(reasoning=None), "0305")


def test_5305_instruction():
    t = get_template("5305")
    assert t.instruction == INSTRUCTION_5
    assert INSTRUCTION_5.startswith("This worksheet contain math word problems.")
    assert (
        "A: Let's think step by step.\n1. [step one]\n2. [step two]\n...\nN. [last step]\n"
        in INSTRUCTION_5
    )
    assert INSTRUCTION_5.endswith("Therefore, the answer is [answer here]\n\nNow you try!\n")
    assert build_prefix([], "5305") == INSTRUCTION_5 + "\n"
    assert get_template(305).prompt_id == "0305"
    with pytest.raises(ValueError, match="unknown prompt id"):
        get_template("1234")


def test_assembly_blank_lines():
    demos = ["Q: a\nA: yes", "Q: b\nA: no"]
    assert build_prefix(demos, "0306") == "Q: a\nA: yes\n\nQ: b\nA: no\n\n"
    assert build_prefix([], "0306") == ""


def test_build_prompts_no_truncation(tiny_model_dir):  # noqa: F811
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    items, demos = toy_items(4), toy_items(3, offset=50)
    prompts = build_prompts(items, demos, "0040", tok)
    assert [p.n_demos for p in prompts] == [3, 3, 3, 3]
    assert len({p.prefix for p in prompts}) == 1
    assert prompts[0].text.startswith(format_demonstration(demos.iloc[0], "0040"))
    assert prompts[0].text.endswith(format_context(items.iloc[0], "0040"))
    assert n_truncated(prompts) == 0


def test_length_limit_drops_demos_then_shortens_question(tiny_model_dir):  # noqa: F811
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    items, demos = toy_items(3), toy_items(6, offset=50)
    full = build_prompts(items, demos, "0040", tok)
    n_tok = len(tok(full[0].text + max(full[0].continuations, key=len))["input_ids"])
    limit = n_tok - 5  # one demonstration too many
    cut = build_prompts(items.head(1), demos, "0040", tok, max_length=limit)[0]
    assert 0 < cut.n_demos < 6 and cut.n_demos_dropped == 6 - cut.n_demos
    assert len(tok(cut.text + max(cut.continuations, key=len))["input_ids"]) + 1 <= limit
    # zero-shot and still too long: the question loses its start, the answer cue stays
    long_item = items.head(1).copy()
    long_item.at[0, "question"] = " ".join(["water energy heat"] * 60) + " final words?"
    row = long_item.iloc[0]
    floor = len(
        tok(format_context(row, "0040", "") + max(continuations(row), key=len))["input_ids"]
    )
    limit = floor + 12
    p = build_prompts(long_item, None, "0040", tok, max_length=limit)[0]
    assert p.question_truncated and p.truncated
    assert p.context.endswith("\nAnswer:") and "final words?" in p.context
    assert len(tok(p.text + max(p.continuations, key=len))["input_ids"]) + 1 <= limit
