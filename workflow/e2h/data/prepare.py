"""Prepare one dataset's item table from the configured source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from e2h.data import arc, gsm8k, mmlu, strategyqa
from e2h.data.errors import DataError
from e2h.data.sources import RawSource, load_bundled, load_hub

DATASETS = ["arc", "mmlu", "strategyqa", "gsm8k"]


def load_raw(dataset: str, data_cfg: dict[str, Any]) -> RawSource:
    """Raw records from ``data.source`` (bundled snapshot or hub)."""
    if dataset not in DATASETS:
        raise KeyError(f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
    snapshot = Path(data_cfg.get("snapshot_dir", "workflow/snapshot"))
    if data_cfg.get("source", "bundled") == "hub":
        return load_hub(dataset, data_cfg["hub"], snapshot)
    return load_bundled(dataset, snapshot)


def normalise(dataset: str, raw: RawSource, data_cfg: dict[str, Any]) -> pd.DataFrame:
    if dataset == "arc":
        return arc.normalise(
            raw.records, raw.extras["annotations"], raw.extras["annotations_origin"]
        )
    if dataset == "mmlu":
        return mmlu.normalise(raw.records)
    if dataset == "strategyqa":
        return strategyqa.normalise(raw.records)
    return gsm8k.normalise(raw.records, data_cfg.get("gsm8k_keep_calculator_annotations", False))


def prepare_items(dataset: str, data_cfg: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The normalised item table of ``dataset`` and its provenance."""
    raw = load_raw(dataset, data_cfg)
    table = normalise(dataset, raw, data_cfg)
    if table.empty:
        raise DataError(f"{dataset}: no usable items in {raw.provenance}")
    provenance = {"dataset": dataset, "n_items": len(table), **raw.provenance}
    return table, provenance


def write_prepared(
    dataset: str,
    data_cfg: dict[str, Any],
    items_path: str,
    provenance_path: str,
    config: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Prepare ``dataset`` and write its item table and provenance (atomically)."""
    import logging

    from e2h.io import write_parquet
    from e2h.provenance import provenance_record, write_json

    table, prov = prepare_items(dataset, data_cfg)
    write_parquet(table, items_path)
    write_json(
        provenance_path, provenance_record(config or {"data": data_cfg}, ".", {"data": prov})
    )
    logging.getLogger(__name__).info("%s: %d items written to %s", dataset, len(table), items_path)
    return table
