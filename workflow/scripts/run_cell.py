"""Rule run_cell: one prompting cell over its resamples (zero-shot, ICL, ICL-CoT), of the
population grid or of 3rd grade -> college (its spec says which)."""

from e2h.cells import CellSpec, splits
from e2h.jobs import read_tables, run_prompting_job
from e2h.logs import run_with_log
from e2h.prompting import score_splits
from e2h.sampling import ANY_MEASURE
from e2h.transfer import transfer_cell


def main(smk) -> None:
    spec = CellSpec.from_dict(dict(smk.params.spec))
    tables = read_tables(smk.input.tables)
    test_table = tables[spec.dataset]
    if spec.is_transfer:
        resample_splits, train_table = transfer_cell(spec, tables)
        measure = ANY_MEASURE
    else:
        resample_splits, train_table, measure = splits(test_table, spec), test_table, spec.measure
    run_prompting_job(
        smk,
        spec.model,
        lambda model, tok, bs, max_len: score_splits(
            train_table, test_table, resample_splits, spec, model, tok, bs, max_len
        ),
        test_table,
        measure,
    )


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
