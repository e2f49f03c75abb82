"""Provenance written next to results: config, package versions, git commit, data hashes."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = [
    "e2h",
    "snakemake",
    "torch",
    "transformers",
    "peft",
    "datasets",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "seaborn",
]


def package_versions(names: list[str] = PACKAGES) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit(repo: str | Path = ".") -> dict[str, Any]:
    """The commit of the workflow checkout and whether it had uncommitted changes."""

    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def config_hash(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def provenance_record(
    config: dict[str, Any], workflow_dir: str | Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_commit(workflow_dir),
        "config_sha256": config_hash(config),
        "config": config,
        **(extra or {}),
    }


def write_json(path: str | Path, record: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename) so a kill never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def provenance_html(record: dict[str, Any]) -> str:
    """A run's provenance as one HTML page for the report: git commit, config hash, Python
    and packages, every data file's SHA-256 and origin, every model's source and hash, and
    the resolved config."""
    import html

    import yaml

    def table(rows: list[tuple[Any, ...]], head: tuple[str, ...] = ()) -> str:
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
            for row in rows
        )
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        return f"<table>{f'<tr>{header}</tr>' if head else ''}{cells}</table>"

    git = record.get("git") or {}
    run = [
        (
            "git commit",
            f"{git.get('commit') or 'none (not a git checkout)'}"
            f"{' (uncommitted changes)' if git.get('dirty') else ''}",
        ),
        ("config SHA-256", record.get("config_sha256")),
        ("created", record.get("created")),
        ("Python", record.get("python")),
        ("platform", record.get("platform")),
    ]
    data = [
        (dataset, name, f.get("sha256"), f.get("origin", ""), f.get("licence", ""))
        for dataset, rec in sorted((record.get("datasets") or {}).items())
        for name, f in sorted((rec.get("files") or {}).items())
    ]
    models = [
        (
            key,
            m.get("source"),
            m.get("hub_id") or m.get("path") or "",
            m.get("revision") or "",
            (m.get("gguf") or {}).get("gguf_sha256", ""),
            m.get("precision"),
        )
        for key, m in sorted((record.get("models") or {}).items())
    ]
    config = yaml.safe_dump(record.get("config") or {}, sort_keys=False)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>e2h run provenance</title>"
        "<style>body{font-family:sans-serif;font-size:13px}td,th{border:1px solid #ccc;"
        "padding:2px 6px;text-align:left}table{border-collapse:collapse;margin-bottom:1em}"
        "</style></head><body>"
        "<h2>Run</h2>" + table(run) +
        "<h2>Data files</h2>" + table(data, ("dataset", "file", "SHA-256", "origin", "licence")) +
        "<h2>Models</h2>"
        + table(models, ("model", "source", "hub id / path", "revision", "GGUF SHA-256",
                         "precision")) +
        "<h2>Packages</h2>"
        + table(sorted((record.get("packages") or {}).items()), ("package", "version")) +
        f"<h2>Configuration</h2><pre>{html.escape(config)}</pre></body></html>\n"
    )  # fmt: skip
