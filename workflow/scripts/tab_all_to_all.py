"""Rule tab_all_to_all: Table 4, accuracy of every method trained on all data."""

from e2h.logs import run_with_log
from e2h.tables import tab_all_to_all as tab_mod


def main(smk) -> None:
    long = tab_mod.build(smk.params.rows, smk.params.draws, smk.params.seed)
    tab_mod.save(
        tab_mod.wide(long),
        smk.output.csv,
        smk.output.tex,
        label="tab:all-to-all",
        caption="Test accuracy (×100, boot-averaged over resamples) of each method trained on "
        "all data, ± half-width of the grid-bootstrap 95% percentile interval "
        f"({smk.params.draws} draws); – where a method does not apply.",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
