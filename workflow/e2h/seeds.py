"""Keyed random generators (docs/sampling.md#seeds).

Every random draw in the workflow comes from ``rng(purpose, *keys)``: a NumPy generator
seeded from a SHA-256 of the purpose, the configured base seed and the keys. Nothing
uses a global random stream, so a draw depends only on what it is for, never on how
many draws ran before it (the original's defect, docs/defects.md#d-2).
"""

from __future__ import annotations

import hashlib

import numpy as np


def derive_seed(purpose: str, *keys: object, base_seed: int = 0) -> int:
    """A stable 64-bit seed from the purpose, base seed and keys (never Python's ``hash``)."""
    text = "\x1f".join([purpose, str(int(base_seed)), *(str(k) for k in keys)])
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def rng(purpose: str, *keys: object, base_seed: int = 0) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` for one keyed purpose."""
    return np.random.default_rng(derive_seed(purpose, *keys, base_seed=base_seed))


def torch_seed(purpose: str, *keys: object, base_seed: int = 0) -> int:
    """A seed in torch's accepted range for ``torch.Generator().manual_seed``."""
    return derive_seed(purpose, *keys, base_seed=base_seed) % (2**63 - 1)
