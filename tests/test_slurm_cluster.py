"""The workflow on a real one-node SLURM cluster (.ci/slurm-local, started here): every
non-local job runs as a SLURM job, and the outputs equal a local run's, byte for byte.

The cluster is started by this test (root and Debian's apt needed: it installs slurmctld,
slurmd and munge on first use, 10-15 s) and stopped afterwards; where that is impossible
(not root, no apt-get) the test is skipped and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.test_kill_rerun import config as tiny_config
from tests.test_workflow import smk
from tests.tiny_model import build_tiny

pytestmark = pytest.mark.slow

SLURM_LOCAL = ROOT / ".ci" / "slurm-local"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0 or shutil.which("apt-get") is None and shutil.which("sinfo") is None:
        pytest.skip("a local SLURM cluster needs root and Debian's apt-get (or SLURM installed)")
    state = tmp_path_factory.mktemp("slurm")
    out = subprocess.run(
        ["bash", str(SLURM_LOCAL / "start.sh"), str(state)], capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.fail(f"slurm-local/start.sh failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    yield state
    subprocess.run(["bash", str(SLURM_LOCAL / "stop.sh"), str(state), "--purge"], check=False)


def slurm_config(model_dir: Path) -> dict:
    """The kill test's ICL cells plus linear-probe cells: prompting, hidden-state and probe
    jobs go to SLURM, the data stage and figures stay local."""
    cfg = tiny_config(model_dir)
    cfg["experiments"]["measures"] = {"arc": ["human_grade"]}
    cfg["experiments"]["trained"] = {
        "methods": ["probe"],
        "n": 3,
        "train_levels": ["easy", "hard"],
        "probe": {"epochs": 20},
    }
    return cfg


def compared(work: Path) -> dict[str, bytes]:
    files = [
        *(work / "results/cells").rglob("predictions.parquet"),
        *(work / "results/figure_data").glob("*.csv"),
        *(work / "results/tables").glob("*.csv"),
    ]
    return {str(p.relative_to(work)): p.read_bytes() for p in sorted(files)}


def test_the_workflow_runs_through_slurm_with_the_local_runs_outputs(cluster, tmp_path):
    model_dir = build_tiny(tmp_path / "tiny")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(slurm_config(model_dir)))
    local, remote = tmp_path / "local", tmp_path / "slurm"
    # two figures need every kind of job (data, hidden states, prompting and probe cells); the
    # other figures would only add local plotting jobs
    targets = ("fig_e2h_main", "fig_sgr_by_method")
    smk(local, "--cores", "2", *targets, configfile=cfg)
    # the shipped profile, with the local cluster's partition, no account and squeue polling
    # (this cluster has no accounting database: sacct fails)
    out = smk(
        remote, "--profile", str(ROOT / "workflow/profiles/slurm"),
        "--default-resources", "slurm_partition=debug", "mem_mb=2000",
        "runtime=30", "--slurm-status-command", "squeue", "--latency-wait", "5",
        "--seconds-between-status-checks", "2", "--slurm-init-seconds-before-status-checks", "2",
        "--jobs", "2", "--max-threads", "2", *targets,
        configfile=cfg,
    )  # fmt: skip
    log = out.stdout + out.stderr
    # every non-local job was submitted to SLURM and has a SLURM job id
    submitted = re.findall(r"Job \d+ has been submitted with SLURM jobid (\d+)", log)
    local_rules = set(re.findall(r"^localrule (\w+):", log, flags=re.M))
    remote_rules = set(re.findall(r"^rule (\w+):", log, flags=re.M))
    assert remote_rules >= {"cells_arc_tiny_prompting", "cells_arc_tiny_probe"}, remote_rules
    assert "extract_hidden_states" in remote_rules
    assert len(submitted) == len(re.findall(r"^rule \w+:", log, flags=re.M)) >= 3
    assert "prepare_dataset" in local_rules and "fig_e2h_main" in local_rules
    queue = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i %T"], capture_output=True, text=True
    ).stdout
    states = dict(line.split() for line in queue.splitlines())
    assert all(states.get(j) == "COMPLETED" for j in submitted), (submitted, states)
    assert compared(remote) == compared(local)  # same bytes as on one machine
