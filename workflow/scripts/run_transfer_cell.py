"""Rule run_transfer_cell: ICL from one training source, tested on MMLU college (Figure 1)."""

import pandas as pd

from e2h.cells import CellSpec, score_splits
from e2h.jobs import run_prompting_job
from e2h.logs import run_with_log
from e2h.transfer import SOURCES, transfer_splits


def main(smk) -> None:
    raw = dict(smk.params.spec)
    tables = {"arc": pd.read_parquet(smk.input.arc), "mmlu": pd.read_parquet(smk.input.mmlu)}
    source = raw["source"]
    splits = transfer_splits(tables, source, raw["resamples"], raw["k"], raw["cap"], raw["seed"])
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
    train_table = tables[SOURCES[source][0]] if SOURCES[source] else tables["mmlu"]
    run_prompting_job(
        smk,
        spec.model,
        lambda model, tok, bs, max_len: score_splits(
            train_table, tables["mmlu"], splits, spec, model, tok, bs, max_len
        ),
        tables["mmlu"],
        "any",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
