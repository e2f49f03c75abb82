"""Errors for bad input data that name the file and row, so a user can fix it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class DataError(ValueError):
    """A data file or row is unusable; the message names the file (or hub split) and row."""


@dataclass(frozen=True)
class RawRecord:
    """One source row with where it came from (file or hub split, and 0-based row)."""

    origin: str
    row: int
    data: Mapping[str, Any]

    def where(self) -> str:
        return f"{self.origin}, row {self.row}"

    def fail(self, message: str) -> DataError:
        ident = self.data.get("id") or self.data.get("qid")
        suffix = f" (id {ident})" if ident else ""
        return DataError(f"{self.where()}{suffix}: {message}")

    def require(self, *fields: str) -> list[Any]:
        """The named fields, or a DataError naming the first one missing or null."""
        values = []
        for name in fields:
            value = self.data.get(name)
            if value is None:
                raise self.fail(f"missing field {name!r}")
            values.append(value)
        return values

    def require_list(self, name: str, min_len: int = 1) -> Sequence[Any]:
        (value,) = self.require(name)
        if not isinstance(value, Sequence) or isinstance(value, str) or len(value) < min_len:
            raise self.fail(f"field {name!r} must be a list with at least {min_len} entries")
        return value
