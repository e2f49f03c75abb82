"""Training draws and test sets per cell (docs/sampling.md#sampling).

Every draw is keyed, so a training set depends only on (dataset, measure, train level, resample) and
is nested across sizes (the first n of one permutation): identical across models and methods
(docs/defects.md#d-2). Capped test samples are drawn first, per (dataset, measure, resample), with a
fixed quota per level, and are shared by every condition of that resample
(docs/sampling.md#training-draw [choice], docs/defects.md#d-18).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from e2h.hardness import LEVELS
from e2h.seeds import rng

#: The measure key of conditions that do not stratify (train = all, zero-shot).
ANY_MEASURE = "any"


class EmptySplitError(ValueError):
    """A condition cannot be formed (empty stratum or test set); the message says why."""


@dataclass(frozen=True)
class Split:
    """The items of one resample of one condition."""

    train_ids: list[str]  # in demonstration order (ICL) / training order
    test_ids: list[str]
    # of test_ids, the items predicted as labels for others, not tested: a weak
    # supervisor's students' items (e2h.cells.supervisor_resample)
    labelled: tuple[str, ...] = ()


def drawable(table: pd.DataFrame) -> pd.Series:
    """Items an unstratified draw (measure ``any``, level ``all``) may take: the probing set,
    or, when the MDL stage scored only a sample of it (``mdl.probing_cap``), that sample
    (column ``sampled``), so the train = All cells test items every measure, model-based ones
    included, is defined on (docs/hardness.md#mdl-sample). A level's stratum needs no such
    rule: items without a value have no level."""
    return table["sampled"] if "sampled" in table.columns else table["probing"]


def stratum(table: pd.DataFrame, measure: str, level: str) -> list[str]:
    """Sorted probing ids of one level (``all``: every drawable item, :func:`drawable`)."""
    if level == "all" or measure == ANY_MEASURE:
        return sorted(table.loc[drawable(table), "id"])
    probing = table[table["probing"]]
    return sorted(probing.loc[probing[f"{measure}_level"] == level, "id"])


def capped_test_sample(
    table: pd.DataFrame,
    dataset: str,
    measure: str,
    resample: int,
    per_level: int | None,
    reserve: int = 0,
    base_seed: int = 0,
) -> list[str] | None:
    """``per_level`` items of each level (or all probing items for ``any``), keyed.

    ``reserve`` items of every level are kept out of the sample so a training draw of that
    size remains possible. ``None`` when no cap is configured (test = all non-train items).
    """
    if per_level is None:
        return None
    gen = rng("test_cap", dataset, measure, resample, base_seed=base_seed)
    levels = ["all"] if measure == ANY_MEASURE else LEVELS
    picked: list[str] = []
    for level in levels:
        ids = stratum(table, measure, level)
        quota = per_level * (len(LEVELS) if level == "all" else 1)
        take = max(0, min(quota, len(ids) - reserve))
        picked += [ids[i] for i in np.sort(gen.permutation(len(ids))[:take])]
    return sorted(picked)


def draw_split(
    table: pd.DataFrame,
    dataset: str,
    measure: str,
    train_level: str,
    resample: int,
    n_train: int,
    test_cap: list[str] | None,
    base_seed: int = 0,
) -> Split:
    """Training ids (first ``n_train`` of a keyed permutation of the stratum minus the test
    sample) in a keyed order, and the test ids (the sample, or every other probing item)."""
    probing = sorted(table.loc[table["probing"], "id"])
    train: list[str] = []
    if n_train > 0:
        chosen = first_draws(
            table, dataset, measure, train_level, resample, n_train, test_cap, base_seed
        )
        if len(chosen) < n_train:  # the whole stratum outside the test sample
            raise EmptySplitError(
                f"{dataset}/{measure}: the {train_level} stratum has {len(chosen)} items outside "
                f"the test sample, fewer than the {n_train} training items asked for"
            )
        order = rng("icl_order", dataset, measure, train_level, resample, base_seed=base_seed)
        train = [chosen[i] for i in order.permutation(len(chosen))]
    held = set(train)
    test = sorted(test_cap) if test_cap is not None else [i for i in probing if i not in held]
    test = [i for i in test if i not in held]
    if not test:
        raise EmptySplitError(
            f"{dataset}/{measure}/{train_level} resample {resample}: the test set is empty "
            f"({len(probing)} probing items, {len(train)} used for training)"
        )
    return Split(train, test)


def first_draws(
    table: pd.DataFrame,
    dataset: str,
    measure: str,
    level: str,
    resample: int,
    n: int,
    test_cap: list[str] | None,
    base_seed: int = 0,
) -> list[str]:
    """The training items of a draw of up to ``n`` (fewer where the stratum is smaller): every
    item any cell of that (measure, level, resample) with at most ``n`` items trains on,
    because draws are nested (the first n of one keyed permutation; ``draw_split`` orders them)."""
    cap = set(test_cap) if test_cap is not None else set()
    pool = [i for i in stratum(table, measure, level) if i not in cap]
    perm = rng("train_perm", dataset, measure, level, resample, base_seed=base_seed)
    return [pool[i] for i in perm.permutation(len(pool))[:n]]


def supervisor_split(
    table: pd.DataFrame,
    dataset: str,
    measure: str,
    resample: int,
    n_train: int,
    student_n: int,
    student_levels: tuple[str, ...],
    test_cap: list[str] | None,
    base_seed: int = 0,
) -> tuple[Split, list[str]]:
    """A weak supervisor's resample (docs/methods.md#weak-to-strong).

    The pool (drawable items outside the test sample) is split in two: the students' part,
    every item a student cell of this (measure, resample) with at most ``student_n`` items of
    a level in ``student_levels`` trains on, and the supervisor's part, the rest. The supervisor
    trains on ``n_train`` gold labels drawn (keyed) from its part and predicts the students'
    part and the test sample, so no student training item and no test item is ever among its
    training items. Without a cap (tests = every item a cell does not train on) it predicts
    every probing item it does not train on; the statistics then compare all arms on the items
    none of them trained on. Returns the split and the students' part.
    """
    student: set[str] = set()
    for level in student_levels:
        student |= set(
            first_draws(table, dataset, measure, level, resample, student_n, test_cap, base_seed)
        )
    cap = set(test_cap) if test_cap is not None else set()
    part = [i for i in stratum(table, ANY_MEASURE, "all") if i not in cap and i not in student]
    if len(part) < n_train:
        raise EmptySplitError(
            f"{dataset}/{measure} resample {resample}: the weak supervisor's part of the pool has "
            f"{len(part)} items (after {len(student)} student items and {len(cap)} test items), "
            f"fewer than the {n_train} it trains on"
        )
    perm = rng("supervisor_perm", dataset, measure, resample, base_seed=base_seed)
    train = [part[i] for i in perm.permutation(len(part))[:n_train]]
    labelled = sorted(student)
    if test_cap is None:
        held = set(train)
        tests = {i for i in table.loc[table["probing"], "id"] if i not in held}
        return Split(train, sorted(tests | student)), labelled
    return Split(train, sorted(student | cap)), labelled
