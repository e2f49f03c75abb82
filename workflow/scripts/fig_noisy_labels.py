"""Rule fig_noisy_labels: hard-test accuracy of easy / hard probes as label noise grows."""

from e2h.figures.fig_noisy_labels import run
from e2h.logs import run_with_log

if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, run)  # noqa: F821
