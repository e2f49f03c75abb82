"""Per-rule time and memory of a run, from Snakemake's ``benchmark:`` files.

.venv/bin/python workflow/tools/benchmark_summary.py [results/benchmarks]
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd


def summarise(root: Path) -> pd.DataFrame:
    rows = []
    for path in root.rglob("*.tsv"):
        frame = pd.read_csv(path, sep="\t")
        parts = path.relative_to(root).parts
        rule = parts[0].removesuffix(".tsv")
        if rule == "cells":  # cell jobs: results/benchmarks/cells/{dataset}/{model}/{kind}.tsv
            rule = "cells_" + "_".join(parts[1:-1] + (path.stem,))
        rows.append({"rule": rule, "s": frame["s"].iloc[0], "max_rss_mb": frame["max_rss"].iloc[0]})
    if not rows:
        raise SystemExit(f"no benchmark files under {root}")
    frame = pd.DataFrame(rows)
    return (
        frame.groupby("rule")
        .agg(
            jobs=("s", "size"),
            total_s=("s", "sum"),
            max_s=("s", "max"),
            max_rss_mb=("max_rss_mb", "max"),
        )
        .sort_values("total_s", ascending=False)
        .round(1)
    )


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "results/benchmarks")
    table = summarise(root)
    print(table.to_string())
    print(f"\nsum of job times: {table['total_s'].sum():.1f} s")
