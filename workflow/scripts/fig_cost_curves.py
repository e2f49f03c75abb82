"""Rule fig_cost_curves: hard-test accuracy of probe learning curves against labelling cost."""

from e2h.figures.fig_cost_curves import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
