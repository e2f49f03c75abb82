"""Rule tab_sgr: SGR per panel on the hard and all test levels (two-way bootstrap)."""

from e2h.logs import run_with_log
from e2h.panels import load_panels
from e2h.plotting import save_table
from e2h.tables import tab_sgr


def main(smk) -> None:
    panels = load_panels(smk.params.panels, smk.params.tables)
    frame = tab_sgr.build(panels, smk.params.draws, smk.params.seed)
    save_table(
        frame,
        smk.output.csv,
        smk.output.tex,
        label="tab:sgr",
        caption="Supervision Gap Recovered: bootstrap mean ± half-width of the 95% "
        f"percentile interval, two-sided p ({smk.params.draws} draws).",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
