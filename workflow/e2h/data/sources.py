"""Where raw records come from: the bundled snapshot or the Hugging Face hub.

Both functions return ``RawSource``: records in the hub's row layout plus the fields
``config``/``split``/``row`` (or ``subject``), and provenance (file SHA-256 sums, or hub
ids with resolved revisions). The bundled files are verified against the snapshot
manifest before a single row is read.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2h.data.errors import DataError, RawRecord

MANIFEST = "MANIFEST.json"

#: Files of the bundled snapshot each dataset reads.
BUNDLED_FILES: dict[str, list[str]] = {
    "arc": ["arc.jsonl.gz", "arc_annotations.json.gz"],
    "mmlu": ["mmlu.jsonl.gz"],
    "strategyqa": ["strategyqa.jsonl.gz"],
    "gsm8k": ["gsm8k.jsonl.gz"],
}

ARC_CONFIGS = ["ARC-Easy", "ARC-Challenge"]
ARC_SPLITS = ["train", "validation", "test"]
MMLU_SUBJECTS = ["biology", "chemistry", "computer_science", "mathematics", "physics"]
MMLU_SUBSETS = [f"{lvl}_{s}" for lvl in ["high_school", "college"] for s in MMLU_SUBJECTS]


@dataclass
class RawSource:
    """Raw records of one dataset plus where they came from."""

    records: list[RawRecord]
    provenance: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(snapshot_dir: Path) -> dict[str, Any]:
    path = Path(snapshot_dir) / MANIFEST
    if not path.exists():
        raise DataError(f"{path}: snapshot manifest not found (is data.snapshot_dir right?)")
    return json.loads(path.read_text())


def verify_snapshot_file(snapshot_dir: Path, name: str) -> dict[str, Any]:
    """Check one snapshot file against the manifest; return its manifest entry."""
    snapshot_dir = Path(snapshot_dir)
    entry = read_manifest(snapshot_dir)["files"].get(name)
    path = snapshot_dir / name
    if entry is None:
        raise DataError(f"{path}: not listed in {snapshot_dir / MANIFEST}")
    if not path.exists():
        raise DataError(f"{path}: snapshot file missing")
    actual = sha256_file(path)
    if actual != entry["sha256"]:
        raise DataError(
            f"{path}: SHA-256 mismatch (expected {entry['sha256']}, found {actual}); "
            "the bundled snapshot was modified or corrupted - restore it from git"
        )
    return entry


def _iter_jsonl_gz(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            try:
                yield i, json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, row {i}: not valid JSON ({exc.msg})") from None


def load_bundled(dataset: str, snapshot_dir: str | Path) -> RawSource:
    """Raw records of ``dataset`` from the verified bundled snapshot."""
    snapshot_dir = Path(snapshot_dir)
    files = BUNDLED_FILES[dataset]
    entries = {name: verify_snapshot_file(snapshot_dir, name) for name in files}
    main = snapshot_dir / files[0]
    records = [RawRecord(str(main), i, rec) for i, rec in _iter_jsonl_gz(main)]
    extras: dict[str, Any] = {}
    if dataset == "arc":
        ann_path = snapshot_dir / "arc_annotations.json.gz"
        with gzip.open(ann_path, "rt", encoding="utf-8") as fh:
            extras["annotations"] = json.load(fh)
        extras["annotations_origin"] = str(ann_path)
    provenance = {
        "source": "bundled",
        "files": {
            name: {k: entries[name][k] for k in ("sha256", "origin", "licence", "upstream_sha256")}
            for name in files
        },
    }
    return RawSource(records, provenance, extras)


# --------------------------------------------------------------------------- hub


def _resolved_revision(ds: Any, path: str, revision: str | None) -> str | None:
    """The commit the hub data came from: asked of the hub, else read off the cache path."""
    if Path(path).exists():
        return None
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(path, revision=revision).sha
    except Exception:  # offline: fall back to the commit hash in the cache path
        for cache in getattr(ds, "cache_files", []) or []:
            match = re.search(r"/([0-9a-f]{40})/", cache.get("filename", ""))
            if match:
                return match.group(1)
    return revision


def _load_split(path: str, name: str | None, split: str, revision: str | None) -> Any:
    from datasets import load_dataset

    try:
        return load_dataset(path, name=name, split=split, revision=revision)
    except Exception as exc:  # name what failed and how to fix it
        raise DataError(
            f"hub dataset {path!r} (config {name!r}, split {split!r}) could not be loaded: "
            f"{type(exc).__name__}: {exc}. Check data.hub settings, network access or "
            "HF_DATASETS_OFFLINE / a pre-populated HF_HOME; or use data.source: bundled."
        ) from exc


def load_hub(dataset: str, hub: dict[str, Any], snapshot_dir: str | Path) -> RawSource:
    """Raw records of ``dataset`` via ``datasets.load_dataset`` (the paper's hub ids)."""
    spec = hub[dataset]
    path, revision = spec["path"], spec.get("revision")
    plan: list[tuple[str | None, str, dict[str, Any]]]
    if dataset == "arc":
        plan = [(c, s, {"config": c, "split": s}) for c in ARC_CONFIGS for s in ARC_SPLITS]
    elif dataset == "mmlu":
        plan = [
            (sub, s, {"subject": sub, "split": s})
            for sub in MMLU_SUBSETS
            for s in ["validation", "test"]
        ]
    elif dataset == "strategyqa":
        plan = [(spec.get("config"), spec.get("split", "test"), {})]
    elif dataset == "gsm8k":
        plan = [(spec.get("config", "main"), s, {"split": s}) for s in ["train", "test"]]
    else:
        raise KeyError(dataset)
    records: list[RawRecord] = []
    resolved = None
    for name, split, fields in plan:
        ds = _load_split(path, name, split, revision)
        resolved = resolved or _resolved_revision(ds, path, revision)
        origin = f"hub:{path}/{name or 'default'}/{split}"
        for i, row in enumerate(ds):
            rec = dict(row)
            rec.update(fields)
            if dataset in ("mmlu", "gsm8k"):
                rec["row"] = i
            records.append(RawRecord(origin, i, rec))
    provenance: dict[str, Any] = {
        "source": "hub",
        "hub": {"path": path, "revision_requested": revision, "revision_resolved": resolved},
    }
    extras: dict[str, Any] = {}
    if dataset == "arc":
        # The annotations are not on the hub: they ship with the project (checked by SHA-256).
        bundled = load_bundled_annotations(snapshot_dir)
        extras.update(bundled.extras)
        provenance["files"] = bundled.provenance["files"]
    return RawSource(records, provenance, extras)


def load_bundled_annotations(snapshot_dir: str | Path) -> RawSource:
    snapshot_dir = Path(snapshot_dir)
    name = "arc_annotations.json.gz"
    entry = verify_snapshot_file(snapshot_dir, name)
    with gzip.open(snapshot_dir / name, "rt", encoding="utf-8") as fh:
        annotations = json.load(fh)
    prov = {"files": {name: {k: entry[k] for k in ("sha256", "origin", "licence")}}}
    return RawSource(
        [], prov, {"annotations": annotations, "annotations_origin": str(snapshot_dir / name)}
    )
