"""Rule extract_hidden_states: probe features once per (dataset, model, prompt) (§8.3)."""

import pandas as pd

from e2h.hidden_states import extract_hidden_states
from e2h.jobs import load_registered_model, model_only, set_threads
from e2h.logs import run_with_log
from e2h.models import model_provenance


def main(smk) -> None:
    set_threads(smk.threads)
    key = smk.wildcards.model
    registry = smk.params.registry
    table = pd.read_parquet(smk.input.table)
    items = table[table["probing"]].reset_index(drop=True)
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
