"""Job-level glue for model rules: thread settings, model loading, cell records."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pandas as pd

from e2h.io import write_parquet
from e2h.provenance import provenance_record, write_json

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

    return load_model(key, registry, converted_dir=_first(model_input))


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


def run_prompting_job(
    smk: Any, model_key: str, score, summary_table: pd.DataFrame, measure: str
) -> None:
    """The shared body of the cell rules: threads, model, scoring, summary, outputs.

    ``score(model, tokenizer, batch_size, max_length)`` returns the predictions frame.
    """
    started = time.time()
    set_threads(smk.threads)
    model, tokenizer = load_registered_model(model_key, smk.params.registry, smk.input.model)
    entry = smk.params.registry[model_key]
    pred = score(model, tokenizer, entry["batch_size"], entry["max_length"])
    from e2h.cells import summarise_cell

    write_cell(
        pred,
        summarise_cell(pred, summary_table, measure),
        dict(smk.params.spec),
        smk.output.predictions,
        smk.output.cell,
        smk.params.registry,
        smk.input.model,
        started,
        smk.config,
    )
