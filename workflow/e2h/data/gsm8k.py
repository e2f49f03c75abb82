"""GSM8k main, train + test: rationale, numeric answer, solution-line count (docs/data.md#gsm8k)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from e2h.data.errors import RawRecord
from e2h.data.items import make_item, to_table

CALCULATOR = re.compile(r"<<[^<>]*>>")
MAX_STEPS = 10


def split_answer(rec: RawRecord, text: str) -> tuple[str, str]:
    """Split the answer field on ``####`` into (rationale, final answer)."""
    if "####" not in text:
        raise rec.fail("answer field has no '####' separator before the final answer")
    reasoning, answer = text.split("####", 1)
    answer = answer.strip()
    if not answer:
        raise rec.fail("empty final answer after '####'")
    return reasoning.strip("\n"), answer


def normalise(records: list[RawRecord], keep_calculator_annotations: bool = False) -> pd.DataFrame:
    """Measures use the release rationale; the ``reasoning`` column drops ``<<…>>``
    (docs/defects.md#d-15)."""
    items: list[dict[str, Any]] = []
    for rec in records:
        question, answer_field, split, row = rec.require("question", "answer", "split", "row")
        reasoning, answer = split_answer(rec, answer_field)
        shown = reasoning if keep_calculator_annotations else CALCULATOR.sub("", reasoning)
        items.append(
            make_item(
                where=rec.where(),
                id=f"{split}/{row}",
                question=question,
                choices=[answer],
                label_idx=0,
                reasoning=shown,
                source_split=split,
                num_steps=min(len(reasoning.split("\n")), MAX_STEPS),
                reasoning_num_words=len(reasoning.replace("\n", " ").split()),
            )
        )
    return to_table(items)


HUB_ROW_INDEX = True  # ids use the row number within the split


def hub_plan(spec: dict[str, Any]) -> list[tuple[str | None, str, dict[str, Any]]]:
    return [(spec.get("config") or "main", s, {"split": s}) for s in ["train", "test"]]


def prepare(raw: Any, data_cfg: dict[str, Any]) -> pd.DataFrame:
    return normalise(raw.records, data_cfg["gsm8k_keep_calculator_annotations"])
