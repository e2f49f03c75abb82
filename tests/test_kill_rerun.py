"""A cell job killed with SIGKILL mid-run: after ``--unlock`` and ``--rerun-incomplete`` the
outputs are byte-identical to an uninterrupted run's (README: after a crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_workflow import SNAKEMAKE, smk
from tests.tiny_model import build_tiny

pytestmark = pytest.mark.slow

GROUP = "cells_arc_tiny_prompting"


def config(model_dir: Path) -> dict:
    cfg = yaml.safe_load((ROOT / "tests/data/config.test.yaml").read_text())
    cfg["datasets"] = {"arc": cfg["datasets"]["arc"]}
    cfg["models"] = {
        "tiny": {"local_path": str(model_dir), "precision": "fp32", "threads": 1, "batch_size": 8}
    }
    cfg["experiments"] = {
        "models": ["tiny"],
        "resamples": 2,
        "test_cap": {"arc": 4},
        "k": {"arc": 3},
        "measures": {"arc": ["human_grade", "human_difficulty", "human_bloom"]},
        "train_levels": ["easy", "medium", "hard"],
        "all_to_all": False,
    }
    return cfg


def outputs(work: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(work)): p.read_bytes()
        for p in sorted((work / "results/cells").rglob("predictions.parquet"))
    }


def test_sigkill_mid_job_then_rerun_gives_identical_outputs(tmp_path):
    model_dir = build_tiny(tmp_path / "tiny")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config(model_dir)))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    smk(clean, "--cores", "2", GROUP, configfile=cfg)
    want = outputs(clean)
    assert len(want) == 10  # zero-shot + 3 measures x 3 levels

    cmd = [*SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(killed),
           "--configfile", str(cfg), "--cores", "2", GROUP]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.Popen(
        cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = killed / "results/checkpoints/arc/tiny"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(checkpoints.rglob("finished/params.json"))) >= 2:
            break  # two cells of the job are finished, the others are not
        time.sleep(0.05)
    assert proc.poll() is None, "the job ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # snakemake and its job, no clean-up
    proc.wait()
    assert len(outputs(killed)) < len(want)  # the job was cut short

    smk(killed, "--unlock", configfile=cfg)
    smk(killed, "--cores", "2", "--rerun-incomplete", GROUP, configfile=cfg)
    log = (killed / "results/logs/cells/arc/tiny/prompting.log").read_text()
    assert "finished before the job stopped, reused" in log  # not recomputed
    assert outputs(killed) == want  # byte for byte
