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
    zero_shot: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score each resample's test items after its demonstrations; one row per (item, resample).

    ``weak``: the demonstrations show a weak supervisor's labels (``spec.labels``).
    ``zero_shot``: the predictions of the (dataset, model, prompt) zero-shot pass; a
    zero-shot cell reads its items' rows there instead of scoring them again
    (docs/scoring.md#zero-shot-pass)."""
    if spec.weak and weak is None:
        raise ValueError(f"{spec.directory}: shows weak labels, but none were given")
    method = registry.method(spec.method)
    if method.kind != "prompting":
        raise ValueError(f"method {spec.method!r} is not a prompting method")
    train_by_id = train_table.set_index("id", drop=False)
    test_by_id = test_table.set_index("id", drop=False)
    inputs = []  # (test items, demonstrations) per resample
    for r, split in enumerate(resample_splits):
        test = test_by_id.loc[split.test_ids].reset_index(drop=True)
        demos = train_by_id.loc[split.train_ids].reset_index(drop=True) if split.train_ids else None
        if spec.weak and demos is not None:
            demos = weak.relabel(demos, r)
        log.info(
            "resample %d: %d demonstrations, %d test items", r, len(split.train_ids), len(test)
        )
        inputs.append((test, demos))
    if method.zero_shot and zero_shot is not None:
        results = [from_zero_shot_pass(zero_shot, test, spec) for test, _ in inputs]
    elif not method.cot:
        from e2h.scoring import score_choices

        results = [
            score_choices(
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
            for test, demos in inputs
        ]
    else:  # every resample's generations in shared batches (docs/speed.md#cot-batches)
        from e2h.generation import generate_answer_sets

        results = generate_answer_sets(
            model,
            tokenizer,
            inputs,
            spec.prompt,
            kind=registry.dataset(spec.dataset).answer,
            max_new_tokens=spec.max_new_tokens,
            batch_size=batch_size,
            max_length=max_length,
            model_key=spec.model,
            seed=spec.seed,
        )
    frames = []
    for r, (split, res, (_, demos)) in enumerate(
        zip(resample_splits, results, inputs, strict=True)
    ):
        res = res.assign(resample=r, train_ids_sha=ids_hash(split.train_ids))
        if spec.weak and demos is not None:
            res["weak_label_accuracy"] = float(
                (demos["label_idx"] == demos["gold_label_idx"]).mean()
            )
        frames.append(res)
    return cell_predictions(frames, spec)


def from_zero_shot_pass(frame: pd.DataFrame, test: pd.DataFrame, spec: CellSpec) -> pd.DataFrame:
    """The zero-shot pass's rows of ``test``'s items, as ``e2h.scoring.score_choices``
    returns them. Fails naming the first item the pass lacks or scored with other text."""
    from e2h.prompts import item_hash

    if len(frame) and (
        set(frame["model"]) != {spec.model} or set(frame["prompt_id"]) != {spec.prompt}
    ):
        raise ValueError(
            f"{spec.directory}: the zero-shot pass is of model {sorted(set(frame['model']))}, "
            f"prompt {sorted(set(frame['prompt_id']))}, not {spec.model}, {spec.prompt}"
        )
    by_id = frame.set_index("id", drop=False)
    ids = list(test["id"])
    missing = [i for i in ids if i not in by_id.index]
    if missing:
        raise ValueError(
            f"{spec.directory}: {len(missing)} test items are not in the zero-shot pass "
            f"(first: {missing[0]}); rerun its rule extract_hidden_states"
        )
    res = by_id.loc[ids].reset_index(drop=True)
    for item, got in zip(test.to_dict("records"), res["item_hash"], strict=True):
        if item_hash(item) != got:
            raise ValueError(
                f"{spec.directory}: item {item['id']} differs from the one the zero-shot "
                "pass scored; rerun its rule extract_hidden_states"
            )
    n_truncated = int(res["truncated"].sum())
    res["seed"], res["n_truncated"] = spec.seed, n_truncated
    res.attrs["params"] = {
        "model": spec.model, "prompt_id": spec.prompt, "k": 0, "seed": spec.seed,
        "n_truncated": n_truncated, "zero_shot_pass": True,
    }  # fmt: skip
    return res
