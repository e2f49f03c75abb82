"""Rule run_cell: one prompting condition over its resamples (zero-shot, ICL, ICL-CoT)."""

import pandas as pd

from e2h.cells import CellSpec, run_cell
from e2h.jobs import run_prompting_job
from e2h.logs import run_with_log


def main(smk) -> None:
    raw = dict(smk.params.spec)
    spec = CellSpec(**{**raw, "cap_measures": tuple(raw.get("cap_measures", ()))})
    table = pd.read_parquet(smk.input.table)
    run_prompting_job(
        smk,
        spec.model,
        lambda model, tok, bs, max_len: run_cell(table, spec, model, tok, bs, max_len),
        table,
        spec.measure,
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
