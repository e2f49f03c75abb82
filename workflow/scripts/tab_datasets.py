"""Rule tab_datasets: dataset sizes and applicable hardness measures."""

import pandas as pd
import yaml

from e2h.logs import run_with_log
from e2h.plotting import save_table
from e2h.tables import tab_datasets


def main(smk) -> None:
    tables = {
        d: pd.read_parquet(p) for d, p in zip(smk.params.datasets, smk.input.tables, strict=True)
    }
    paper = yaml.safe_load(open(smk.input.paper))["dataset_sizes"]["n"]
    frame = tab_datasets.build(tables, smk.params.measures, paper)
    save_table(
        frame,
        smk.output.csv,
        smk.output.tex,
        caption="Datasets, sizes and hardness measures.",
        label="tab:datasets",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
