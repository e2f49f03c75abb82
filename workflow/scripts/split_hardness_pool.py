"""Rule split_hardness_pool: the keyed 1000-item MDL pool and the probing set as id lists."""

import logging

import pandas as pd

from e2h.io import write_lines
from e2h.logs import run_with_log
from e2h.pool import draw_hardness_pool


def main(smk) -> None:
    ids = pd.read_parquet(smk.input.table, columns=["id"])["id"].tolist()
    pool = draw_hardness_pool(ids, smk.params.size, smk.wildcards.dataset, smk.params.seed)
    probing = sorted(set(ids) - set(pool))
    write_lines(pool, smk.output.pool)
    write_lines(probing, smk.output.probing)
    logging.info("pool %d items, probing set %d items", len(pool), len(probing))


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
