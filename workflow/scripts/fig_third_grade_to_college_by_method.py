"""Rule fig_third_grade_to_college_by_method: Figure 1's bars, one facet per method."""

from e2h.figures import fig_third_grade_to_college_by_method as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    preds = fig_mod.load(smk.params.cells)
    data = fig_mod.build(preds, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    fig = fig_mod.draw(data, smk.params.error_bars, left_out=smk.params.left_out)
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
