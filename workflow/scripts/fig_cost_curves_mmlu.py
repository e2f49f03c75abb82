"""Rule fig_cost_curves_mmlu: the MMLU panel of fig-cost-curves alone (the main-text version)."""

from e2h.figures import fig_cost_curves as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    panels = fig_mod.load_panels(smk.params.panels, smk.params.tables)
    data = fig_mod.build(panels, smk.params.cost, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    save_figure(fig_mod.draw(data, smk.params.title), smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
