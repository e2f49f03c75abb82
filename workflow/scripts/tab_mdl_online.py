"""Rule tab_mdl_online: online code lengths of the MDL learning curves."""

import pandas as pd

from e2h.logs import run_with_log
from e2h.plotting import save_table
from e2h.tables import tab_mdl_online


def main(smk) -> None:
    online = pd.concat([pd.read_csv(p) for p in smk.input.online], ignore_index=True)
    frame = tab_mdl_online.build(online)
    save_table(
        frame.round(3),
        smk.output.csv,
        smk.output.tex,
        caption="Online code length of the hardness pool's training stream per hardness model "
        "and method (bits; compression = uniform / online, mean and sd over resamples).",
        label="tab:mdl-online",
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
