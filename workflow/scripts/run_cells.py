"""Cell jobs of prompting methods (zero-shot, ICL, ICL-CoT): every cell of the job's group
(e2h.plan.CellGroup), of the population grid or of 3rd grade -> college (each spec says
which), with the model loaded once."""

from e2h.cells import CellSpec, splits, summarise_cell
from e2h.jobs import CellJob, load_registered_model, read_tables, run_cell_group
from e2h.logs import run_with_log
from e2h.prompting import score_splits
from e2h.sampling import ANY_MEASURE
from e2h.transfer import transfer_cell


def main(smk) -> None:
    tables = read_tables(smk.input.tables)
    models: dict[str, tuple] = {}

    def run_one(spec: CellSpec, params: dict) -> CellJob:
        if spec.model not in models:
            models[spec.model] = load_registered_model(
                spec.model, params["registry"], smk.input.get("model")
            )
        model, tokenizer = models[spec.model]
        entry = params["registry"][spec.model]
        test_table = tables[spec.dataset]
        if spec.is_transfer:
            resample_splits, train_table = transfer_cell(spec, tables)
            measure = ANY_MEASURE
        else:
            resample_splits, train_table = splits(test_table, spec), test_table
            measure = spec.measure
        pred = score_splits(
            train_table, test_table, resample_splits, spec, model, tokenizer,
            entry["batch_size"], entry["max_length"],
        )  # fmt: skip
        return CellJob(pred, summarise_cell(pred, test_table, measure), dict(params["spec"]))

    run_cell_group(smk, run_one)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
