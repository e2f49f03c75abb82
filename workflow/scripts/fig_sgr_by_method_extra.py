"""Rule fig_sgr_by_method_extra: SGR by training method on the secondary measures."""

from e2h.figures import fig_sgr_by_method as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    panels = fig_mod.load_method_panels(smk.params.panels, smk.params.tables)
    data = fig_mod.build(
        panels, smk.params.draws, smk.params.seed, purpose="fig-sgr-by-method-extra"
    )
    write_csv(data, smk.output.data)
    fig = fig_mod.draw(
        data, smk.params.title, error_bars=smk.params.error_bars, left_out=smk.params.left_out
    )
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
