"""Rule tab_sgr_vs_paper: the paper's SGR values next to ours (same dataset, measure, level)."""

import pandas as pd
import yaml

from e2h.logs import run_with_log
from e2h.plotting import save_table
from e2h.tables import tab_sgr


def main(smk) -> None:
    ours = pd.read_csv(smk.input.ours)
    paper = yaml.safe_load(open(smk.input.paper))["sgr"]["rows"]
    frame = tab_sgr.versus_paper(ours, paper)
    save_table(
        frame,
        smk.output.csv,
        smk.output.tex,
        label="tab:sgr-vs-paper",
        caption="SGR of the paper (Llama-2-70b ICL) and of this run, per dataset, "
        "measure and test level, with each side's model and prompt named.",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
