"""Bundled snapshot integrity and the hub code path on a local hub-layout dataset."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from e2h.data import DataError, prepare_items
from e2h.data.mmlu import SUBSETS as MMLU_SUBSETS
from e2h.data.sources import read_manifest, sha256_file
from tests.conftest import SNAPSHOT, data_config

N_PER_SPLIT = 4


def test_manifest_hashes_match_files():
    manifest = read_manifest(SNAPSHOT)
    for name, entry in manifest["files"].items():
        assert sha256_file(SNAPSHOT / name) == entry["sha256"], name
        assert entry["licence"] and entry["origin"] and entry["upstream_sha256"]


def test_sha_mismatch_names_the_file(tmp_path):
    snap = tmp_path / "snapshot"
    shutil.copytree(SNAPSHOT, snap)
    with gzip.open(snap / "mmlu.jsonl.gz", "ab") as fh:
        fh.write(b'{"extra": 1}\n')
    with pytest.raises(DataError, match=r"mmlu.jsonl.gz: SHA-256 mismatch"):
        prepare_items("mmlu", data_config(snapshot_dir=str(snap)))


def _rows(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as fh:
        return [json.loads(line) for line in fh]


def _write_split(root: Path, config: str, split: str, rows: list[dict], layout: list) -> None:
    rel = f"{config}/{split}.parquet"
    (root / config).mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(root / rel)
    layout.append((config, split, rel))


def _readme(root: Path, layout: list) -> None:
    configs: dict[str, list] = {}
    for config, split, rel in layout:
        configs.setdefault(config, []).append({"split": split, "path": rel})
    meta = {"configs": [{"config_name": c, "data_files": f} for c, f in configs.items()]}
    (root / "README.md").write_text(f"---\n{yaml.safe_dump(meta)}---\n")


def build_local_hub(tmp_path: Path) -> dict:
    """Hub-layout datasets (parquet + README configs) from the first rows of the snapshot."""
    hub: dict = {}
    # ARC: configs ARC-Easy / ARC-Challenge, splits train / validation / test
    root, layout = tmp_path / "ai2_arc", []
    rows = _rows(SNAPSHOT / "arc.jsonl.gz")
    for config in ["ARC-Easy", "ARC-Challenge"]:
        for split in ["train", "validation", "test"]:
            sel = [r for r in rows if r["config"] == config and r["split"] == split][:N_PER_SPLIT]
            keep = [{k: r[k] for k in ("id", "question", "choices", "answerKey")} for r in sel]
            _write_split(root, config, split, keep, layout)
    _readme(root, layout)
    hub["arc"] = {"path": str(root), "revision": None}
    # MMLU: one config per subset, integer answers
    root, layout = tmp_path / "mmlu", []
    rows = _rows(SNAPSHOT / "mmlu.jsonl.gz")
    for subset in MMLU_SUBSETS:
        for split in ["validation", "test"]:
            sel = [r for r in rows if r["subject"] == subset and r["split"] == split][:N_PER_SPLIT]
            keep = [{k: r[k] for k in ("question", "choices", "answer")} for r in sel]
            _write_split(root, subset, split, keep, layout)
    _readme(root, layout)
    hub["mmlu"] = {"path": str(root), "revision": None}
    # StrategyQA: one split named test, hub order differs from the files (reversed here)
    root, layout = tmp_path / "strategy-qa", []
    rows = _rows(SNAPSHOT / "strategyqa.jsonl.gz")[:10][::-1]
    keep = [
        {
            **{k: r[k] for k in ("qid", "question", "answer", "facts", "decomposition")},
            "term": "t",
            "description": "d",
        }
        for r in rows
    ]
    _write_split(root, "default", "test", keep, layout)
    _readme(root, layout)
    hub["strategyqa"] = {"path": str(root), "revision": None, "config": "default", "split": "test"}
    # GSM8k: config main, splits train / test
    root, layout = tmp_path / "gsm8k", []
    rows = _rows(SNAPSHOT / "gsm8k.jsonl.gz")
    for split in ["train", "test"]:
        sel = [r for r in rows if r["split"] == split][:N_PER_SPLIT]
        _write_split(
            root,
            "main",
            split,
            [{"question": r["question"], "answer": r["answer"]} for r in sel],
            layout,
        )
    _readme(root, layout)
    hub["gsm8k"] = {"path": str(root), "revision": None, "config": "main"}
    return hub


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory):
    return build_local_hub(tmp_path_factory.mktemp("hub"))


@pytest.mark.parametrize("dataset", ["arc", "mmlu", "strategyqa", "gsm8k"])
def test_hub_and_bundled_give_identical_tables(
    dataset, local_hub, bundled_items, monkeypatch, tmp_path
):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    cfg = data_config(source="hub", hub=local_hub)
    hub_table, prov = prepare_items(dataset, cfg)
    assert prov["source"] == "hub" and prov["hub"]["path"] == local_hub[dataset]["path"]
    assert len(hub_table) > 0
    bundled = bundled_items[dataset]
    expected = bundled[bundled["id"].isin(hub_table["id"])].reset_index(drop=True)
    assert len(expected) == len(hub_table)
    pd.testing.assert_frame_equal(hub_table, expected, check_dtype=False)


def test_hub_failure_names_dataset(tmp_path):
    cfg = data_config(
        source="hub", hub={"gsm8k": {"path": str(tmp_path / "missing"), "config": "main"}}
    )
    with pytest.raises(DataError, match=r"hub dataset .*missing.* could not be loaded"):
        prepare_items("gsm8k", cfg)
