"""Rule fig_strategyqa_by_model: Unsup / Easy / Hard per ladder model, with its SGR."""

from e2h.figures.fig_by_model import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
