"""Rule benchmark_scoring: this engine vs naive scoring vs lm-evaluation-harness.

The first 200 ARC-Easy test items (by id) scored after 10 fixed ARC-Easy train items (the
first 10 by id), prompt 0040, fp32, 2 threads. lm-evaluation-harness is the optional
``bench`` extra; without it the rule fails and says how to install it.
"""

import importlib.util

import pandas as pd

from e2h.benchmark import run_benchmark, write_results
from e2h.logs import run_with_log


def main(smk) -> None:
    engines = list(smk.params.engines)
    if "lm_eval" in engines and importlib.util.find_spec("lm_eval") is None:
        raise RuntimeError(
            "lm-evaluation-harness is not installed: .venv/bin/pip install -e '.[bench]' "
            "(or run with --config benchmark_engines=fast,naive)"
        )
    table = pd.read_parquet(smk.input.table)
    easy = table[table["source_config"] == "ARC-Easy"].sort_values("id")
    items = easy[easy["source_split"] == "test"].head(smk.params.n_items).reset_index(drop=True)
    demos = easy[easy["source_split"] == "train"].head(smk.params.n_demos).reset_index(drop=True)
    result = run_benchmark(
        smk.input.model,
        items,
        demos,
        prompt_id="0040",
        threads=smk.threads,
        engines=engines,
        per_item_csv=smk.output.per_item,
    )
    write_results(result, smk.output.json, smk.output.csv)


if __name__ == "__main__" and "snakemake" in globals():
    run_with_log(snakemake, main)  # noqa: F821
