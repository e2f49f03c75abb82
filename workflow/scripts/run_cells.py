"""Cell jobs of prompting methods (zero-shot, ICL, ICL-CoT): every cell of the job's group
(e2h.plan.CellGroup), of the population grid or of 3rd grade -> college (each spec says
which), with the model loaded once."""

from e2h.cells import CellSpec, summarise_cell
from e2h.jobs import CellJob, ModelCache, cell_data, read_tables, run_cell_group
from e2h.logs import run_with_log
from e2h.prompting import score_splits
from e2h.weak import WeakLabels


def main(smk) -> None:
    tables = read_tables(smk.input.tables)
    models = ModelCache(smk.input.get("model"))

    def run_one(spec: CellSpec, params: dict) -> CellJob:
        model, tokenizer = models(spec.model, params["registry"])
        entry = params["registry"][spec.model]
        data = cell_data(spec, tables)
        weak = WeakLabels.read(params["weak_labels"]) if spec.weak else None
        pred = score_splits(
            data.train_table, data.test_table, data.splits, spec, model, tokenizer,
            entry["batch_size"], entry["max_length"], weak=weak,
        )  # fmt: skip
        summary = summarise_cell(pred, data.test_table, data.measure, data.splits)
        details = weak.record() if weak is not None else None
        return CellJob(pred, summary, dict(params["spec"]), details=details)

    run_cell_group(smk, run_one)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
