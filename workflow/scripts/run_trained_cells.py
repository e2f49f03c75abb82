"""Cell jobs of trained methods: every linear-probe or LoRA cell of the job's group
(e2h.plan.CellGroup), of the grid or of 3rd grade -> college (each spec says which).

The same keyed splits as the prompting cells (``e2h.cells.splits`` or
``e2h.transfer.transfer_cell``). Probes read the cached hidden states given as inputs (each
folder loaded once per job); LoRA loads the model once per job, and its optimiser checkpoints
live under ``params.checkpoints`` until the job's outputs are written, so a killed job
resumes.
"""

from pathlib import Path

from e2h import registry
from e2h.cells import CellSpec, representation_dir, summarise_cell
from e2h.jobs import CellJob, ModelCache, cell_data, read_tables, run_cell_group
from e2h.logs import run_with_log
from e2h.trained import Representations, lora_predictions, probe_predictions
from e2h.weak import WeakLabels

#: Cell-record fields of the extracted model that a probe inherits from its features.
MODEL_FIELDS = (
    "model_key",
    "hub_id",
    "revision",
    "precision",
    "precision_setting",
    "source",
    "path",
    "gguf",
)


def main(smk) -> None:
    tables = read_tables(smk.input.tables)
    models = ModelCache(smk.input.get("model"))
    features: dict[str, Representations] = {}

    def representations(dataset: str, spec: CellSpec) -> Representations:
        directory = representation_dir(dataset, spec.model, spec.prompt)
        if directory not in features:
            features[directory] = Representations(directory, tables[dataset])
        return features[directory]

    def run_one(spec: CellSpec, params: dict) -> CellJob:
        data = cell_data(spec, tables)
        resample_splits, train_table, test_table = data.splits, data.train_table, data.test_table
        settings = dict(params["trained"])
        kind = registry.method(spec.method).kind
        weak = WeakLabels.read(params["weak_labels"]) if spec.weak else None
        model_info = None
        if kind == "probe":
            train_reps = representations(data.train_dataset, spec)
            test_reps = representations(spec.dataset, spec)
            pred, fits = probe_predictions(
                train_reps, test_reps, resample_splits, spec, settings, weak=weak
            )
            details = {
                "training": fits,
                "representations": {
                    "train": train_reps.manifest["sha256"],
                    "test": test_reps.manifest["sha256"],
                },
            }
            # the weights that produced the features, as recorded when they were extracted
            model_info = {k: v for k, v in train_reps.manifest.items() if k in MODEL_FIELDS}
        else:
            from e2h.lora import LoraSettings

            if not settings["targets"]:
                raise ValueError(f"model {spec.model}: the registry entry has no lora_targets")
            base, tokenizer = models(spec.model, params["registry"])
            entry = params["registry"][spec.model]
            # how often to checkpoint changes no prediction, so it is read here, not hashed
            every = smk.config["experiments"]["trained"]["lora"]["checkpoint_every"]
            pred, logs = lora_predictions(
                base, tokenizer, train_table, test_table, resample_splits, spec,
                settings["targets"],
                LoraSettings.from_config({**settings["lora"], "checkpoint_every": every}),
                entry["batch_size"], entry["max_length"],
                Path(smk.params.checkpoints) / spec.directory.removeprefix("results/cells/"),
                weak=weak, confidence_settings=settings.get("confidence"),
            )  # fmt: skip
            details = {"training": logs}
        summary = summarise_cell(pred, test_table, data.measure, resample_splits)
        if weak is not None:
            details.update(weak.record())
        return CellJob(pred, summary, {**spec.as_dict(), kind: settings}, model_info, details)

    run_cell_group(smk, run_one)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
