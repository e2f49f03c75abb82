"""ARC (Easy + Challenge, all splits) joined with the paper's hardness annotations
(docs/data.md#arc)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h.data.errors import DataError, RawRecord
from e2h.data.items import make_item, to_table

ANNOTATION_PREFIX = {"ARCCH_": "ARC-Challenge", "ARCEZ_": "ARC-Easy"}
DIFFICULTY = {"Low": 1, "Medium": 2, "High": 3}
BLOOM = {"Remembering": 1, "Understanding": 2, "Applying": 3, "Analyzing": 4, "Evaluating": 5}
DEPTH = {"I": 1, "II": 2, "III": 3}


def parse_annotations(annotations: dict[str, Any], origin: str) -> dict[str, dict[str, Any]]:
    """ARC id → parsed human variables; subject-name grades become missing (dropped later)."""
    parsed: dict[str, dict[str, Any]] = {}
    for key, value in annotations.items():
        prefix = key[:6]
        if prefix not in ANNOTATION_PREFIX:
            raise DataError(f"{origin}, key {key!r}: prefix must be ARCCH_ or ARCEZ_")
        for name in ("grade", "bloom", "difficulty", "depth_of_knowledge"):
            if name not in value:
                raise DataError(f"{origin}, key {key!r}: missing field {name!r}")
        grade_text = str(value["grade"])
        last = grade_text.rsplit(" ", 1)[-1]
        grade = int(last) if grade_text.startswith("Grade") and last.isdigit() else None
        try:
            parsed[key[6:]] = {
                "config": ANNOTATION_PREFIX[prefix],
                "human_grade": grade,
                "human_difficulty": DIFFICULTY[value["difficulty"]],
                "human_bloom": BLOOM[value["bloom"]],
                "human_depth_of_knowledge": DEPTH[value["depth_of_knowledge"]],
            }
        except KeyError as exc:
            raise DataError(f"{origin}, key {key!r}: unknown level {exc.args[0]!r}") from None
    return parsed


def choice_index(rec: RawRecord, labels: list[str], key: str) -> int:
    """Position of the answer key among the choice labels (labels may be 1-4 or A-E)."""
    try:
        return [str(lbl).strip() for lbl in labels].index(str(key).strip())
    except ValueError:
        raise rec.fail(f"answer key {key!r} is not among the choice labels {labels}") from None


def normalise(records: list[RawRecord], annotations: dict[str, Any], origin: str) -> pd.DataFrame:
    """Inner-join questions with annotations, drop missing grades, de-duplicate on id."""
    ann = parse_annotations(annotations, origin)
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rec in records:
        ident, question, choices, key, config, split = rec.require(
            "id", "question", "choices", "answerKey", "config", "split"
        )
        if ident not in ann or ident in seen:
            continue
        hv = ann[ident]
        if hv["config"] != config:
            raise rec.fail(f"annotation prefix says {hv['config']} but the row is from {config}")
        if hv["human_grade"] is None:
            continue
        if not isinstance(choices, dict) or "text" not in choices or "label" not in choices:
            raise rec.fail("field 'choices' must have 'text' and 'label' lists")
        texts, labels = list(choices["text"]), list(choices["label"])
        if len(texts) != len(labels) or len(texts) < 2:
            raise rec.fail(f"choices need matching text and label lists (got {len(texts)} texts)")
        label_idx = choice_index(rec, labels, key)
        seen.add(ident)
        items.append(
            make_item(
                where=rec.where(),
                id=ident,
                question=question,
                choices=texts,
                label_idx=label_idx,
                source_config=config,
                source_split=split,
                human_grade=hv["human_grade"],
                human_difficulty=hv["human_difficulty"],
                human_bloom=hv["human_bloom"],
                human_depth_of_knowledge=hv["human_depth_of_knowledge"],
            )
        )
    return to_table(items)


#: Hub configs and splits of ARC (allenai/ai2_arc).
HUB_CONFIGS = ["ARC-Easy", "ARC-Challenge"]
HUB_SPLITS = ["train", "validation", "test"]
ANNOTATIONS = "arc_annotations.json.gz"


def hub_plan(spec: dict[str, Any]) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(config, split, fields added to each row) of every hub split to load."""
    return [(c, s, {"config": c, "split": s}) for c in HUB_CONFIGS for s in HUB_SPLITS]


def read_extras(snapshot_dir: Any) -> dict[str, Any]:
    """The paper's hardness annotations, which ship with the project (not on the hub)."""
    import gzip
    import json
    from pathlib import Path

    path = Path(snapshot_dir) / ANNOTATIONS
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return {"annotations": json.load(fh), "annotations_origin": str(path)}


def prepare(raw: Any, data_cfg: dict[str, Any]) -> pd.DataFrame:
    return normalise(raw.records, raw.extras["annotations"], raw.extras["annotations_origin"])
