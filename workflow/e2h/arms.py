"""Arms: item × resample accuracy matrices selected by cell fields and test level
(docs/statistics.md#accuracy-bookkeeping).

Rows are item ids (strings), columns resamples, values 0/1 with NaN where an item was not
tested in that resample. Every statistic downstream aligns arms by these ids (docs/defects.md#d-5).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from e2h import stats

LEVEL_ALL = "all"


def read_predictions(paths: Sequence[str]) -> pd.DataFrame:
    """Concatenate cell predictions; a missing file fails and names itself (docs/defects.md#d-1)."""
    from pathlib import Path

    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} cell output(s) missing: {missing[:5]}")
    frames = []
    for path in paths:
        frame = pd.read_parquet(path)
        _check_unique(frame, str(path))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _check_unique(pred: pd.DataFrame, where: str) -> None:
    """One row per (item, resample): a repeated row is an error, never averaged."""
    keys = [k for k in ("id", "resample") if k in pred.columns]
    dup = pred[pred.duplicated(keys, keep=False)]
    if len(dup):
        first = dup[keys].drop_duplicates().head(3).to_dict("records")
        raise ValueError(
            f"{where}: {len(dup)} rows repeat an (item, resample) pair, e.g. {first}; a cell "
            "predicts each item once per resample (rerun the cell)"
        )


def arm_matrix(
    pred: pd.DataFrame,
    levels: pd.Series | None = None,
    level: str = LEVEL_ALL,
    ids: set[str] | None = None,
) -> pd.DataFrame:
    """Items × resamples 0/1 matrix of one cell, restricted to one test level."""
    frame = pred[["id", "resample", "correct"]].copy()
    if level != LEVEL_ALL:
        if levels is None:
            raise ValueError("a test level needs the item levels")
        keep = set(levels.index[levels.astype(str) == level])
        frame = frame[frame["id"].isin(keep)]
    if ids is not None:
        frame = frame[frame["id"].isin(ids)]
    _check_unique(frame, "cell predictions")
    mat = frame.pivot(index="id", columns="resample", values="correct")
    mat.index = mat.index.astype(str)
    return mat.astype(float)


def accuracy_summary(mat: pd.DataFrame, draws: int, rng: np.random.Generator) -> dict:
    """Boot-averaged accuracy with its grid-bootstrap CI (both ×100) and n items."""
    if mat.empty or not np.isfinite(mat.to_numpy()).any():
        return {"accuracy": np.nan, "ci_low": np.nan, "ci_high": np.nan, "n_items": 0}
    boot = stats.grid_bootstrap(mat.to_numpy(), draws, rng)
    return {
        "accuracy": 100 * stats.boot_averaged_accuracy(mat),
        "ci_low": 100 * boot.ci_low,
        "ci_high": 100 * boot.ci_high,
        "n_items": int(boot.n_items),
    }


def select(pred: pd.DataFrame, **fields) -> pd.DataFrame:
    """Rows of ``pred`` whose cell fields equal ``fields``; fails if none match."""
    mask = np.ones(len(pred), dtype=bool)
    for key, value in fields.items():
        mask &= (pred[key].astype(str) == str(value)).to_numpy()
    out = pred[mask]
    if out.empty:
        raise KeyError(f"no cell predictions match {fields}")
    return out
