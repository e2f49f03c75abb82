"""Rule extract_hidden_states: probe features once per (dataset, model, prompt) (§8.3).

The items are those the configured probe cells read (the union of their training and test
items over resamples; with uncapped tests that is the whole probing set), or every probing
item when no probe cell reads this representation.
"""

import pandas as pd

from e2h.cells import CellSpec, splits
from e2h.hidden_states import extract_hidden_states
from e2h.jobs import load_registered_model, model_only, set_threads
from e2h.logs import run_with_log
from e2h.models import model_provenance
from e2h.transfer import SOURCES, transfer_splits


def needed_ids(dataset: str, tables: dict, cells: dict) -> list[str] | None:
    """Items of this dataset any probe cell trains or tests on; None: no probe cell."""
    if not cells["grid"] and not cells["transfer"]:
        return None
    ids: set[str] = set()
    for raw in cells["grid"]:
        spec = CellSpec(**{**raw, "cap_measures": tuple(raw.get("cap_measures", ()))})
        for split in splits(tables[dataset], spec):
            ids |= set(split.train_ids) | set(split.test_ids)
    for raw in cells["transfer"]:
        source = raw["source"]
        for split in transfer_splits(
            tables, source, raw["resamples"], raw["k"], raw["cap"], raw["seed"]
        ):
            if SOURCES[source] and SOURCES[source][0] == dataset:
                ids |= set(split.train_ids)
            if dataset == "mmlu":
                ids |= set(split.test_ids)
    return sorted(ids)


def main(smk) -> None:
    set_threads(smk.threads)
    key = smk.wildcards.model
    dataset = smk.wildcards.dataset
    registry = smk.params.registry
    tables = {
        name: pd.read_parquet(path)
        for name, path in smk.input.items()
        if name in ("arc", "mmlu", "strategyqa", "gsm8k")
    }
    table = tables[dataset]
    ids = needed_ids(dataset, tables, dict(smk.params.cells))
    if ids is None:
        items = table[table["probing"]].reset_index(drop=True)
    else:
        items = table.set_index("id", drop=False).loc[ids].reset_index(drop=True)
    model, tokenizer = load_registered_model(key, registry, smk.input.model)
    entry = registry[key]
    info = model_provenance(key, model_only(registry), smk.input.model or None)
    extract_hidden_states(
        model,
        tokenizer,
        items,
        smk.wildcards.prompt,
        smk.params.out_dir,
        batch_size=entry.get("batch_size", 8),
        max_length=entry.get("max_length", 2048),
        model_info=info,
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
