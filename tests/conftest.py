"""Shared fixtures: offline hub settings, the repository root, prepared bundled tables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "workflow" / "snapshot"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"

# An accidental hub call fails fast instead of hanging (docs/models.md#offline-use).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


def data_config(**settings) -> dict:
    """A complete ``data:`` section (the schema's defaults, bundled snapshot) with overrides."""
    return {
        "source": "bundled",
        "snapshot_dir": str(SNAPSHOT),
        "gsm8k_keep_calculator_annotations": False,
        **settings,
    }


@pytest.fixture(scope="session")
def default_config() -> dict:
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture(scope="session")
def bundled_items() -> dict:
    """Item tables of all four datasets from the bundled snapshot (prepared once)."""
    from e2h.data import prepare_items

    cfg = data_config()
    return {d: prepare_items(d, cfg)[0] for d in ["arc", "mmlu", "strategyqa", "gsm8k"]}
