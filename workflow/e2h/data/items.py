"""The normalised item table every later stage reads (docs/data.md#item-table).

One row per item with a stable string ``id``, the question, its choices and label, the
gold answer text, the rationale where the dataset has one, source fields, and the raw
values of every human hardness variable. Levels are added by ``e2h.hardness``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from e2h.data.errors import DataError

#: The key under which ``make_item`` keeps an item's source row, for error messages only.
WHERE = "_where"

#: Columns every prepared item table has, in this order (dataset-specific measures follow).
BASE_COLUMNS = [
    "id",
    "text_hash",
    "question",
    "choices",
    "label_idx",
    "answer_text",
    "reasoning",
    "decomposition",
    "subject",
    "source_config",
    "source_split",
    "question_num_words",
    "answer_num_words",
    "answer_num_chars",
]


def text_hash(text: str) -> str:
    """Short SHA-256 of the question text, to check hub and bundled rows are the same item."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def make_item(
    *,
    id: str,
    question: str,
    choices: list[str],
    label_idx: int,
    source_split: str,
    reasoning: str | None = None,
    decomposition: list[str] | None = None,
    subject: str | None = None,
    source_config: str | None = None,
    where: str | None = None,
    **measures: Any,
) -> dict[str, Any]:
    """One item row; ``where`` (file or hub split, and row) names it in errors only."""
    answer = choices[label_idx]
    return {
        WHERE: where,
        "id": id,
        "text_hash": text_hash(question),
        "question": question,
        "choices": list(choices),
        "label_idx": int(label_idx),
        "answer_text": answer,
        "reasoning": reasoning,
        "decomposition": list(decomposition) if decomposition is not None else None,
        "subject": subject,
        "source_config": source_config,
        "source_split": source_split,
        "question_num_words": len(question.split()),
        "answer_num_words": len(answer.split()),
        "answer_num_chars": len(answer),
        **measures,
    }


def to_table(items: list[dict[str, Any]]) -> pd.DataFrame:
    """Items as a frame sorted by id (a canonical order, whatever the source order)."""
    frame = pd.DataFrame(items) if items else pd.DataFrame(columns=BASE_COLUMNS)
    dupes = frame["id"].duplicated(keep=False)
    if dupes.any():  # named by both rows, never one of them kept
        where = frame[WHERE] if WHERE in frame else pd.Series("?", index=frame.index)
        first = frame.loc[dupes, "id"].iloc[0]
        rows = [str(w) for w in where[frame["id"] == first]]
        raise DataError(
            f"{rows[-1]}: item id {first!r} is already used by {rows[0]} "
            f"({int(frame.loc[dupes, 'id'].nunique())} duplicated id(s) in all)"
        )
    frame = frame.drop(columns=[WHERE], errors="ignore")
    extra = [c for c in frame.columns if c not in BASE_COLUMNS]
    return frame[BASE_COLUMNS + extra].sort_values("id", kind="stable").reset_index(drop=True)
