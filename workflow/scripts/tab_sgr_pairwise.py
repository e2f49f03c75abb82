"""Rule tab_sgr_pairwise: arm accuracies and paired differences on the hard test level."""

from e2h.logs import run_with_log
from e2h.panels import load_panels
from e2h.plotting import save_table
from e2h.tables import tab_sgr


def main(smk) -> None:
    panels = load_panels(smk.params.panels, smk.params.tables)
    frame = tab_sgr.pairwise(panels, smk.params.draws, smk.params.seed)
    save_table(
        frame,
        smk.output.csv,
        smk.output.tex,
        label="tab:sgr-pairwise",
        caption="Hard-test accuracy per arm (grid bootstrap) and paired differences "
        "on items present in both arms (mean ± half-width, p).",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
