"""The experiment grid: every condition the configured figures need (study.md §15).

Built once from the config as a DataFrame (one row per condition) so the DAG is static
and a dry run shows every job. Zero-shot conditions are shared by every measure (D-23).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from e2h.sampling import ANY_MEASURE

#: Prompt ids per dataset and method (study.md §6).
PROMPTS = {
    ("arc", "zs"): "0040",
    ("arc", "icl"): "0040",
    ("mmlu", "zs"): "0040",
    ("mmlu", "icl"): "0040",
    ("strategyqa", "zs"): "0306",
    ("strategyqa", "icl_cot"): "0305",
    ("gsm8k", "zs_cot"): "5305",
    ("gsm8k", "icl_cot"): "0305",
}
#: The supervised prompting method (ICL*) and the Unsupervised arm per dataset.
ICL_METHOD = {"arc": "icl", "mmlu": "icl", "strategyqa": "icl_cot", "gsm8k": "icl_cot"}
UNSUP_METHOD = {"arc": "zs", "mmlu": "zs", "strategyqa": "zs", "gsm8k": "zs_cot"}
#: Measures with two levels only: no medium training condition (D-17).
BINARY_MEASURES = {"human_hardness"}

COLUMNS = [
    "dataset",
    "model",
    "method",
    "prompt",
    "measure",
    "train",
    "n",
    "resamples",
    "cap",
    "seed",
]


def cap_token(cap: int | None) -> str:
    return "all" if cap is None else str(int(cap))


def conditions(config: dict[str, Any]) -> pd.DataFrame:
    """One row per prompting condition of the population grid and the all-to-all runs."""
    exp = config["experiments"]
    rows = []
    for dataset in config["datasets"]:
        if dataset not in exp["measures"]:
            continue
        k, cap = exp["k"][dataset], exp["test_cap"].get(dataset)
        for model in exp["models"]:
            base = {
                "dataset": dataset,
                "model": model,
                "cap": cap_token(cap),
                "seed": config["seed"],
            }
            unsup = UNSUP_METHOD[dataset]
            rows.append(
                {
                    **base,
                    "method": unsup,
                    "prompt": PROMPTS[(dataset, unsup)],
                    "measure": ANY_MEASURE,
                    "train": "unsup",
                    "n": 0,
                    "resamples": exp["resamples"],
                }
            )  # covers every resample's test items
            icl = ICL_METHOD[dataset]
            sup = {
                **base,
                "method": icl,
                "prompt": PROMPTS[(dataset, icl)],
                "n": k,
                "resamples": exp["resamples"],
            }
            for measure in exp["measures"][dataset]:
                for level in exp["train_levels"]:
                    if level == "medium" and measure in BINARY_MEASURES:
                        continue
                    rows.append({**sup, "measure": measure, "train": level})
            if exp.get("all_to_all", True):
                rows.append({**sup, "measure": ANY_MEASURE, "train": "all"})
    return pd.DataFrame(rows, columns=COLUMNS)


def cap_measures(config: dict[str, Any], dataset: str) -> list[str]:
    """Measures whose capped test samples the shared zero-shot cell must cover."""
    exp = config["experiments"]
    measures = list(exp["measures"].get(dataset, []))
    if exp.get("all_to_all", True):
        measures.append(ANY_MEASURE)
    return measures


def reserve(config: dict[str, Any], dataset: str) -> int:
    """Largest training draw on a dataset: capped test samples leave that many per level."""
    return int(config["experiments"]["k"][dataset])


CELL_PATH = (
    "results/cells/{dataset}/{model}/{method}-{prompt}/{measure}/{train}-n{n}/"
    "r{resamples}-cap{cap}-s{seed}"
)


def cell_paths(frame: pd.DataFrame, name: str = "predictions.parquet") -> list[str]:
    return [CELL_PATH.format(**row) + "/" + name for row in frame.astype(str).to_dict("records")]


CELL_PREDICTIONS = CELL_PATH + "/predictions.parquet"
CELL_RECORD = CELL_PATH + "/cell.json"
CELL_LOG = CELL_PATH.replace("results/cells", "results/logs/run_cell") + ".log"
CELL_BENCHMARK = CELL_PATH.replace("results/cells", "results/benchmarks/run_cell") + ".tsv"

TRANSFER_PATH = (
    "results/cells/transfer/{model}/{method}-{prompt}/{source}/k{k}/r{resamples}-cap{cap}-s{seed}"
)
TRANSFER_PREDICTIONS = TRANSFER_PATH + "/predictions.parquet"
TRANSFER_RECORD = TRANSFER_PATH + "/cell.json"
TRANSFER_LOG = TRANSFER_PATH.replace("results/cells", "results/logs/run_cell") + ".log"
TRANSFER_BENCHMARK = TRANSFER_PATH.replace("results/cells", "results/benchmarks/run_cell") + ".tsv"
