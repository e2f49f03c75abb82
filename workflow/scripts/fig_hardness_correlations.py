"""Rule fig_hardness_correlations: the ARC Spearman matrix (the paper's Figure 2)."""

from e2h.figures.fig_hardness_correlations import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
