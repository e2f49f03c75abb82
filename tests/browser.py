"""Headless Chromium for the report test: Debian's `chromium`, installed with apt on first
use where the test runs as root (as CI does); elsewhere the test is skipped and says why."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("the report test needs Chromium: apt-get install chromium (root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    out = subprocess.run(
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        capture_output=True, text=True, env=env, timeout=900,
    )  # fmt: skip
    if out.returncode != 0:  # a stale package index: update it once, then retry
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, timeout=600)
        out = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
            capture_output=True, text=True, env=env, timeout=900,
        )  # fmt: skip
    found = shutil.which("chromium")
    if not found:
        pytest.fail(f"apt-get install chromium failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return found


def headless(binary: str, *args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Chromium without a display, sandbox or GPU (containers, CI)."""
    cmd = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
