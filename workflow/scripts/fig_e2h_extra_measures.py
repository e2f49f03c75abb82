"""Rule fig_e2h_extra_measures: hard-test accuracy by train source on the secondary measures
(question and answer length, MDL)."""

from e2h.figures import fig_e2h
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.panels import load_panels
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    data = fig_e2h.build(panels, smk.params.level, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    fig = fig_e2h.draw(
        data, smk.params.title, error_bars=smk.params.error_bars, ncols=smk.params.ncols
    )
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
