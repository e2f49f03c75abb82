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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2h.data.errors import DataError, RawRecord

MANIFEST = "MANIFEST.json"


def loader(dataset: str) -> Any:
    """The dataset's loader module (``loader`` in workflow/resources/datasets.yaml)."""
    import importlib

    from e2h import registry

    return importlib.import_module(registry.dataset(dataset).loader)


def bundled_files(dataset: str) -> list[str]:
    from e2h import registry

    return list(registry.dataset(dataset).bundled_files)


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
    """Rows of a gzipped JSON-lines file; every problem names the file and the row: a
    corrupt or cut gzip stream, bytes that are not UTF-8, a truncated or invalid JSON row,
    a row that is not an object."""
    i = 0
    with gzip.open(path, "rb") as fh:
        try:
            for i, raw in enumerate(fh):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{path}, row {i}: not UTF-8 (byte {exc.start} of the row: "
                        f"{raw[exc.start : exc.start + 1]!r})"
                    ) from None
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    cut = "" if raw.endswith(b"\n") else "; the row has no newline: cut short?"
                    raise DataError(f"{path}, row {i}: not valid JSON ({exc.msg}){cut}") from None
                if not isinstance(record, dict):
                    raise DataError(
                        f"{path}, row {i}: a JSON {type(record).__name__}, not an object"
                    )
                yield i, record
        except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
            raise DataError(
                f"{path}, row {i}: the gzip stream is corrupt or cut short ({exc})"
            ) from None


def load_bundled(dataset: str, snapshot_dir: str | Path) -> RawSource:
    """Raw records of ``dataset`` from the verified bundled snapshot."""
    snapshot_dir = Path(snapshot_dir)
    files = bundled_files(dataset)
    entries = {name: verify_snapshot_file(snapshot_dir, name) for name in files}
    main = snapshot_dir / files[0]
    records = [RawRecord(str(main), i, rec) for i, rec in _iter_jsonl_gz(main)]
    module = loader(dataset)
    extras: dict[str, Any] = module.read_extras(snapshot_dir) if len(files) > 1 else {}
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
    from e2h import registry

    spec = hub[dataset]
    path, revision = spec["path"], spec.get("revision")
    module = loader(dataset)
    plan: list[tuple[str | None, str, dict[str, Any]]] = module.hub_plan(spec)
    row_index = getattr(module, "HUB_ROW_INDEX", False)
    records: list[RawRecord] = []
    resolved = None
    for name, split, fields in plan:
        ds = _load_split(path, name, split, revision)
        resolved = resolved or _resolved_revision(ds, path, revision)
        origin = f"hub:{path}/{name or 'default'}/{split}"
        for i, row in enumerate(ds):
            rec = dict(row)
            rec.update(fields)
            if row_index:
                rec["row"] = i
            records.append(RawRecord(origin, i, rec))
    provenance: dict[str, Any] = {
        "source": "hub",
        "hub": {"path": path, "revision_requested": revision, "revision_resolved": resolved},
    }
    extras: dict[str, Any] = {}
    names = registry.dataset(dataset).hub_bundled_files
    if names:  # files the hub lacks ship with the project (checked by SHA-256)
        entries = {name: verify_snapshot_file(Path(snapshot_dir), name) for name in names}
        extras.update(module.read_extras(snapshot_dir))
        provenance["files"] = {
            name: {k: e[k] for k in ("sha256", "origin", "licence")} for name, e in entries.items()
        }
    return RawSource(records, provenance, extras)
