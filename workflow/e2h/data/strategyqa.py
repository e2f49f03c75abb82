"""StrategyQA: the 2290-question labelled set, yes/no with facts and decompositions
(docs/data.md#strategyqa)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h.data.errors import RawRecord
from e2h.data.items import make_item, to_table


def normalise(records: list[RawRecord]) -> pd.DataFrame:
    """Rationale = facts joined by spaces; steps = decomposition length; label 0 = yes."""
    items: list[dict[str, Any]] = []
    for rec in records:
        qid, question, answer = rec.require("qid", "question", "answer")
        facts = rec.require_list("facts", min_len=0)
        decomposition = rec.require_list("decomposition")
        if not isinstance(answer, bool):
            raise rec.fail(f"answer must be true or false, got {answer!r}")
        reasoning = " ".join(str(f) for f in facts)
        items.append(
            make_item(
                where=rec.where(),
                id=qid,
                question=question,
                choices=["yes", "no"],
                label_idx=0 if answer else 1,
                reasoning=reasoning,
                decomposition=[str(d) for d in decomposition],
                # All 2290 items are the official labelled training set; the release's 90/10
                # train/dev division (absent on the hub) carries no meaning here.
                source_split="train",
                num_steps=len(decomposition),
                reasoning_num_words=len(reasoning.split()),
            )
        )
    return to_table(items)


def hub_plan(spec: dict[str, Any]) -> list[tuple[str | None, str, dict[str, Any]]]:
    return [(spec.get("config"), spec.get("split", "test"), {})]


def prepare(raw: Any, data_cfg: dict[str, Any]) -> pd.DataFrame:
    return normalise(raw.records)
