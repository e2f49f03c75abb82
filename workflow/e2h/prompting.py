"""Prompting cells: zero-shot, ICL and ICL-CoT predictions over a cell's resamples.

A job runs one condition: it loads the model once and loops over the resamples, writing
one row per (test item, resample) with every cell field, so arms are always selected by
field values and joined by item id, never by position.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from e2h import registry
from e2h.cells import CellSpec, cell_predictions, ids_hash
from e2h.sampling import Split
from e2h.weak import WeakLabels

log = logging.getLogger(__name__)


def score_splits(
    train_table: pd.DataFrame,
    test_table: pd.DataFrame,
    resample_splits: list[Split],
    spec: CellSpec,
    model: Any,
    tokenizer: Any,
    batch_size: int,
    max_length: int,
    weak: WeakLabels | None = None,
) -> pd.DataFrame:
    """Score each resample's test items after its demonstrations; one row per (item, resample).

    ``weak``: the demonstrations show a weak supervisor's labels (``spec.labels``)."""
    if spec.weak and weak is None:
        raise ValueError(f"{spec.directory}: shows weak labels, but none were given")
    train_by_id = train_table.set_index("id", drop=False)
    test_by_id = test_table.set_index("id", drop=False)
    frames = []
    for r, split in enumerate(resample_splits):
        test = test_by_id.loc[split.test_ids].reset_index(drop=True)
        demos = train_by_id.loc[split.train_ids].reset_index(drop=True) if split.train_ids else None
        if spec.weak and demos is not None:
            demos = weak.relabel(demos, r)
        log.info(
            "resample %d: %d demonstrations, %d test items", r, len(split.train_ids), len(test)
        )
        method = registry.method(spec.method)
        if method.kind != "prompting":
            raise ValueError(f"method {spec.method!r} is not a prompting method")
        if not method.cot:
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
        else:
            from e2h.generation import generate_answers

            res = generate_answers(
                model,
                tokenizer,
                test,
                demos,
                spec.prompt,
                kind=registry.dataset(spec.dataset).answer,
                max_new_tokens=spec.max_new_tokens,
                batch_size=batch_size,
                max_length=max_length,
                model_key=spec.model,
                seed=spec.seed,
            )
        res = res.assign(resample=r, train_ids_sha=ids_hash(split.train_ids))
        if spec.weak and demos is not None:
            res["weak_label_accuracy"] = float(
                (demos["label_idx"] == demos["gold_label_idx"]).mean()
            )
        frames.append(res)
    return cell_predictions(frames, spec)
