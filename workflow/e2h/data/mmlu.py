"""MMLU-STEM-5: high-school and college subsets of five STEM subjects (§2.2)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h.data.errors import RawRecord
from e2h.data.items import make_item, to_table


def normalise(records: list[RawRecord]) -> pd.DataFrame:
    """Validation + test of the ten subsets; human_hardness 0 = high school, 1 = college."""
    items: list[dict[str, Any]] = []
    for rec in records:
        question, answer, subject, split, row = rec.require(
            "question", "answer", "subject", "split", "row"
        )
        choices = [str(c) for c in rec.require_list("choices", min_len=2)]
        if isinstance(answer, str) and answer.strip() in "ABCDE" and answer.strip():
            answer = "ABCDE".index(answer.strip())
        if not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise rec.fail(f"answer {answer!r} is not among the {len(choices)} choices")
        items.append(
            make_item(
                id=f"{subject}/{split}/{row}",
                question=question,
                choices=choices,
                label_idx=answer,
                subject=subject,
                source_config=subject,
                source_split=split,
                human_hardness=0 if subject.startswith("high_school_") else 1,
            )
        )
    return to_table(items)
