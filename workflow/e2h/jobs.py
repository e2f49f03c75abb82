"""Job-level glue for model rules: thread settings, model loading, cell records."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from e2h.cells import CELL_FILES, CellSpec
from e2h.io import write_parquet
from e2h.provenance import provenance_record, write_json
from e2h.resources import job_registry

log = logging.getLogger(__name__)


def set_threads(threads: int) -> None:
    """Use exactly the cores Snakemake gave the job (torch defaults to all cores)."""
    import torch

    torch.set_num_threads(max(1, int(threads)))


def read_tables(paths: list[str]) -> dict[str, pd.DataFrame]:
    """Hardness tables ``results/hardness/<dataset>/human.parquet`` by dataset."""
    return {Path(p).parent.name: pd.read_parquet(p) for p in paths}


def load_registered_model(key: str, registry: dict[str, Any], model_input: Any) -> tuple:
    """The model of ``key`` (its registry entry holds only what changes predictions)."""
    from e2h.models import load_model

    started = time.perf_counter()
    loaded = load_model(key, registry, converted_dir=_first(model_input))
    log.info("model %s loaded in %.1f s", key, time.perf_counter() - started)
    return loaded


def write_cell(
    predictions: pd.DataFrame,
    summary: pd.DataFrame,
    spec: dict[str, Any],
    pred_path: str,
    cell_path: str,
    registry: dict[str, Any],
    model_input: Any,
    started: float,
    config: dict[str, Any],
    model_info: dict[str, Any] | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Predictions (parquet) and the cell record: resolved settings, its hash, provenance,
    accuracy per resample and level, invalid-generation rate, wall time. ``details`` (e.g.
    training logs) are recorded but not part of the settings hash."""
    from e2h.models import model_provenance
    from e2h.provenance import config_hash

    write_parquet(predictions, pred_path)
    invalid = float(predictions["invalid"].mean()) if "invalid" in predictions else None
    record = provenance_record(
        config,
        Path(__file__).resolve().parents[2],
        {
            "cell": spec,
            "cell_sha256": config_hash(spec),
            "model": model_info or model_provenance(spec["model"], registry, _first(model_input)),
            "n_predictions": len(predictions),
            "invalid_generation_rate": invalid,
            "summary": summary.to_dict("records"),
            "wall_seconds": round(time.time() - started, 2),
            **(details or {}),
        },
    )
    record.pop("config", None)  # the cell settings above are what matter; config is hashed
    write_json(cell_path, record)
    log.info(
        "cell done: %d predictions, accuracy by level:\n%s",
        len(predictions),
        summary.to_string(index=False),
    )


def _first(paths: Any) -> str | None:
    """The one path of a (possibly empty) Snakemake input list."""
    if not paths:
        return None
    return str(paths[0] if isinstance(paths, list | tuple) else paths)


@dataclass
class CellJob:
    """What one cell of a job computed: predictions, summary and its record fields."""

    predictions: pd.DataFrame
    summary: pd.DataFrame
    hashed: dict[str, Any]
    model_info: dict[str, Any] | None = None
    details: dict[str, Any] | None = None


@dataclass
class CellData:
    """A cell's resample splits and the tables they index (grid or 3rd grade -> college)."""

    splits: list[Any]
    train_table: pd.DataFrame
    test_table: pd.DataFrame
    measure: str  # the test levels its summary reports
    train_dataset: str


def cell_data(spec: CellSpec, tables: dict[str, pd.DataFrame]) -> CellData:
    """The keyed splits of a grid cell (``e2h.cells.splits``) or of a 3rd grade -> college
    cell (``e2h.transfer.transfer_cell``)."""
    from e2h.cells import splits
    from e2h.sampling import ANY_MEASURE
    from e2h.transfer import SOURCES, transfer_cell

    test_table = tables[spec.dataset]
    if spec.is_transfer:
        resample_splits, train_table = transfer_cell(spec, tables)
        source = SOURCES[spec.train]
        train_dataset = source[0] if source else spec.dataset
        return CellData(resample_splits, train_table, test_table, ANY_MEASURE, train_dataset)
    return CellData(splits(test_table, spec), test_table, test_table, spec.measure, spec.dataset)


class ModelCache:
    """Each registered model loaded once per job, on first use."""

    def __init__(self, model_input: Any) -> None:
        self.model_input = model_input
        self.loaded: dict[str, tuple] = {}

    def __call__(self, key: str, registry: dict[str, Any]) -> tuple:
        if key not in self.loaded:
            self.loaded[key] = load_registered_model(key, registry, self.model_input)
        return self.loaded[key]


def run_cell_group(smk: Any, run_one: Callable[[CellSpec, dict[str, Any]], CellJob]) -> None:
    """Run every cell of a cell job (``params.cells``, outputs in the same order).

    ``run_one(spec, params)`` computes one cell; loading the model or the hidden states once
    for all of them is its business (a cache). Each finished cell is also kept under
    ``params.checkpoints``/<cell>/finished with the params it was computed with: a killed
    job, rerun, copies those back instead of recomputing them. They are removed once every
    cell of the job is written.
    """
    set_threads(smk.threads)
    log.info("job start-up: %.1f s from interpreter start to the first cell (imports, tables)",
             time.time() - _process_start())  # fmt: skip
    cells = [dict(c) for c in smk.params.cells]
    outputs = list(smk.output)
    if len(outputs) != len(CELL_FILES) * len(cells):
        raise ValueError(f"{len(outputs)} outputs for {len(cells)} cells")
    root = Path(smk.params.checkpoints)
    specs = [CellSpec.from_dict(dict(params["spec"])) for params in cells]
    folders = [root / spec.directory.removeprefix("results/cells/") for spec in specs]
    for i, (spec, params, folder) in enumerate(zip(specs, cells, folders, strict=True)):
        pred_path, cell_path = outputs[2 * i : 2 * i + 2]
        finished = folder / "finished"
        if _restore(finished, params, pred_path, cell_path):
            log.info("cell %d/%d %s: finished before the job stopped, reused", i + 1,
                     len(cells), spec.directory)  # fmt: skip
            continue
        log.info("cell %d/%d: %s", i + 1, len(cells), spec.directory)
        started = time.time()
        # this attempt's batch (a retry after CUDA out of memory gets a smaller one)
        registry = job_registry(params.get("registry") or {}, getattr(smk, "resources", None))
        done = run_one(spec, {**params, "registry": registry})
        log.info("cell %d/%d computed in %.1f s (model load included on first use); job's "
                 "peak memory so far %.0f MB", i + 1, len(cells), time.time() - started,
                 _peak_rss_mb())  # fmt: skip
        write_cell(
            done.predictions, done.summary, done.hashed, pred_path, cell_path,
            params.get("registry") or {}, smk.input.get("model"), started, smk.config,
            model_info=done.model_info, details={**(done.details or {}), **batch_used(registry)},
        )  # fmt: skip
        finished.mkdir(parents=True, exist_ok=True)
        for path in (pred_path, cell_path):
            shutil.copy2(path, finished / Path(path).name)
        write_json(finished / "params.json", params)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        for parent in folder.parents:  # and the folders it leaves empty, up to the root
            if parent == root.parent or not parent.is_dir() or any(parent.iterdir()):
                break
            parent.rmdir()


def batch_used(registry: dict[str, Any]) -> dict[str, Any]:
    """The batch size a job ran with, per model, for its records (a retried job may have
    run with a smaller batch than the registry's)."""
    return {"batch_size_used": {key: entry.get("batch_size") for key, entry in registry.items()}}


def registry_of_job(smk: Any) -> dict[str, Any]:
    """``params.registry`` with this attempt's batch (``resources.batch_size``), logged."""
    registry = job_registry(smk.params.registry, getattr(smk, "resources", None))
    for key, entry in registry.items():
        log.info("model %s: batch size %s this attempt", key, entry.get("batch_size"))
    return registry


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far (what the benchmark's max_rss reports)."""
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


def _process_start() -> float:
    """When this process started (its interpreter start-up counts as job time)."""
    import psutil

    return psutil.Process().create_time()


def _restore(finished: Path, params: dict[str, Any], pred_path: str, cell_path: str) -> bool:
    saved = finished / "params.json"
    if not saved.exists():
        return False
    if json.loads(saved.read_text()) != json.loads(json.dumps(params, default=str)):
        return False
    for path in (pred_path, cell_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(finished / Path(path).name, path)
    return True
