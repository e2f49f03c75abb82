"""Rule prepare_dataset: normalise one dataset into results/data/{dataset}/items.parquet."""

from e2h.data.prepare import write_prepared
from e2h.logs import run_with_log


def main(smk) -> None:
    write_prepared(
        smk.wildcards.dataset, smk.params.data, smk.output.table, smk.output.provenance, smk.config
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
