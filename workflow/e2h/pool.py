"""The hardness-estimation pool (docs/data.md#arc, docs/sampling.md#seeds, docs/defects.md#d-24).

ARC and GSM8k set aside items for fitting MDL hardness models; the rest form the probing
set every experiment uses. The draw is keyed (``rng("hardness_pool", dataset)``) over
items sorted by id, so it does not depend on source row order, and the id list is
written out so it can be reproduced and audited.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from e2h.seeds import rng


def draw_hardness_pool(
    ids: Iterable[str], size: int, dataset: str, base_seed: int = 0
) -> list[str]:
    """``size`` ids drawn without replacement from the sorted ids; [] when ``size`` is 0."""
    ordered = sorted(ids)
    if size < 0 or size > len(ordered):
        raise ValueError(f"{dataset}: hardness pool of {size} from {len(ordered)} items")
    if size == 0:
        return []
    picks = rng("hardness_pool", dataset, base_seed=base_seed).choice(
        len(ordered), size=size, replace=False
    )
    return sorted(ordered[i] for i in np.asarray(picks))
