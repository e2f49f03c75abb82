"""Rule annotate_human_hardness: levels of every human measure
(docs/hardness.md#hardness-measures)."""

import logging

import pandas as pd

from e2h.hardness import annotate_levels, cutoffs_frame, level_counts
from e2h.io import read_lines, write_csv, write_parquet
from e2h.logs import run_with_log


def main(smk) -> None:
    items = pd.read_parquet(smk.input.table)
    probing = set(read_lines(smk.input.probing))
    table, cutoffs = annotate_levels(
        items, probing, smk.wildcards.dataset, smk.params.measures, tuple(smk.params.percentiles)
    )
    write_parquet(table, smk.output.table)
    write_csv(cutoffs_frame(cutoffs), smk.output.cutoffs)
    logging.info(
        "level counts on the probing set:\n%s",
        level_counts(table, list(smk.params.measures)).to_string(),
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
