"""Rule tab_sgr_vs_pgr: SGR and PGR with intervals, the weak supervisor and the ceiling."""

from e2h.figures import fig_sgr_vs_pgr as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_table


def main(smk) -> None:
    loaded = fig_mod.load(smk.params.panels, smk.params.tables)
    data = fig_mod.build(loaded, smk.params.draws, smk.params.seed, purpose="tab-sgr-vs-pgr")
    full = fig_mod.table(data)
    write_csv(full, smk.output.csv)
    save_table(
        full[fig_mod.DISPLAY],
        None,
        smk.output.tex,
        label="tab:sgr-vs-pgr",
        caption="Hard-test accuracy (fraction, boot-averaged) of the unsupervised student, the "
        "weak supervisor, the student on easy gold labels, on weak labels of the hard items "
        "(W2S) and of the easy items, and on hard gold labels (the ceiling); SGR = (Easy - "
        "Unsup) / (Hard - Unsup) and PGR = (W2S - Weak) / (Hard - Weak), plug-in value ± "
        f"half-width of the 95% bootstrap interval with two-sided p ({smk.params.draws} draws).",
        float_format="{:.3f}",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
