"""Easy − Hard along a curve (RQ3): the paired difference at every x both training sources
reach, and the first x from which easy data matches or beats hard data.

Shared by ``fig-cost-curves`` (x = labelling cost; the break-even cost) and
``fig-noisy-labels`` (x = the easy data's noise probability; the crossover).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from e2h import stats
from e2h.plotting import signed
from e2h.seeds import rng


def differences(
    mats: dict[tuple[str, float], pd.DataFrame],
    x_name: str,
    summary_scope: str,
    seed_keys: tuple,
    draws: int,
    base_seed: int,
    base: dict[str, Any],
) -> list[dict[str, Any]]:
    """Rows ``scope`` = difference (one per common x: Easy − Hard ×100, paired bootstrap CI
    and p) and one ``summary_scope`` row: the smallest such x with Easy ≥ Hard (point
    estimates), whether its interval excludes zero, and how many x were compared."""
    easy = {x for s, x in mats if s == "easy"}
    common = sorted(easy & {x for s, x in mats if s == "hard"})
    rows, first = [], None
    for x in common:
        gen = rng("bootstrap", *seed_keys, "diff", x, base_seed=base_seed)
        res = stats.diff_bootstrap(mats[("easy", x)], mats[("hard", x)], draws, gen)
        row = {**base, "scope": "difference", x_name: x,
               "easy_minus_hard": 100 * res.estimate, "ci_low": 100 * res.ci_low,
               "ci_high": 100 * res.ci_high, "p_value": res.p_value,
               "n_items": res.n_items}  # fmt: skip
        rows.append(row)
        if first is None and res.estimate >= 0:
            first = row
    summary = {**base, "scope": summary_scope, x_name: np.nan, "easy_minus_hard": np.nan,
               "ci_low": np.nan, "ci_high": np.nan, "significant": None,
               "compared": len(common)}  # fmt: skip
    if first is not None:
        summary.update({k: first[k] for k in (x_name, "easy_minus_hard", "ci_low", "ci_high")})
        summary["significant"] = bool(first["ci_low"] > 0)
    return [*rows, summary]


def note(row: pd.Series, x_name: str, x_text: str, never: str) -> str:
    """The panel note of a summary row: 'easy ≥ hard from <x_text> <x>: diff [CI]'."""
    if pd.isna(row[x_name]):
        return "no point both sources reach" if not row["compared"] else never
    text = (
        f"easy ≥ hard from {x_text}{row[x_name]:g}: {signed(row['easy_minus_hard'])} "
        f"[{signed(row['ci_low'])}, {signed(row['ci_high'])}]"
    )
    return text + ("" if row["significant"] else " (CI includes 0)")


def draw_curves(ax, points: pd.DataFrame, x_name: str, labels: dict, colours: dict) -> None:
    """One line per training source with its 95 % band, and y-limits around lines and bands."""
    import math

    for source in ("easy", "hard"):
        s = points[points["source"] == source].sort_values(x_name)
        if s.empty:
            continue
        ax.plot(s[x_name], s["accuracy"], marker="o", color=colours[source],
                label=labels[source])  # fmt: skip
        ax.fill_between(s[x_name], s["ci_low"].clip(0, 100), s["ci_high"].clip(0, 100),
                        color=colours[source], alpha=0.15, linewidth=0)  # fmt: skip
    low = np.nanmin(np.r_[points["ci_low"].to_numpy(), points["accuracy"].to_numpy(), 100.0])
    high = np.nanmax(np.r_[points["ci_high"].to_numpy(), points["accuracy"].to_numpy(), 0.0])
    ax.set_ylim(max(0, math.floor((low - 5) / 5) * 5), min(105, math.ceil((high + 5) / 5) * 5))
