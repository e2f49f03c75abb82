"""Cell jobs of prompting methods (zero-shot, ICL, ICL-CoT): every cell of the job's group
(e2h.plan.CellGroup), of the population grid or of 3rd grade -> college (each spec says
which), with the model loaded once."""

import pandas as pd

from e2h.cells import CellSpec, summarise_cell
from e2h.jobs import CellJob, ModelCache, cell_data, read_tables, run_cell_group
from e2h.logs import run_with_log
from e2h.plan import zero_shot_file
from e2h.prompting import score_splits
from e2h.weak import WeakLabels


def main(smk) -> None:
    tables = read_tables(smk.input.tables)
    models = ModelCache(smk.input.get("model"))

    passes = {}  # zero-shot cells read the zero-shot pass (rule extract_hidden_states)
    for path in smk.input.get("zero_shot", []):
        passes[path] = pd.read_parquet(path)

    def run_one(spec: CellSpec, params: dict) -> CellJob:
        entry = params["registry"][spec.model]
        data = cell_data(spec, tables)
        weak = WeakLabels.read(params["weak_labels"]) if spec.weak else None
        zero_shot = None
        if spec.method_info.zero_shot:
            zero_shot = passes[zero_shot_file(spec.dataset, spec.model, spec.prompt)]
            model = tokenizer = None  # nothing to score: the model is not loaded
        else:
            model, tokenizer = models(spec.model, params["registry"])
        pred = score_splits(
            data.train_table, data.test_table, data.splits, spec, model, tokenizer,
            entry["batch_size"], entry["max_length"], weak=weak, zero_shot=zero_shot,
        )  # fmt: skip
        summary = summarise_cell(pred, data.test_table, data.measure, data.splits)
        details = weak.record() if weak is not None else None
        return CellJob(pred, summary, dict(params["spec"]), details=details)

    run_cell_group(smk, run_one)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
