"""Rule extract_hidden_states: the zero-shot pass of one (dataset, model, prompt).

One forward per item yields the linear probe's features and the zero-shot predictions
(docs/scoring.md#zero-shot-pass). The items are those its cells read: the probe cells'
training and test items over resamples, and the zero-shot cells' test items; only the
latter get predictions (the LM head runs on their choice tokens only). Items the MDL
stage's pass of the same model and prompt already computed are copied from it.
"""

import logging

import pandas as pd

from e2h.cells import CellSpec
from e2h.hidden_states import zero_shot_pass
from e2h.io import write_parquet
from e2h.jobs import cell_data, load_registered_model, read_tables, registry_of_job, set_threads
from e2h.logs import run_with_log
from e2h.models import model_provenance


def needed_ids(
    dataset: str, tables: dict[str, pd.DataFrame], cells: list[dict]
) -> tuple[list[str], list[str]]:
    """Items of this dataset any of the cells trains or tests on, and those of them a
    zero-shot cell tests (the ones that need predictions; probes need hidden states only)."""
    ids: set[str] = set()
    scored: set[str] = set()
    for raw in cells:
        spec = CellSpec.from_dict(raw)
        data = cell_data(spec, tables)
        for split in data.splits:
            if data.train_dataset == dataset:
                ids |= set(split.train_ids)
            if spec.dataset == dataset:
                ids |= set(split.test_ids)
                if spec.method_info.zero_shot:
                    scored |= set(split.test_ids)
    return sorted(ids), sorted(scored)


def main(smk) -> None:
    set_threads(smk.threads)
    key = smk.wildcards.model
    dataset = smk.wildcards.dataset
    registry = registry_of_job(smk)
    tables = read_tables(smk.input.tables)
    ids, scored = needed_ids(dataset, tables, list(smk.params.cells))
    items = tables[dataset].set_index("id", drop=False).loc[ids].reset_index(drop=True)
    logging.info("%d items, %d of them with zero-shot predictions", len(items), len(scored))
    model, tokenizer = load_registered_model(key, registry, smk.input.model)
    entry = registry[key]
    info = model_provenance(key, registry, smk.input.model[0] if smk.input.model else None)
    reuse = smk.input.get("mdl_states")
    pred, _ = zero_shot_pass(
        model, tokenizer, items, smk.wildcards.prompt,
        str(smk.output.manifest).rsplit("/", 1)[0], batch_size=entry["batch_size"],
        max_length=entry["max_length"], model_key=key, model_info=info,
        reuse=(str(reuse).rsplit("/", 1)[0], smk.input.mdl_predictions) if reuse else None,
        scored_ids=scored,
    )  # fmt: skip
    write_parquet(pred, smk.output.zero_shot)
    logging.info("zero-shot accuracy %.3f on %d items", pred["correct"].mean(), len(pred))


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
