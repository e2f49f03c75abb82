"""Cells: one condition (dataset, model, method, measure, train level, n) over its resamples.

A job runs one condition: it loads the model once and loops over the resamples, writing
one row per (test item, resample) with every cell field, so arms are always selected by
field values and joined by item id, never by position (D-5, D-6, D-8).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from e2h.sampling import ANY_MEASURE, EmptySplitError, Split, capped_test_sample, draw_split

log = logging.getLogger(__name__)

#: Methods and what they do at test time.
MC_METHODS = {"zs", "icl"}  # multiple-choice scoring (§7.1)
COT_METHODS = {"zs_cot", "icl_cot"}  # generation with chain of thought (§7.2)
ANSWER_KIND = {"strategyqa": "yesno", "gsm8k": "number"}


@dataclass(frozen=True)
class CellSpec:
    """Every factor that changes a cell's predictions; its path is derived from all of them."""

    dataset: str
    model: str
    method: str
    prompt: str
    measure: str
    train: str
    n: int
    resamples: int
    cap: int | None
    seed: int
    max_new_tokens: int | None = None
    reserve: int = 0  # items per level kept out of capped test samples (max training size)
    cap_measures: tuple[str, ...] = field(default_factory=tuple)

    def cell_hash(self) -> str:
        text = repr(sorted(asdict(self).items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def zero_shot_test_ids(table: pd.DataFrame, spec: CellSpec) -> list[str]:
    """Zero-shot covers every item any supervised arm of this dataset tests (D-23): the
    union of the capped samples over measures and resamples, or the whole probing set."""
    if spec.cap is None:
        return sorted(table.loc[table["probing"], "id"])
    ids: set[str] = set()
    for measure in spec.cap_measures or (ANY_MEASURE,):
        for r in range(spec.resamples):
            ids |= set(
                capped_test_sample(
                    table,
                    spec.dataset,
                    measure,
                    r,
                    spec.cap,
                    reserve=spec.reserve,
                    base_seed=spec.seed,
                )
            )
    return sorted(ids)


def splits(table: pd.DataFrame, spec: CellSpec) -> list[Split]:
    """The training and test ids of each resample of a cell."""
    if spec.train == "unsup":
        return [Split([], zero_shot_test_ids(table, spec))]
    out = []
    for r in range(spec.resamples):
        cap = capped_test_sample(
            table,
            spec.dataset,
            spec.measure,
            r,
            spec.cap,
            reserve=spec.reserve,
            base_seed=spec.seed,
        )
        out.append(
            draw_split(
                table, spec.dataset, spec.measure, spec.train, r, spec.n, cap, base_seed=spec.seed
            )
        )
    return out


def run_cell(
    table: pd.DataFrame,
    spec: CellSpec,
    model: Any,
    tokenizer: Any,
    batch_size: int,
    max_length: int,
) -> pd.DataFrame:
    """Predictions of every resample of one prompting cell (zero-shot, ICL, ICL-CoT)."""
    return score_splits(
        table, table, splits(table, spec), spec, model, tokenizer, batch_size, max_length
    )


def score_splits(
    train_table: pd.DataFrame,
    test_table: pd.DataFrame,
    resample_splits: list[Split],
    spec: CellSpec,
    model: Any,
    tokenizer: Any,
    batch_size: int,
    max_length: int,
) -> pd.DataFrame:
    """Score each resample's test items after its demonstrations; one row per (item, resample)."""
    train_by_id = train_table.set_index("id", drop=False)
    test_by_id = test_table.set_index("id", drop=False)
    frames = []
    for r, split in enumerate(resample_splits):
        test = test_by_id.loc[split.test_ids].reset_index(drop=True)
        demos = train_by_id.loc[split.train_ids].reset_index(drop=True) if split.train_ids else None
        log.info(
            "resample %d: %d demonstrations, %d test items", r, len(split.train_ids), len(test)
        )
        if spec.method in MC_METHODS:
            from e2h.scoring import score_choices

            res = score_choices(
                model,
                tokenizer,
                test,
                demos,
                spec.prompt,
                batch_size=batch_size,
                max_length=max_length,
                model_key=spec.model,
                seed=spec.seed,
            )
        elif spec.method in COT_METHODS:
            from e2h.generation import generate_answers

            res = generate_answers(
                model,
                tokenizer,
                test,
                demos,
                spec.prompt,
                kind=ANSWER_KIND[spec.dataset],
                max_new_tokens=spec.max_new_tokens,
                batch_size=batch_size,
                max_length=max_length,
                model_key=spec.model,
                seed=spec.seed,
            )
        else:
            raise ValueError(f"method {spec.method!r} is not a prompting method")
        res = res.assign(resample=r, train_ids_sha=_ids_hash(split.train_ids))
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    for key, value in asdict(spec).items():
        if key != "cap_measures":
            out[key] = value
    out["cot"] = spec.method in COT_METHODS
    return out


def _ids_hash(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:12]


def summarise_cell(pred: pd.DataFrame, table: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Accuracy and n per resample and test level (the measure's levels, plus all)."""
    level_col = f"{measure}_level" if measure != ANY_MEASURE else None
    merged = pred.merge(table[["id"] + ([level_col] if level_col else [])], on="id")
    rows = []
    for r, group in merged.groupby("resample"):
        rows.append(
            {"resample": r, "level": "all", "n": len(group), "accuracy": group["correct"].mean()}
        )
        if level_col:
            for level, sub in group.groupby(level_col, observed=True):
                rows.append(
                    {
                        "resample": r,
                        "level": level,
                        "n": len(sub),
                        "accuracy": sub["correct"].mean(),
                    }
                )
    return pd.DataFrame(rows)


__all__ = ["CellSpec", "EmptySplitError", "run_cell", "splits", "summarise_cell"]
