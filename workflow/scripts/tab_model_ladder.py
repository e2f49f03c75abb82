"""Rule tab_model_ladder: every ladder model's zero-shot accuracy on the same items."""

from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_table
from e2h.tables import tab_model_ladder


def main(smk) -> None:
    frame = tab_model_ladder.build(smk.params.cells, smk.params.draws, smk.params.seed)
    write_csv(frame, smk.output.csv)  # long form, full precision: the figures read it
    save_table(
        tab_model_ladder.display(frame),
        None,
        smk.output.tex,
        caption="Zero-shot accuracy (%) of each ladder model on the same test items, with 95 % "
        "grid-bootstrap CIs; rank 1 is the weakest (mean accuracy above chance).",
        label="tab:model-ladder",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
