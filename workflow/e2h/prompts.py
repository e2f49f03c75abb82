"""Prompt templates and prompt assembly (docs/prompts.md#prompt-ids).

The paper's prompt ids have four digits: instruction, question template, answer-choice
template and label template. The four ids the paper uses exist here, as *clean* templates (no
stray spaces before newlines, docs/defects.md#d-14), plus ``cloze``: the question and
``Answer:`` without the lettered options, the form lm-evaluation-harness uses for ARC, which
small models can answer (docs/prompts.md#cloze). The prompt for a test item is

    [instruction + "\\n"] + [demo_1 + "\\n\\n" + ... + demo_k + "\\n\\n"] + context

and the scored continuation of choice j is ``" " + choice_j``. Everything before the test
context (the *prefix*) is identical for every test item of a cell, which is what lets the
scorer run it once and reuse its key/value cache (``e2h.scoring``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

# Instruction 5 of the original `utils/prompt.py` (used only by prompt 5305, GSM8k zero-shot
# CoT). The grammar slip "contain" is the original's and is kept so prompts match it.
INSTRUCTION_5 = (
    "This worksheet contain math word problems. Here's an example:\n"
    "Q: [question text here].\n"
    "A: Let's think step by step.\n"
    "1. [step one]\n"
    "2. [step two]\n"
    "...\n"
    "N. [last step]\n"
    "Therefore, the answer is [answer here]\n"
    "\n"
    "Now you try!\n"
)

DEMO_SEPARATOR = "\n\n"
COT_LABEL_TEMPLATE = "So the answer is {label}"
LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt id: how to render a demonstration and a test context."""

    prompt_id: str
    instruction: str
    question_prefix: str  # "Question: " or "Q: "
    list_options: bool  # lettered "A) ..." lines after the question
    answer_cue: str  # "\nAnswer:" or "\nA:"
    cot: bool  # demonstrations carry the gold rationale before the label


PROMPTS: dict[str, PromptTemplate] = {
    "0040": PromptTemplate("0040", "", "Question: ", True, "\nAnswer:", False),
    "0306": PromptTemplate("0306", "", "Q: ", False, "\nA:", False),
    "0305": PromptTemplate("0305", "", "Q: ", False, "\nA:", True),
    "5305": PromptTemplate("5305", INSTRUCTION_5, "Q: ", False, "\nA:", True),
    # Not the paper's: 0040 without the option lines. The scored continuation is still the
    # full answer text (" " + choice), so the model must produce the answer, not a letter.
    "cloze": PromptTemplate("cloze", "", "Question: ", False, "\nAnswer:", False),
}


def get_template(prompt_id: str) -> PromptTemplate:
    """The template of a prompt id; a clear error for unknown ids."""
    key = str(prompt_id)
    key = key.zfill(4) if key.isdigit() else key
    if key not in PROMPTS:
        raise ValueError(f"unknown prompt id {prompt_id!r}; known: {sorted(PROMPTS)}")
    return PROMPTS[key]


def option_lines(choices: Sequence[str]) -> str:
    """Lettered option lines, one letter per choice (A..E for 3-5 choices; docs/defects.md#d-4)."""
    if len(choices) > len(LETTERS):
        raise ValueError(f"at most {len(LETTERS)} choices are supported, got {len(choices)}")
    return "".join(f"\n{LETTERS[i]}) {c}" for i, c in enumerate(choices))


def format_context(item: Any, prompt_id: str, question: str | None = None) -> str:
    """The test context of an item: the question block ending with the answer cue.

    ``question`` overrides the item's question text (used for length truncation).
    """
    t = get_template(prompt_id)
    q = item["question"] if question is None else question
    text = f"{t.question_prefix}{q}"
    if t.list_options:
        text += option_lines(list(item["choices"]))
    return text + t.answer_cue


def format_demonstration(item: Any, prompt_id: str) -> str:
    """One demonstration: the context followed by the gold answer (and rationale for CoT)."""
    t = get_template(prompt_id)
    label = str(item["answer_text"])
    if t.cot:
        reasoning = item.get("reasoning") if hasattr(item, "get") else item["reasoning"]
        if reasoning is None or (isinstance(reasoning, float) and pd.isna(reasoning)):
            raise ValueError(f"prompt {t.prompt_id} needs a rationale; item {item['id']} has none")
        return (
            f"{format_context(item, prompt_id)} {str(reasoning).strip()} "
            + COT_LABEL_TEMPLATE.format(label=label)
        )
    return f"{format_context(item, prompt_id)} {label}"


def build_prefix(demonstrations: Sequence[str], prompt_id: str) -> str:
    """Instruction and demonstrations, ending where the test context starts."""
    t = get_template(prompt_id)
    text = t.instruction + "\n" if t.instruction else ""
    if demonstrations:
        text += DEMO_SEPARATOR.join(demonstrations) + DEMO_SEPARATOR
    return text


def continuations(item: Any) -> list[str]:
    """The scored continuation strings: one leading space, then the choice text."""
    return [" " + str(c) for c in item["choices"]]


@dataclass
class BuiltPrompt:
    """The prompt of one test item after the length limit was applied."""

    item_id: str
    prefix: str  # instruction + demonstrations (shared across items with the same n_demos)
    context: str  # the test context, ending with the answer cue
    continuations: list[str] = field(default_factory=list)
    n_demos: int = 0
    n_demos_dropped: int = 0
    question_truncated: bool = False

    @property
    def text(self) -> str:
        """The full prompt (prefix + context)."""
        return self.prefix + self.context

    @property
    def truncated(self) -> bool:
        """Whether the length limit changed anything for this item."""
        return self.n_demos_dropped > 0 or self.question_truncated


def _n_tokens(tokenizer: Any, text: str) -> int:
    return len(tokenizer(text, add_special_tokens=True)["input_ids"])


def _shorten_question(
    tokenizer: Any, item: Any, prompt_id: str, prefix: str, reserve: str, budget: int
) -> str:
    """Drop the start of the question until prefix + context + reserve fits in ``budget``."""
    question = str(item["question"])
    lo, hi = 0, len(question)  # number of leading characters dropped
    if _n_tokens(tokenizer, prefix + format_context(item, prompt_id, "") + reserve) > budget:
        raise ValueError(
            f"item {item['id']}: the prompt does not fit in {budget} tokens even with an empty "
            "question (choices or instruction too long)"
        )
    while lo < hi:  # smallest cut that fits (token count is monotone enough in the cut)
        mid = (lo + hi) // 2
        text = prefix + format_context(item, prompt_id, question[mid:]) + reserve
        if _n_tokens(tokenizer, text) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return question[lo:]


def build_prompts(
    items: pd.DataFrame,
    demonstrations: pd.DataFrame | None,
    prompt_id: str,
    tokenizer: Any,
    max_length: int = 2048,
    reserve_tokens: int = 0,
) -> list[BuiltPrompt]:
    """Prompts for every test item, with the study's length limit applied.

    The full prompt plus the longest continuation plus one token (and ``reserve_tokens``, e.g. max
    new tokens for generation) must fit in ``max_length``. Demonstrations are dropped from the end
    until it fits; if a zero-shot prompt still does not fit, the question is shortened from its
    start so that the answer cue survives (docs/prompts.md#prompt-ids, docs/defects.md#d-14).
    """
    demos = (
        []
        if demonstrations is None
        else [format_demonstration(row, prompt_id) for _, row in demonstrations.iterrows()]
    )
    prefixes = [build_prefix(demos[:j], prompt_id) for j in range(len(demos) + 1)]
    budget = max_length - 1 - reserve_tokens
    out: list[BuiltPrompt] = []
    for _, item in items.iterrows():
        conts = continuations(item)
        longest = max(conts, key=len) if conts else ""
        context = format_context(item, prompt_id)
        j = len(demos)
        while j > 0 and _n_tokens(tokenizer, prefixes[j] + context + longest) > budget:
            j -= 1
        truncated_q = False
        if j == 0 and _n_tokens(tokenizer, prefixes[0] + context + longest) > budget:
            q = _shorten_question(tokenizer, item, prompt_id, prefixes[0], longest, budget)
            context = format_context(item, prompt_id, q)
            truncated_q = True
        out.append(
            BuiltPrompt(
                item_id=str(item["id"]),
                prefix=prefixes[j],
                context=context,
                continuations=conts,
                n_demos=j,
                n_demos_dropped=len(demos) - j,
                question_truncated=truncated_q,
            )
        )
    return out


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prompt_hash(prompt: BuiltPrompt) -> str:
    """SHA-256 of the exact prompt text the model saw (prefix + test context)."""
    return sha256_text(prompt.text)


def item_hash(item: Any) -> str:
    """SHA-256 of an item's question, choices and gold answer text, so two runs can be
    compared row by row (as lm-evaluation-harness's per-sample ``doc_hash``)."""
    choices = item["choices"] if "choices" in item else None
    payload = [
        str(item["question"]),
        [str(c) for c in choices] if choices is not None else None,
        str(item["answer_text"]),
    ]
    return sha256_text(json.dumps(payload, ensure_ascii=False))


def target_hash(texts: Sequence[str]) -> str:
    """SHA-256 of the scored continuations (or the gold answer) of one item."""
    return sha256_text(json.dumps(list(texts), ensure_ascii=False))


def n_truncated(prompts: Sequence[BuiltPrompt]) -> int:
    """How many items the length limit touched (logged and stored with every cell)."""
    return sum(p.truncated for p in prompts)
