"""Rule run_cell: one prompting condition over its resamples (zero-shot, ICL, ICL-CoT)."""

import time

import pandas as pd

from e2h.cells import CellSpec, run_cell, summarise_cell
from e2h.jobs import load_registered_model, set_threads, write_cell
from e2h.logs import run_with_log


def main(smk) -> None:
    started = time.time()
    set_threads(smk.threads)
    raw = dict(smk.params.spec)
    spec = CellSpec(**{**raw, "cap_measures": tuple(raw.get("cap_measures", ()))})
    table = pd.read_parquet(smk.input.table)
    model, tokenizer = load_registered_model(spec.model, smk.params.registry, smk.input.model)
    entry = smk.params.registry[spec.model]
    pred = run_cell(
        table, spec, model, tokenizer, entry.get("batch_size", 8), entry.get("max_length", 2048)
    )
    summary = summarise_cell(pred, table, spec.measure)
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
