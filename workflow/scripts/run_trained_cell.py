"""Rule run_trained_cell: a linear-probe or LoRA cell over its resamples, of the grid or of
3rd grade -> college (its spec says which).

The same keyed splits as the prompting cells (``e2h.cells.splits`` or
``e2h.transfer.transfer_cell``). A probe reads the cached hidden states given as inputs; LoRA
checkpoints live under ``params.checkpoints`` until the cell's outputs are written, so a
killed job resumes.
"""

import time
from pathlib import Path

from e2h import registry
from e2h.cells import CellSpec, splits, summarise_cell
from e2h.jobs import load_registered_model, read_tables, set_threads, write_cell
from e2h.logs import run_with_log
from e2h.sampling import ANY_MEASURE
from e2h.trained import Representations, clear_checkpoints, lora_predictions, probe_predictions
from e2h.transfer import transfer_cell

#: Cell-record fields of the extracted model that a probe inherits from its features.
MODEL_FIELDS = ("model_key", "hub_id", "revision", "precision", "source", "path", "gguf")


def _cell(smk):
    """(spec, train table, test table, splits, level measure) of a grid or transfer cell."""
    spec = CellSpec.from_dict(dict(smk.params.spec))
    tables = read_tables(smk.input.tables)
    test_table = tables[spec.dataset]
    if spec.is_transfer:
        resample_splits, train_table = transfer_cell(spec, tables)
        return spec, train_table, test_table, resample_splits, ANY_MEASURE
    return spec, test_table, test_table, splits(test_table, spec), spec.measure


def _probe(smk, spec, train_table, test_table, resample_splits, settings):
    train_dir = Path(smk.input.train_features[0]).parent
    test_dir = Path(smk.input.test_features[0]).parent
    train_reps = Representations(train_dir, train_table)
    test_reps = train_reps if test_dir == train_dir else Representations(test_dir, test_table)
    pred, fits = probe_predictions(train_reps, test_reps, resample_splits, spec, settings)
    details = {
        "training": fits,
        "representations": {
            "train": train_reps.manifest["sha256"],
            "test": test_reps.manifest["sha256"],
        },
    }
    # the weights that produced the features, as recorded when they were extracted
    model_info = {k: v for k, v in train_reps.manifest.items() if k in MODEL_FIELDS}
    return pred, details, model_info


def _lora(smk, spec, train_table, test_table, resample_splits, settings):
    from e2h.lora import LoraSettings

    if not settings["targets"]:
        raise ValueError(f"model {spec.model}: the registry entry has no lora_targets")
    model, tokenizer = load_registered_model(spec.model, smk.params.registry, smk.input.model)
    entry = smk.params.registry[spec.model]
    # how often to checkpoint changes no prediction, so it is read here, not hashed
    every = smk.config["experiments"]["trained"]["lora"]["checkpoint_every"]
    pred, logs = lora_predictions(
        model,
        tokenizer,
        train_table,
        test_table,
        resample_splits,
        spec,
        settings["targets"],
        LoraSettings.from_config({**settings["lora"], "checkpoint_every": every}),
        entry["batch_size"],
        entry["max_length"],
        smk.params.checkpoints,
    )
    return pred, {"training": logs}, None


def main(smk) -> None:
    started = time.time()
    set_threads(smk.threads)
    spec, train_table, test_table, resample_splits, measure = _cell(smk)
    settings = dict(smk.params.trained)
    kind = registry.method(spec.method).kind
    run = _probe if kind == "probe" else _lora
    pred, details, model_info = run(smk, spec, train_table, test_table, resample_splits, settings)
    write_cell(
        pred,
        summarise_cell(pred, test_table, measure),
        {**spec.as_dict(), kind: settings},  # the hashed settings
        smk.output.predictions,
        smk.output.cell,
        smk.params.registry,
        smk.input.get("model"),
        started,
        smk.config,
        model_info=model_info,
        details=details,
    )
    clear_checkpoints(smk.params.checkpoints)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
