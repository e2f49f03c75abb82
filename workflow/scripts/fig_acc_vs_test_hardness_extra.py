"""Rule fig_acc_vs_test_hardness_extra: per-item accuracy (train = All) against hardness, the
continuous measures binned (e2h.figures.fig_acc_vs_test_hardness, binned style)."""

import pandas as pd

from e2h.arms import read_predictions
from e2h.figures import fig_acc_vs_test_hardness as fig_mod
from e2h.io import write_csv
from e2h.logs import run_with_log
from e2h.plotting import save_figure, set_style


def main(smk) -> None:
    set_style()
    tables = {d: pd.read_parquet(p) for d, p in smk.params.tables.items()}
    panels = [
        (dict(s), read_predictions([s["path"]]), tables[s["dataset"]]) for s in smk.params.panels
    ]
    data = fig_mod.build_binned(panels)
    write_csv(data, smk.output.data)
    save_figure(fig_mod.draw_binned(data, smk.params.title), smk.output.figures, dpi=smk.params.dpi)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
