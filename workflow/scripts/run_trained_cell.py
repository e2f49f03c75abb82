"""Rules run_trained_cell / run_trained_transfer_cell: linear probe or LoRA over resamples.

The same keyed splits as the prompting cells (grid: ``e2h.cells.splits``; 3rd grade ->
college: ``e2h.transfer.transfer_splits``). LoRA checkpoints live under
``params.checkpoints`` until the cell's outputs are written, so a killed job resumes.
"""

import time

import pandas as pd

from e2h.cells import CellSpec, splits, summarise_cell
from e2h.jobs import load_registered_model, set_threads, write_cell
from e2h.logs import run_with_log
from e2h.sampling import ANY_MEASURE
from e2h.trained import (
    Representations,
    clear_checkpoints,
    lora_predictions,
    probe_predictions,
)
from e2h.transfer import SOURCES, transfer_splits


def _cell(smk):
    """(spec, train table, test table, splits, summary measure, representation paths)."""
    raw = dict(smk.params.spec)
    if "source" not in raw:  # a grid cell
        spec = CellSpec(**{**raw, "cap_measures": tuple(raw.get("cap_measures", ()))})
        table = pd.read_parquet(smk.input.table)
        rep = f"results/representations/{spec.dataset}/{spec.model}/p{spec.prompt}"
        return spec, table, table, splits(table, spec), spec.measure, (spec.dataset, rep, rep)
    tables = {"arc": pd.read_parquet(smk.input.arc), "mmlu": pd.read_parquet(smk.input.mmlu)}
    source = raw["source"]
    spec = CellSpec(
        dataset="mmlu",
        model=raw["model"],
        method=raw["method"],
        prompt=raw["prompt"],
        measure="transfer",
        train=source,
        n=raw["k"],
        resamples=raw["resamples"],
        cap=raw["cap"],
        seed=raw["seed"],
    )
    resample_splits = transfer_splits(
        tables, source, raw["resamples"], raw["k"], raw["cap"], raw["seed"]
    )
    train_dataset = SOURCES[source][0]
    reps = tuple(
        f"results/representations/{d}/{spec.model}/p{spec.prompt}" for d in (train_dataset, "mmlu")
    )
    return (
        spec,
        tables[train_dataset],
        tables["mmlu"],
        resample_splits,
        ANY_MEASURE,
        (train_dataset, *reps),
    )


def main(smk) -> None:
    started = time.time()
    set_threads(smk.threads)
    spec, train_table, test_table, resample_splits, measure, reps = _cell(smk)
    settings = dict(smk.params.trained)
    record = dict(smk.params.spec)
    model_input, model_info = None, None
    if spec.method == "probe":
        _, train_dir, test_dir = reps
        train_reps = Representations(train_dir, train_table)
        test_reps = train_reps if test_dir == train_dir else Representations(test_dir, test_table)
        pred, fits = probe_predictions(train_reps, test_reps, resample_splits, spec, settings)
        record["training"] = fits
        record["probe"] = settings
        record["representations"] = {
            "train": train_reps.manifest["sha256"],
            "test": test_reps.manifest["sha256"],
        }
        # the weights that produced the features, as recorded when they were extracted
        model_info = {
            k: v
            for k, v in train_reps.manifest.items()
            if k in ("model_key", "hub_id", "revision", "precision", "source", "path", "gguf")
        }
    else:
        from e2h.lora import LoraSettings

        model_input = smk.input.model
        lora = LoraSettings.from_config(settings["lora"])
        targets = settings["targets"]
        if not targets:
            raise ValueError(f"model {spec.model}: the registry entry has no lora_targets")
        model, tokenizer = load_registered_model(spec.model, smk.params.registry, model_input)
        entry = smk.params.registry[spec.model]
        pred, logs = lora_predictions(
            model,
            tokenizer,
            train_table,
            test_table,
            resample_splits,
            spec,
            targets,
            lora,
            entry.get("batch_size", 8),
            entry.get("max_length", 2048),
            smk.params.checkpoints,
        )
        record["training"] = logs
        record["lora"] = {**settings["lora"], "targets": targets}
    write_cell(
        pred,
        summarise_cell(pred, test_table, measure),
        record,
        smk.output.predictions,
        smk.output.cell,
        smk.params.registry,
        model_input,
        started,
        smk.config,
        model_info=model_info,
    )
    clear_checkpoints(smk.params.checkpoints)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
