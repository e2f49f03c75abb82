"""The workflow as a whole: lint, format, DAG shape, SLURM dry run, and end-to-end runs."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml

from e2h.data.sources import sha256_file
from tests.conftest import ROOT, SNAPSHOT

TEST_CFG = ROOT / "tests" / "data" / "config.test.yaml"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
DATA_RULES = {"prepare_dataset": 4, "split_hardness_pool": 4, "annotate_human_hardness": 4}
FIGURE_IDS = ["fig-hardness-histograms", "fig-hardness-correlations"]
TABLE_IDS = ["tab-datasets", "tab-cutoffs"]


def copy_repository(dest: Path) -> Path:
    """A copy of the tracked files (tests may edit it; its Snakefile runs its own package)."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for rel in files:
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)
    return dest


def smk(
    workdir: Path,
    *args: str,
    configfile: Path = TEST_CFG,
    check: bool = True,
    snakefile: Path = ROOT / "Snakefile",
):
    cmd = [
        *SNAKEMAKE,
        "--snakefile",
        str(snakefile),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        *args,
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return out


def test_lint_is_clean(tmp_path):
    out = smk(tmp_path, "--lint", configfile=ROOT / "config.yaml", check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_snakefmt_is_clean():
    files = [str(ROOT / "Snakefile"), str(ROOT / "rules")]
    out = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", *files], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_is_clean():
    out = subprocess.run(
        [sys.executable, "-m", "ruff", "check", str(ROOT / "workflow"), str(ROOT / "tests")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dry_run_dag_shape(tmp_path):
    out = smk(tmp_path, "--summary")
    summary = pd.read_csv(io.StringIO(out.stdout), sep="\t")
    per_rule = summary.groupby("rule")["output_file"].nunique()
    for rule, jobs in DATA_RULES.items():
        outputs_per_job = 2
        assert per_rule[rule] == jobs * outputs_per_job
    figs = set(summary.loc[summary["rule"].str.startswith("fig_"), "output_file"])
    assert {f"figures/{f}.pdf" for f in FIGURE_IDS} <= figs
    assert {f"results/figure_data/{f}.csv" for f in FIGURE_IDS} <= figs
    tabs = set(summary.loc[summary["rule"].str.startswith("tab_"), "output_file"])
    assert tabs == {f"results/tables/{t}.{e}" for t in TABLE_IDS for e in ("csv", "tex")}


def test_slurm_profile_dry_run_resolves_resources(tmp_path):
    out = smk(
        tmp_path,
        "-n",
        "--profile",
        str(ROOT / "workflow/profiles/slurm"),
        configfile=ROOT / "config.yaml",
    )
    jobs = [line for line in out.stdout.splitlines() if line.strip().startswith("resources:")]
    assert len(jobs) >= 12
    assert not any("<TBD>" in line for line in jobs), jobs
    assert all("mem_mb=" in line and "runtime=" in line for line in jobs)


def test_invalid_config_fails_before_any_job(tmp_path):
    out = smk(tmp_path, "--cores", "1", "--config", "seed=abc", check=False)
    assert out.returncode != 0
    assert "seed: expected integer, got str 'abc'" in out.stdout + out.stderr
    assert not (tmp_path / "results").exists()


def test_k_or_n_larger_than_a_level_is_refused_before_any_job(tmp_path):
    """At parse time (e2h.strata): the key, the dataset, the measure, the level and the
    number of items that level has; nothing is written."""
    cfg = yaml.safe_load((ROOT / "config.yaml").read_text())
    cfg["experiments"]["k"]["arc"] = 700
    cfg["experiments"]["trained"]["n"] = 2000
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = smk(tmp_path / "run", "--cores", "1", configfile=path, check=False)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert (
        "experiments.k.arc: 700 training items of arc human_difficulty = hard, but that level "
        "has 519 probing items" in text
    ), text[-3000:]
    assert "experiments.trained.n: 2000 training items of mmlu human_hardness = easy" in text
    assert not (tmp_path / "run" / "results").exists()


def test_one_figure_by_id_target(tmp_path):
    out = smk(tmp_path, "-n", "fig_hardness_histograms")
    assert "fig_hardness_histograms" in out.stdout
    assert "tab_cutoffs" not in out.stdout


@pytest.mark.slow
def test_end_to_end_data_stage(tmp_path):
    smk(tmp_path, "--cores", "2")
    for fig in FIGURE_IDS:
        for ext in ("pdf", "png"):
            assert (tmp_path / "figures" / f"{fig}.{ext}").stat().st_size > 1000
        assert (tmp_path / "results/figure_data" / f"{fig}.csv").exists()
    for tab in TABLE_IDS:
        assert "\\begin{tabular}" in (tmp_path / f"results/tables/{tab}.tex").read_text()
    cors = pd.read_csv(tmp_path / "results/figure_data/fig-hardness-correlations.csv")
    compared = cors[cors["paper_rho"].notna()]
    assert len(compared) == 10 and compared["within_tolerance"].all()
    arc = pd.read_parquet(tmp_path / "results/hardness/arc/human.parquet")
    assert len(arc) == 4521 and arc["probing"].sum() == 3521
    assert len((tmp_path / "results/data/arc/hardness_pool_ids.txt").read_text().split()) == 1000
    assert len((tmp_path / "results/data/gsm8k/probing_ids.txt").read_text().split()) == 7792
    prov = json.loads((tmp_path / "results/provenance.json").read_text())
    assert prov["git"]["commit"] and prov["packages"]["snakemake"]
    assert prov["datasets"]["gsm8k"]["files"]["gsm8k.jsonl.gz"]["sha256"]
    assert (tmp_path / "results/logs/prepare_dataset/arc.log").read_text()
    assert (tmp_path / "results/benchmarks/prepare_dataset/arc.tsv").exists()
    again = smk(tmp_path, "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
    smk(tmp_path, "--report", str(tmp_path / "report.html"))
    assert (tmp_path / "report.html").stat().st_size > 10_000


def _corrupt_snapshot(snap: Path, dataset_file: str, row: int, field: str) -> bytes:
    """Drop ``field`` from one row and re-sign the manifest, so the row check must catch it."""
    path = snap / dataset_file
    original = path.read_bytes()
    lines = gzip.decompress(original).decode().splitlines()
    rec = json.loads(lines[row])
    del rec[field]
    lines[row] = json.dumps(rec)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    manifest = json.loads((snap / "MANIFEST.json").read_text())
    manifest["files"][dataset_file]["sha256"] = sha256_file(path)
    (snap / "MANIFEST.json").write_text(json.dumps(manifest))
    return original


@pytest.mark.slow
def test_bad_row_fails_names_file_and_row_and_rerun_resumes(tmp_path):
    snap = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT, snap)
    manifest = (snap / "MANIFEST.json").read_text()
    original = _corrupt_snapshot(snap, "strategyqa.jsonl.gz", 5, "question")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        TEST_CFG.read_text().replace("snapshot_dir: workflow/snapshot", f"snapshot_dir: {snap}")
    )
    work = tmp_path / "run"
    # the items of every dataset (the stage a bad row stops); the whole run: the test above
    items = [f"results/data/{d}/items.parquet" for d in ("arc", "mmlu", "strategyqa", "gsm8k")]
    out = smk(work, "--cores", "2", "--keep-going", *items, configfile=cfg, check=False)
    assert out.returncode != 0
    log = (work / "results/logs/prepare_dataset/strategyqa.log").read_text()
    assert "strategyqa.jsonl.gz, row 5" in log and "missing field 'question'" in log
    assert not (work / "results/data/strategyqa/items.parquet").exists()
    assert (work / "results/data/arc/items.parquet").exists()  # other datasets finished
    # one file names every failed job, its log and the error
    failures = (work / "results/logs/failures.txt").read_text()
    assert failures.startswith("1 failed job(s)")
    assert "prepare_dataset [dataset=strategyqa]" in failures
    assert "log: results/logs/prepare_dataset/strategyqa.log" in failures
    assert "row 5" in failures and "missing field 'question'" in failures
    # repair the row: the rerun only does strategyqa's jobs and what depends on them
    (snap / "strategyqa.jsonl.gz").write_bytes(original)
    (snap / "MANIFEST.json").write_text(manifest)
    plan = smk(work, "-n", *items, configfile=cfg).stdout
    assert "prepare_dataset" in plan and "wildcards: dataset=arc" not in plan
    smk(work, "--cores", "2", *items, configfile=cfg)
    assert (work / "results/data/strategyqa/items.parquet").exists()


#: Per dataset (docs/figures.md): trained methods of fig-sgr-by-method and of Table 4, and
#: Table 4's prompting methods.
SGR_TRAINED = {
    "arc": {"probe", "lora_mc"},
    "mmlu": {"probe", "lora_mc"},
    "strategyqa": {"probe", "lora_cot"},
    "gsm8k": {"lora_cot"},
}
TABLE4_TRAINED = {
    "arc": {"probe", "lora_mc"},
    "mmlu": {"probe", "lora_mc"},
    "strategyqa": {"probe", "lora_mc", "lora_cot"},
    "gsm8k": {"lora_cot"},
}
TABLE4_PROMPTING = {"arc": 1, "mmlu": 1, "strategyqa": 2, "gsm8k": 1}


def expected_conditions(config: dict, trained_cells: bool = False) -> int:
    """Cells counted from the config. Prompting (default): zero-shot + ICL per level +
    ICL easy/hard for the extra measures + Table 4's prompting rows. ``trained_cells``:
    the probe/LoRA cells instead (easy/hard per measure and method, plus Table 4)."""
    exp = config["experiments"]
    trained = exp.get("trained") or {}
    methods = set(trained.get("methods", []))
    prompting = learned = 0
    curves = exp.get("learning_curves") or {}
    for dataset, measures in exp["measures"].items():
        extra = (trained.get("extra_measures") or {}).get(dataset, [])
        secondary = (exp.get("extra_measures") or {}).get(dataset, [])
        prompting += 2 * len([m for m in secondary if m not in measures and m not in extra])
        learned += (
            2
            * len(curves.get("sizes") or [])
            * len((curves.get("measures") or {}).get(dataset, []))
        )  # linear-probe learning curves, easy and hard
        prompting += 1 + TABLE4_PROMPTING[dataset] * int(exp["all_to_all"])
        for measure in measures:
            binary = measure == "human_hardness"
            prompting += len([lv for lv in exp["train_levels"] if not (binary and lv == "medium")])
        prompting += 2 * len([m for m in extra if m not in measures])
        learned += 2 * len(set(measures) | set(extra)) * len(SGR_TRAINED[dataset] & methods)
        learned += len(TABLE4_TRAINED[dataset] & methods) * int(exp["all_to_all"])
    return (learned if trained_cells else prompting) * len(exp["models"])


def test_paper_scale_dag_cell_count(tmp_path):
    import yaml

    from e2h.config import validated
    from e2h.plan import Plan

    paper = ROOT / "workflow/configs/paper.yaml"
    out = smk(tmp_path, "-n", "--profile", str(ROOT / "workflow/profiles/slurm"), configfile=paper)
    counts = {
        parts[0]: int(parts[1])
        for parts in map(str.split, out.stdout.splitlines())
        if len(parts) == 2 and parts[1].isdigit()
    }
    cfg = yaml.safe_load(paper.read_text())
    plan = Plan(validated(cfg))
    # one SLURM job per cell at paper scale (execution.group_cells: false)
    assert all(len(g.cells) == 1 for g in plan.groups.values())
    jobs = [g for g in plan.groups.values() if counts.get(g.name) == 1]
    assert len(jobs) == sum(n for rule, n in counts.items() if rule.startswith("cells_"))
    study = [g.kind for g in jobs if g.cells[0].model == "llama2-70b"]
    # 25 population-grid cells + 24 secondary-measure ICL cells (length and MDL) +
    # StrategyQA's non-CoT Table-4 row, + the five Figure-1 sources (ICL, zero-shot), + the
    # ladder's k = 4 StrategyQA easy / hard CoT pair (fig-strategyqa-by-model)
    # + weak-to-strong (ARC grade, MMLU): ICL on weak labels, easy / hard
    assert study.count("prompting") == expected_conditions(cfg) + 5 + 2 + 4 == 61
    # probe 17 + 9 + 7, LoRA-MC 17 + 9 + 1, LoRA-CoT 7 + 7 (ARC, MMLU, StrategyQA, GSM8k),
    # + 60 learning-curve probes, + fig-noisy-labels' easy / hard at 4 noise levels
    trained = len(study) - study.count("prompting")
    # + weak-to-strong: probe and LoRA-MC on weak labels, plain and with the confidence loss
    assert trained == expected_conditions(cfg, trained_cells=True) + 8 + 2 * 2 * 2 * 2
    # other models: the ladder's 7b and 13b (zero-shot on 4 datasets, fig-scaling's MMLU ICL
    # easy / hard); fig-third-grade-to-college-by-model and fig-strategyqa-by-model's 70b-chat,
    # Mixtral and Qwen (zero-shot on 4 datasets, Figure 1's 5 sources, StrategyQA CoT easy /
    # hard); Mixtral also Figure 1's probe and LoRA-MC sources (its -by-method figure)
    others = Counter(g.cells[0].model for g in jobs if g.cells[0].model != "llama2-70b")
    assert others == {
        "llama2-7b": 4 + 2 + 2, "llama2-13b": 4 + 2,  # + the weak supervisor's two probes
        "llama2-70b-chat": 4 + 5 + 2, "qwen-72b": 4 + 5 + 2, "mixtral-8x7b": 4 + 5 + 2 + 4 + 4,
    }  # fmt: skip
    # one zero-shot pass per (dataset, model, prompt) that a probe or a zero-shot cell reads:
    # every one of the 6 models on ARC, MMLU and StrategyQA (GSM8k's zero-shot is CoT); the
    # probes read 7 of them (Llama-2-70b's 3, the transfer model's and the weak supervisor's
    # ARC and MMLU)
    assert counts["extract_hidden_states"] == len(plan.representations) == 6 * 3
    assert {
        (r.dataset, r.model)
        for r in plan.representations.values()
        if any(c.method == "probe" for c in r.cells)
    } == {
        *((d, "llama2-70b") for d in ("arc", "mmlu", "strategyqa")),
        *((d, m) for d in ("arc", "mmlu") for m in ("mixtral-8x7b", "llama2-7b")),
    }
    assert "convert_model" not in counts  # hub models need no conversion
    assert "<TBD>" not in out.stdout
    # job sizes derived from the registry (e2h.resources) for 48 GB GPUs: the 70b in int8
    # scores on two GPUs and trains LoRA on three; the dry run prints the GPU-hours
    cell_jobs = out.stdout.split("rule cells_arc_llama2_70b_")[1:]
    size = {job.split("_", 1)[0]: re.search(r"gpu=(\d+)", job).group(1) for job in cell_jobs}
    assert size["icl"] == "2" and size["lora"] == "3" and size["probe"] == "0", size
    assert "batch_size=4" in out.stdout  # the registry's batch at the first attempt
    estimate = out.stderr.split("Estimated GPU time")[1]
    assert re.search(r"cells \(prompting\)\s+llama2-70b\s+61\s+2\s", estimate), estimate
