"""Dataset loading and normalisation (docs/data.md#datasets).

Two sources yield the same raw records (the hub's row layout plus provenance fields):
the bundled snapshot (``sources.load_bundled``) and the Hugging Face hub
(``sources.load_hub``). One normaliser per dataset turns those records into the
project's item table, so both sources give identical tables for the same rows.
"""

from e2h.data.errors import DataError
from e2h.data.prepare import prepare_items

__all__ = ["DataError", "prepare_items"]
