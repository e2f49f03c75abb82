"""MMLU-STEM-5: high-school and college subsets of five STEM subjects (docs/data.md#mmlu)."""

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
        if len(choices) != 4:  # every MMLU question has options A-D
            raise rec.fail(f"field 'choices' has {len(choices)} options; MMLU rows have exactly 4")
        if isinstance(answer, str) and answer.strip() in "ABCDE" and answer.strip():
            answer = "ABCDE".index(answer.strip())
        if not isinstance(answer, int) or not 0 <= answer < len(choices):
            raise rec.fail(f"answer {answer!r} is not among the {len(choices)} choices")
        items.append(
            make_item(
                where=rec.where(),
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


SUBJECTS = ["biology", "chemistry", "computer_science", "mathematics", "physics"]
#: The ten hub subsets (tasksource/mmlu configs): high school and college of each subject.
SUBSETS = [f"{lvl}_{s}" for lvl in ["high_school", "college"] for s in SUBJECTS]
HUB_ROW_INDEX = True  # ids use the row number within (subset, split)


def hub_plan(spec: dict[str, Any]) -> list[tuple[str | None, str, dict[str, Any]]]:
    return [
        (sub, s, {"subject": sub, "split": s}) for sub in SUBSETS for s in ["validation", "test"]
    ]


def prepare(raw: Any, data_cfg: dict[str, Any]) -> pd.DataFrame:
    return normalise(raw.records)
