"""Rule fig_sgr_vs_pgr: SGR beside PGR per dataset and student method."""

from e2h.figures import fig_sgr_vs_pgr as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    loaded = fig_mod.load(smk.params.panels, smk.params.tables)
    data = fig_mod.build(loaded, smk.params.draws, smk.params.seed, purpose="fig-sgr-vs-pgr")
    write_csv(data, smk.output.data)
    save_figure(fig_mod.draw(data), smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
