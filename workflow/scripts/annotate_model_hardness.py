"""Rule annotate_model_hardness: the model average of every MDL measure over all configured
hardness models, its levels by the percentile rule, merged with the human hardness table into
the dataset's hardness table (docs/hardness.md#mdl)."""

import logging

import pandas as pd

from e2h import model_hardness as mh
from e2h.hardness import annotate_levels, cutoffs_frame, level_counts
from e2h.io import write_csv, write_parquet
from e2h.logs import run_with_log


def main(smk) -> None:
    human = pd.read_parquet(smk.input.table)
    measures = dict(smk.params.measures)
    models = list(smk.params.models)
    per_model: dict[str, pd.DataFrame] = {}
    for path in smk.input.scores:  # results/mdl/<dataset>/<model>/<variant>.parquet
        model = path.split("/")[-2]
        frame = pd.read_parquet(path)
        per_model[model] = (
            frame if model not in per_model else per_model[model].merge(frame, on="id")
        )
    columns = list(measures)
    long = pd.concat(
        [f[["id", *columns]].assign(model=m) for m, f in per_model.items()], ignore_index=True
    )
    write_parquet(long, smk.output.per_model)
    average = mh.average_over_models(per_model, models, columns)
    merged = human.drop(columns=[c for c in columns if c in human.columns]).merge(
        average, on="id", how="left"
    )
    table, cutoffs = annotate_levels(
        merged, set(merged.loc[merged["probing"], "id"]), smk.wildcards.dataset, measures,
        tuple(smk.params.percentiles),
    )  # fmt: skip
    # unstratified draws take only items every measure is defined on (e2h.sampling.drawable)
    table["sampled"] = table["probing"] & table[columns].notna().all(axis=1)
    logging.info(
        "%d of %d probing items scored: unstratified draws take them",
        int(table["sampled"].sum()),
        int(table["probing"].sum()),
    )
    write_parquet(table, smk.output.table)
    write_csv(cutoffs_frame(cutoffs), smk.output.cutoffs)
    logging.info(
        "model average over %s; level counts on the probing set:\n%s",
        models, level_counts(table, columns).to_string(),
    )  # fmt: skip


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
