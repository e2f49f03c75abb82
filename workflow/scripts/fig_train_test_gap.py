"""Rule fig_train_test_gap: hard-test accuracy by the training data's hardness level."""

from e2h.figures import fig_train_test_gap as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.panels import load_panels
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    panels = load_panels(smk.params.panels, smk.params.tables)
    data = fig_mod.build(panels, smk.params.draws, smk.params.seed)
    write_csv(data, smk.output.data)
    fig = fig_mod.draw(data, smk.params.title, error_bars=smk.params.error_bars)
    save_figure(fig, smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
