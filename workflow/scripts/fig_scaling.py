"""Rule fig_scaling: Unsup / Easy / Hard per ladder model, with its SGR."""

from e2h.figures import fig_by_model
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.panels import load_panels
from e2h.plotting import save_figure, set_style
from e2h.tables.tab_model_ladder import ladder_order


def main(smk) -> None:
    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    order = ladder_order(smk.input.ladder)
    data = fig_by_model.build(
        panels, order, smk.params.draws, smk.params.seed, purpose="fig-scaling"
    )
    write_csv(data, smk.output.data)
    fig = fig_by_model.draw(data, smk.params.title, error_bars=smk.params.error_bars)
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
