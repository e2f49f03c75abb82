"""Rule run_transfer_cell: ICL from one training source, tested on MMLU college (Figure 1)."""

import time

import pandas as pd

from e2h.cells import CellSpec, score_splits, summarise_cell
from e2h.jobs import load_registered_model, set_threads, write_cell
from e2h.logs import run_with_log
from e2h.transfer import SOURCES, transfer_splits


def main(smk) -> None:
    started = time.time()
    set_threads(smk.threads)
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
    model, tokenizer = load_registered_model(spec.model, smk.params.registry, smk.input.model)
    entry = smk.params.registry[spec.model]
    pred = score_splits(
        train_table,
        tables["mmlu"],
        splits,
        spec,
        model,
        tokenizer,
        entry.get("batch_size", 8),
        entry.get("max_length", 2048),
    )
    summary = summarise_cell(pred, tables["mmlu"], "any")
    write_cell(
        pred,
        summary,
        raw,
        smk.output.predictions,
        smk.output.cell,
        smk.params.registry,
        smk.input.model,
        started,
        smk.config,
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
