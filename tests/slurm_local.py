"""A one-node SLURM cluster on this machine (.ci/slurm-local), for the tests that run the
workflow through SLURM. Starting it needs root and Debian's apt (it installs slurmctld,
slurmd and munge on first use, 10-15 s); where that is impossible the test is skipped and
says why."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

SLURM_LOCAL = ROOT / ".ci" / "slurm-local"


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
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
