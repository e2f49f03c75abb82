"""Rule run_transfer_cell: ICL from one training source, tested on MMLU college (Figure 1)."""

import pandas as pd

from e2h.cells import score_splits
from e2h.jobs import run_prompting_job
from e2h.logs import run_with_log
from e2h.transfer import transfer_cell


def main(smk) -> None:
    tables = {"arc": pd.read_parquet(smk.input.arc), "mmlu": pd.read_parquet(smk.input.mmlu)}
    spec, splits, train_table = transfer_cell(dict(smk.params.spec), tables)
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
