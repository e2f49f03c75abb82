"""How much signal a finished run has: per panel, each arm's accuracy with its 95 % interval,
the supervision gap Hard − Unsup with its interval, and how many test items the observed
effect would need for its interval to exclude zero (docs/statistics.md#signal).

    python workflow/tools/signal_report.py [RUN_DIR] [--csv OUT.csv]

Reads what the run already wrote: ``tab-sgr`` (the panels of fig-e2h-main, hard test level),
the data of ``fig-sgr-by-method`` (one row per panel and method) and of
``fig-acc-vs-test-hardness`` (easy vs hard test level of the train = All cells). Nothing is
recomputed, so the numbers are the ones the figures show.

Items needed: intervals shrink as 1/√n, so an effect d with half-width h on n items needs about
n·(h/d)² items for its interval to exclude zero (gap), or n·((h_easy + h_hard)/d)² per level
for two intervals to stop overlapping. Only meaningful for d > 0; "-" otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd


def _ci(value: float, low: float, high: float, scale: float = 100.0) -> str:
    if any(pd.isna(v) for v in (value, low, high)):
        return "NA"
    return f"{value * scale:.1f} [{low * scale:.1f}, {high * scale:.1f}]"


def _needed(n: float, half: float, effect: float) -> str:
    if not (effect > 0) or pd.isna(half) or pd.isna(n):
        return "-"
    return str(math.ceil(n * (half / effect) ** 2))


def gap_rows(table: pd.DataFrame, figure: str, method_col: str | None) -> list[dict]:
    """One row per panel (and method): arms, gap, whether its interval excludes 0."""
    rows = []
    for _, r in table.iterrows():
        arms = {}
        for arm in ("unsup", "easy", "hard"):
            arms[arm] = _ci(r[arm], r[f"{arm}_ci_low"], r[f"{arm}_ci_high"])
        gap, low, high = r["supervision_gap"], r["gap_ci_low"], r["gap_ci_high"]
        n = r["n_items"] if "n_items" in r else r["n"]
        rows.append(
            {
                "figure": figure,
                "panel": f"{r['dataset']} {r['measure']}",
                "model": r["model"],
                "method": r[method_col] if method_col else "icl",
                "n_items": int(n),
                **arms,
                "gap": _ci(gap, low, high),
                "gap_excludes_0": bool(low > 0 or high < 0),
                "items_needed": _needed(n, (high - low) / 2, gap),
            }
        )
    return rows


def _clipped(row: pd.Series) -> tuple[float, float]:
    return max(row["ci_low"], 0.0), min(row["ci_high"], 100.0)


def level_rows(data: pd.DataFrame) -> list[dict]:
    """Easy vs hard test level of fig-acc-vs-test-hardness: do the intervals separate?"""
    rows = []
    levels = data[data["scope"] == "level"]
    for panel, d in levels.groupby("panel", sort=False):
        by = d.set_index("value")
        if not {"easy", "hard"} <= set(by.index):
            continue
        e, h = by.loc["easy"], by.loc["hard"]
        diff = e["accuracy"] - h["accuracy"]
        half = (e["ci_high"] - e["ci_low"]) / 2 + (h["ci_high"] - h["ci_low"]) / 2
        n = min(e["n_items"], h["n_items"])
        rows.append(
            {
                "figure": "fig-acc-vs-test-hardness",
                "panel": panel,
                "model": e["model"],
                # t-intervals of 0/1 items can pass 0 or 100 on a few items: clipped as the
                # figure draws them (its CSV keeps them raw)
                "easy_test": _ci(e["accuracy"], *_clipped(e), scale=1),
                "hard_test": _ci(h["accuracy"], *_clipped(h), scale=1),
                "n_items": f"{int(e['n_items'])}/{int(h['n_items'])}",
                "separated": bool(e["ci_low"] > h["ci_high"]),
                "items_needed": _needed(n, half, diff),
            }
        )
    return rows


def report(run: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(gap rows of fig-e2h-main and fig-sgr-by-method, level rows of
    fig-acc-vs-test-hardness) of the finished run in ``run``."""
    gaps: list[dict] = []
    sgr = run / "results/tables/tab-sgr.csv"
    if sgr.exists():
        t = pd.read_csv(sgr)
        gaps += gap_rows(t[t["test_level"] == "hard"], "fig-e2h-main", None)
    by_method = run / "results/figure_data/fig-sgr-by-method.csv"
    if by_method.exists():
        gaps += gap_rows(pd.read_csv(by_method), "fig-sgr-by-method", "method_code")
    levels: list[dict] = []
    acc = run / "results/figure_data/fig-acc-vs-test-hardness.csv"
    if acc.exists():
        levels = level_rows(pd.read_csv(acc))
    return pd.DataFrame(gaps), pd.DataFrame(levels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", nargs="?", default=".", type=Path)
    parser.add_argument("--csv", type=Path, help="also write the gap rows here")
    args = parser.parse_args(argv)
    gaps, levels = report(args.run)
    if gaps.empty and levels.empty:
        print(f"{args.run}: no tab-sgr, fig-sgr-by-method or fig-acc-vs-test-hardness data")
        return 1
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        if not gaps.empty:
            print("Supervision gap Hard − Unsup (hard test level), accuracies in %:")
            print(gaps.to_string(index=False))
            print(f"gap interval excludes 0: {int(gaps['gap_excludes_0'].sum())}/{len(gaps)}")
        if not levels.empty:
            print("\nEasy vs hard test level (train = All):")
            print(levels.to_string(index=False))
    if args.csv:
        gaps.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
