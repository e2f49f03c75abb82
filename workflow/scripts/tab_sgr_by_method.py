"""Rule tab_sgr_by_method: hard-test accuracies and SGR per panel and training method."""

from e2h.figures import fig_sgr_by_method as fig_mod
from e2h.logs import run_with_log
from e2h.plotting import save_table


def main(smk) -> None:
    panels = fig_mod.load_method_panels(smk.params.panels, smk.params.tables)
    data = fig_mod.build(panels, smk.params.draws, smk.params.seed, purpose="tab-sgr-by-method")
    save_table(
        fig_mod.table(data),
        smk.output.csv,
        smk.output.tex,
        label="tab:sgr-by-method",
        caption="Hard-test accuracy (fraction, boot-averaged) of Unsupervised (zero-shot), Easy "
        "and Hard supervision per training method, plug-in SGR, and the bootstrap SGR mean ± "
        f"half-width of the 95% percentile interval with two-sided p ({smk.params.draws} draws).",
        float_format="{:.3f}",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
