"""Rule tab_cutoffs: level cutoffs per measure with realised level counts."""

import pandas as pd

from e2h.logs import run_with_log
from e2h.plotting import save_table
from e2h.tables import tab_cutoffs


def main(smk) -> None:
    tables = {
        d: pd.read_parquet(p) for d, p in zip(smk.params.datasets, smk.input.tables, strict=True)
    }
    cutoffs = pd.concat([pd.read_csv(p) for p in smk.input.cutoffs], ignore_index=True)
    frame = tab_cutoffs.build(tables, cutoffs)
    save_table(
        frame,
        smk.output.csv,
        smk.output.tex,
        caption="Hardness levels: cutoffs and item counts on the probing sets. "
        "GSM8k steps are solution lines (plotted as lines minus one).",
        label="tab:cutoffs",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
