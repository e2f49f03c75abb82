"""Atomic writers: a killed job never leaves a half-written output that looks finished."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def _tmp(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def write_parquet(frame: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    tmp = _tmp(path)
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def write_csv(frame: pd.DataFrame, path: str | Path, **kwargs) -> None:
    path = Path(path)
    tmp = _tmp(path)
    frame.to_csv(tmp, index=False, **kwargs)
    tmp.replace(path)


def write_text(text: str, path: str | Path) -> None:
    path = Path(path)
    tmp = _tmp(path)
    tmp.write_text(text)
    tmp.replace(path)


def write_lines(lines: Iterable[str], path: str | Path) -> None:
    write_text("".join(f"{line}\n" for line in lines), path)


def read_lines(path: str | Path) -> list[str]:
    return [line for line in Path(path).read_text().splitlines() if line]
