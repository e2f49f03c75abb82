"""Rule fig_cost_curves_mmlu: the MMLU panel of fig-cost-curves alone (the main-text version)."""

from e2h.figures.fig_cost_curves import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
