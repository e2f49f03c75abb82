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
    ("strategyqa", "icl"): "0306",  # Table 4's non-CoT ICL row
    # trained methods (§8.3-8.5): probe features and LoRA-MC on the zero-shot MC prompt
    ("arc", "probe"): "0040",
    ("mmlu", "probe"): "0040",
    ("strategyqa", "probe"): "0306",
    ("arc", "lora_mc"): "0040",
    ("mmlu", "lora_mc"): "0040",
    ("strategyqa", "lora_mc"): "0306",
    ("strategyqa", "lora_cot"): "0305",
    ("gsm8k", "lora_cot"): "0305",
}
#: The supervised prompting method (ICL*) and the Unsupervised arm per dataset.
ICL_METHOD = {"arc": "icl", "mmlu": "icl", "strategyqa": "icl_cot", "gsm8k": "icl_cot"}
UNSUP_METHOD = {"arc": "zs", "mmlu": "zs", "strategyqa": "zs", "gsm8k": "zs_cot"}
#: Trained methods of fig-sgr-by-method per dataset (figures.md §4): the probe where the
#: dataset is multiple-choice, LoRA-MC on ARC/MMLU and LoRA-CoT on StrategyQA/GSM8k.
SGR_TRAINED = {
    "arc": ["probe", "lora_mc"],
    "mmlu": ["probe", "lora_mc"],
    "strategyqa": ["probe", "lora_cot"],
    "gsm8k": ["lora_cot"],
}
#: Table 4 (tab-all-to-all): every method on all data, per dataset.
ALL_TO_ALL = {
    "arc": ["icl", "probe", "lora_mc"],
    "mmlu": ["icl", "probe", "lora_mc"],
    "strategyqa": ["icl", "probe", "lora_mc", "icl_cot", "lora_cot"],
    "gsm8k": ["icl_cot", "lora_cot"],
}
TRAINED_METHODS = ("probe", "lora_mc", "lora_cot")
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


def _trained(exp: dict[str, Any]) -> dict[str, Any]:
    return exp.get("trained") or {}


def trained_methods(config: dict[str, Any], dataset: str, table: dict[str, list[str]]) -> list:
    """The configured trained methods that apply to a dataset, in the table's order."""
    wanted = set(_trained(config["experiments"]).get("methods", []))
    return [m for m in table[dataset] if m in wanted or m not in TRAINED_METHODS]


def extra_measures(config: dict[str, Any], dataset: str) -> list[str]:
    """Secondary measures of fig-sgr-by-method-extra for a dataset (may be empty)."""
    return list((_trained(config["experiments"]).get("extra_measures") or {}).get(dataset, []))


def conditions(config: dict[str, Any]) -> pd.DataFrame:
    """One row per condition of the population grid, the trained-method grid and the
    all-to-all runs (prompting and trained methods)."""
    exp = config["experiments"]
    trained = _trained(exp)
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
                "resamples": exp["resamples"],
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
                }
            )  # covers every resample's test items
            icl = ICL_METHOD[dataset]
            sup = {**base, "method": icl, "prompt": PROMPTS[(dataset, icl)], "n": k}
            for measure in exp["measures"][dataset]:
                for level in exp["train_levels"]:
                    if level == "medium" and measure in BINARY_MEASURES:
                        continue
                    rows.append({**sup, "measure": measure, "train": level})
            for measure in extra_measures(config, dataset):
                for level in trained.get("train_levels", ["easy", "hard"]):
                    if measure not in exp["measures"][dataset] or level not in exp["train_levels"]:
                        rows.append({**sup, "measure": measure, "train": level})
            methods = [
                m for m in trained_methods(config, dataset, SGR_TRAINED) if m in TRAINED_METHODS
            ]
            for method in methods:
                cell = {**base, "method": method, "prompt": PROMPTS[(dataset, method)]}
                cell["n"] = int(trained["n"])
                for measure in exp["measures"][dataset] + extra_measures(config, dataset):
                    for level in trained.get("train_levels", ["easy", "hard"]):
                        if level == "medium" and measure in BINARY_MEASURES:
                            continue
                        rows.append({**cell, "measure": measure, "train": level})
            if exp.get("all_to_all", True):
                for method in trained_methods(config, dataset, ALL_TO_ALL):
                    n = k if method not in TRAINED_METHODS else int(trained["n"])
                    rows.append(
                        {
                            **base,
                            "method": method,
                            "prompt": PROMPTS[(dataset, method)],
                            "measure": ANY_MEASURE,
                            "train": "all",
                            "n": n,
                        }
                    )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.drop_duplicates(ignore_index=True)


def cap_measures(config: dict[str, Any], dataset: str) -> list[str]:
    """Measures whose capped test samples the shared zero-shot cell must cover."""
    exp = config["experiments"]
    measures = list(exp["measures"].get(dataset, []))
    measures += [m for m in extra_measures(config, dataset) if m not in measures]
    if exp.get("all_to_all", True):
        measures.append(ANY_MEASURE)
    return measures


def reserve(config: dict[str, Any], dataset: str) -> int:
    """Largest training draw on a dataset: capped test samples leave that many per level."""
    exp = config["experiments"]
    n_trained = int(_trained(exp).get("n", 0)) if _trained(exp).get("methods") else 0
    return max(int(exp["k"][dataset]), n_trained)


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
