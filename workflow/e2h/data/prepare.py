"""Prepare one dataset's item table from the configured source."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from e2h import registry
from e2h.data.errors import DataError
from e2h.data.sources import RawSource, load_bundled, load_hub, loader


def load_raw(dataset: str, data_cfg: dict[str, Any]) -> RawSource:
    """Raw records from ``data.source`` (bundled snapshot or hub)."""
    registry.dataset(dataset)  # an unknown dataset names the registered ones
    snapshot = Path(data_cfg["snapshot_dir"])
    if data_cfg["source"] == "hub":
        return load_hub(dataset, data_cfg["hub"], snapshot)
    return load_bundled(dataset, snapshot)


def normalise(dataset: str, raw: RawSource, data_cfg: dict[str, Any]) -> pd.DataFrame:
    """The item table, by the dataset's loader module (``prepare(raw, data_cfg)``)."""
    return loader(dataset).prepare(raw, data_cfg)


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
