"""3rd grade → college (Figure 1, docs/sampling.md#third-grade-to-college): train on one source,
test on MMLU college.

Sources: ARC-all (all 4521 annotated items, no hardness pool) grade 3 or grade 8, MMLU high
school or college. The test set is a keyed sample of MMLU college items per resample
(all 603 when uncapped), identical for every source; training on college draws from the
college items outside that resample's test sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from e2h.cells import CellSpec
from e2h.sampling import EmptySplitError, Split
from e2h.seeds import rng

#: source → (dataset, column, value) of the training stratum; unsup trains on nothing.
SOURCES: dict[str, tuple[str, str, int] | None] = {
    "unsup": None,
    "arc_grade3": ("arc", "human_grade", 3),
    "arc_grade8": ("arc", "human_grade", 8),
    "mmlu_hs": ("mmlu", "human_hardness", 0),
    "mmlu_college": ("mmlu", "human_hardness", 1),
}
LABELS = {
    "unsup": "Unsupervised",
    "arc_grade3": "3rd Grade",
    "arc_grade8": "8th Grade",
    "mmlu_hs": "High School",
    "mmlu_college": "College",
}


def college_test_sample(
    mmlu: pd.DataFrame, resample: int, cap: int | None, reserve: int, base_seed: int = 0
) -> list[str]:
    college = sorted(mmlu.loc[mmlu["human_hardness"] == 1, "id"])
    if cap is None:
        return college
    take = max(0, min(cap, len(college) - reserve))
    gen = rng("transfer_test", resample, base_seed=base_seed)
    return sorted(college[i] for i in np.sort(gen.permutation(len(college))[:take]))


def transfer_splits(
    tables: dict[str, pd.DataFrame],
    source: str,
    resamples: int,
    k: int,
    cap: int | None,
    base_seed: int = 0,
) -> list[Split]:
    """Training ids (from the source) and MMLU-college test ids for each resample."""
    mmlu = tables["mmlu"]
    if SOURCES[source] is None:
        ids = sorted(
            set().union(
                *(college_test_sample(mmlu, r, cap, k, base_seed) for r in range(resamples))
            )
        )
        return [Split([], ids)]
    dataset, column, value = SOURCES[source]
    table = tables[dataset]
    out = []
    for r in range(resamples):
        test = college_test_sample(mmlu, r, cap, k, base_seed)
        pool = sorted(set(table.loc[table[column] == value, "id"]) - set(test))
        if len(pool) < k:
            raise EmptySplitError(f"transfer {source}: {len(pool)} training items, need {k}")
        perm = rng("train_perm", "transfer", source, r, base_seed=base_seed)
        chosen = [pool[i] for i in perm.permutation(len(pool))[:k]]
        held = set(chosen)
        out.append(Split(chosen, [i for i in test if i not in held]))
    return out


def transfer_cell(
    spec: CellSpec, tables: dict[str, pd.DataFrame]
) -> tuple[list[Split], pd.DataFrame]:
    """Each resample's split of a Figure-1 cell (dataset mmlu, measure "transfer", train =
    the source, n = k) and the table its training items come from."""
    if not spec.is_transfer or spec.train not in SOURCES:
        raise ValueError(f"{spec.directory} is not a 3rd grade -> college cell")
    source = spec.train
    splits = transfer_splits(tables, source, spec.resamples, spec.n, spec.cap, spec.seed)
    train_table = tables[SOURCES[source][0]] if SOURCES[source] else tables["mmlu"]
    return splits, train_table


def source_datasets(source: str) -> list[str]:
    """The datasets a cell of this source reads: the training source's and MMLU's."""
    return sorted({"mmlu", *([SOURCES[source][0]] if SOURCES[source] else [])})
