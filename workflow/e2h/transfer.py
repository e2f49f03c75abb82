"""3rd grade → college (Figure 1, study.md §5.4): train on one source, test on MMLU college.

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
    raw: dict, tables: dict[str, pd.DataFrame]
) -> tuple[CellSpec, list[Split], pd.DataFrame]:
    """A Figure-1 cell from its rule spec: the CellSpec (dataset mmlu, measure "transfer",
    train = the source), each resample's split, and the table the training items come from."""
    source = raw["source"]
    spec = CellSpec(
        dataset="mmlu",
        model=raw["model"],
        method=raw["method"],
        prompt=raw["prompt"],
        measure="transfer",
        train=source,
        n=raw["k"],
        resamples=raw["resamples"],
        cap=raw["cap"],
        seed=raw["seed"],
    )
    splits = transfer_splits(tables, source, raw["resamples"], raw["k"], raw["cap"], raw["seed"])
    train_table = tables[SOURCES[source][0]] if SOURCES[source] else tables["mmlu"]
    return spec, splits, train_table
