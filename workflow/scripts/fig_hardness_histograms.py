"""Rule fig_hardness_histograms: histograms of every hardness measure."""

import pandas as pd

from e2h.figures import fig_hardness_histograms as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    tables = {
        d: pd.read_parquet(p) for d, p in zip(smk.params.datasets, smk.input.tables, strict=True)
    }
    data = fig_mod.build(tables, smk.params.measures)
    write_csv(data, smk.output.data)
    save_figure(fig_mod.draw(data), smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
