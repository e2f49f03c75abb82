"""Rule fig_hardness_correlations_all: Spearman matrices of every dataset."""

from e2h.figures.fig_hardness_correlations import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
