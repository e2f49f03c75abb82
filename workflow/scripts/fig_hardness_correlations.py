"""Rule fig_hardness_correlations: Spearman matrices, with the paper's ARC values compared."""

import logging

import pandas as pd
import yaml

from e2h.figures import fig_hardness_correlations as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    tables = {
        d: pd.read_parquet(p) for d, p in zip(smk.params.datasets, smk.input.tables, strict=True)
    }
    paper = yaml.safe_load(open(smk.input.paper))["arc_correlations"]["pairs"]
    data = fig_mod.build(tables, smk.params.measures, paper, smk.params.tolerance)
    write_csv(data, smk.output.data)
    compared = data[data["paper_rho"].notna()]
    off = compared[~compared["within_tolerance"].astype(bool)]
    logging.info(
        "ARC vs paper: %d pairs compared, max |diff| %.3f, %d outside ±%.2f",
        len(compared),
        compared["abs_diff_vs_paper"].max() if len(compared) else 0,
        len(off),
        smk.params.tolerance,
    )
    for r in off.itertuples():
        logging.warning(
            "ARC %s vs %s: ours %.3f, paper %.2f", r.measure_x, r.measure_y, r.rho, r.paper_rho
        )
    save_figure(fig_mod.draw(data), smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
