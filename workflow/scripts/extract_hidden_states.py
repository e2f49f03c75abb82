"""Rule extract_hidden_states: probe features once per (dataset, model, prompt).

The items are those the planned probe cells read (the union of their training and test
items over resamples; with uncapped tests that is the whole probing set).
"""

import pandas as pd

from e2h.cells import CellSpec, splits
from e2h.hidden_states import extract_hidden_states
from e2h.jobs import load_registered_model, read_tables, registry_of_job, set_threads
from e2h.logs import run_with_log
from e2h.models import model_provenance
from e2h.transfer import SOURCES, transfer_splits


def needed_ids(dataset: str, tables: dict[str, pd.DataFrame], cells: list[dict]) -> list[str]:
    """Items of this dataset any of the probe cells trains or tests on."""
    ids: set[str] = set()
    for raw in cells:
        spec = CellSpec.from_dict(raw)
        if not spec.is_transfer:
            for split in splits(tables[dataset], spec):
                ids |= set(split.train_ids) | set(split.test_ids)
            continue
        source = spec.train
        for split in transfer_splits(tables, source, spec.resamples, spec.n, spec.cap, spec.seed):
            if SOURCES[source] and SOURCES[source][0] == dataset:
                ids |= set(split.train_ids)
            if dataset == spec.dataset:
                ids |= set(split.test_ids)
    return sorted(ids)


def main(smk) -> None:
    set_threads(smk.threads)
    key = smk.wildcards.model
    dataset = smk.wildcards.dataset
    registry = registry_of_job(smk)
    tables = read_tables(smk.input.tables)
    ids = needed_ids(dataset, tables, list(smk.params.cells))
    items = tables[dataset].set_index("id", drop=False).loc[ids].reset_index(drop=True)
    model, tokenizer = load_registered_model(key, registry, smk.input.model)
    entry = registry[key]
    info = model_provenance(key, registry, smk.input.model[0] if smk.input.model else None)
    extract_hidden_states(
        model,
        tokenizer,
        items,
        smk.wildcards.prompt,
        str(smk.output.manifest).rsplit("/", 1)[0],
        batch_size=entry["batch_size"],
        max_length=entry["max_length"],
        model_info=info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
