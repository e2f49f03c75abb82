"""The MDL stage end to end on the tiny random model: every variant's scores, the model
average and its levels in the hardness table, tab-mdl-online, the correlation figures, and
what a second hardness model reruns (docs/hardness.md#mdl)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import ROOT
from tests.test_workflow import smk
from tests.tiny_model import build_tiny

pytestmark = pytest.mark.slow

TARGETS = [
    "results/hardness/arc/hardness.parquet",
    "results/hardness/gsm8k/hardness.parquet",
    "results/tables/tab-mdl-online.csv",
    "results/tables/tab-cutoffs.csv",
    "figures/fig-hardness-correlations.png",
    "figures/fig-hardness-correlations-all.png",
]


def tiny_entry(model_dir: Path) -> dict:
    return {
        "local_path": str(model_dir),
        "precision": "auto",
        "threads": 1,
        "lora_targets": ["q_proj", "v_proj"],
        "batch_size": 8,
        "max_length": 1024,
    }


def mdl_config(model_dir: Path, models: list[str]) -> dict:
    cfg = yaml.safe_load((ROOT / "tests/data/config.test.yaml").read_text())
    arc = cfg["datasets"]["arc"]["measures"]
    for m in ("mdl_decoding", "mdl_learned", "mdl_finetuned", "mdl_preq_learned"):
        arc[m] = {"rule": "percentile"}
    cfg["datasets"]["gsm8k"]["measures"]["mdl_nll_decoding"] = {"rule": "percentile"}
    cfg["models"] = {m: tiny_entry(model_dir) for m in models}
    cfg["mdl"] = {
        "models": models,
        "dev": 10,
        "probing_cap": {"arc": 24, "gsm8k": 8},
        "learned": {"sizes": [2, 6], "resamples": 2},
        "finetuned": {"sizes": [2, 4], "resamples": 1, "lora": {"min_steps": 2, "micro_batch": 2}},
    }
    return cfg


@pytest.fixture(scope="module")
def mdl_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("mdl")
    model_dir = build_tiny(base / "tiny")
    cfg_path = base / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(mdl_config(model_dir, ["tiny"])))
    work = base / "work"
    smk(work, "--cores", "2", *TARGETS, configfile=cfg_path)
    return base, work, model_dir


def test_every_variant_is_scored_averaged_and_levelled(mdl_run):
    _, work, _ = mdl_run
    arc = pd.read_parquet(work / "results/hardness/arc/hardness.parquet")
    scored = arc[arc["sampled"]]
    assert len(scored) == 24 and scored["probing"].all()  # the keyed probing sample
    for m in ("mdl_decoding", "mdl_learned", "mdl_finetuned", "mdl_preq_learned"):
        values = scored[m]
        assert values.notna().all() and arc.loc[~arc["sampled"], m].isna().all()
        assert set(scored[f"{m}_level"].dropna()) == {"easy", "medium", "hard"}
    assert scored["mdl_decoding"].between(0, 1).all()
    # with one hardness model the average is that model's score
    per_model = pd.read_parquet(work / "results/hardness/arc/mdl_per_model.parquet")
    decoding = pd.read_parquet(work / "results/mdl/arc/tiny/decoding.parquet").set_index("id")
    np.testing.assert_allclose(
        scored.set_index("id")["mdl_decoding"].sort_index(),
        decoding["mdl_decoding"].sort_index(),
    )
    assert set(per_model["model"]) == {"tiny"}
    for name in ("zero_shot.json", "learned.json", "finetuned.json"):  # provenance beside them
        record = json.loads((work / "results/mdl/arc/tiny" / name).read_text())
        assert record["settings_sha256"] and record["packages"]["torch"]
        assert record["wall_seconds"] >= 0 and record["settings"]["mdl"]["probing_cap"] == 24
    finetuned = json.loads((work / "results/mdl/arc/tiny/finetuned.json").read_text())
    assert set(finetuned["mean_gold_probability_by_size"]) == {"2", "4"}
    gsm = pd.read_parquet(work / "results/hardness/gsm8k/hardness.parquet")
    assert (gsm.loc[gsm["sampled"], "mdl_nll_decoding"] > 0).all()  # nats of the gold answer
    online = pd.read_csv(work / "results/tables/tab-mdl-online.csv")
    assert set(online["Method"]) == {"Linear Probe", "LoRA"}
    assert (online["Uniform bits"] == online["Stream items"] * 2).all()  # 4-choice ARC items
    cutoffs = pd.read_csv(work / "results/tables/tab-cutoffs.csv")
    assert "MDL (ZS Prompt)" in set(cutoffs["Measure"])
    corr = pd.read_csv(work / "results/figure_data/fig-hardness-correlations.csv")
    assert "mdl_decoding" in set(corr["measure_y"]) and "mdl_learned" not in set(corr["measure_y"])
    mdl_pairs = corr[corr["measure_y"].str.startswith("mdl_")]
    assert mdl_pairs["tolerance"].isna().all() and mdl_pairs["paper_rho"].notna().all()


def test_a_second_hardness_model_reruns_only_its_jobs_and_the_average(mdl_run):
    base, work, model_dir = mdl_run
    cfg_path = base / "two.yaml"
    cfg_path.write_text(yaml.safe_dump(mdl_config(model_dir, ["tiny", "tiny2"])))
    out = smk(work, "--dry-run", *TARGETS, "--quiet", "rules", configfile=cfg_path)
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, flags=re.M))
    assert jobs["mdl_zero_shot_pass"] == "2"  # tiny2 on ARC and GSM8k, not tiny
    assert jobs["mdl_curve"] == "2"  # tiny2's learned and finetuned curves
    assert jobs["annotate_model_hardness"] == "2"
    assert "prepare_dataset" not in jobs and "annotate_human_hardness" not in jobs
    listing = smk(work, "--dry-run", *TARGETS, configfile=cfg_path).stdout
    outputs = " ".join(re.findall(r"^\s*output: (.*)$", listing, flags=re.M))
    assert "results/mdl/arc/tiny2/decoding.parquet" in outputs
    assert "results/mdl/arc/tiny/" not in outputs  # the first model's scores are kept
