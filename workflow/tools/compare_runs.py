"""Compare two finished runs of the workflow: predictions, tables and figure data.

    python workflow/tools/compare_runs.py BEFORE_DIR AFTER_DIR

Every predictions.parquet of BEFORE is matched to AFTER's by cell folder (3rd grade → college
cells moved from results/cells/transfer/{model}/{method}-{prompt}/{source}/k{k}/... to
results/cells/mmlu/{model}/{method}-{prompt}/transfer/{source}-n{k}/...), then compared on the
columns both have, value for value (float lists exactly); columns only one side has are listed.
Tables and figure data are compared the same way. Exit status 1 if any shared value differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

TRANSFER = re.compile(r"results/cells/transfer/([^/]+)/([^/]+)/([^/]+)/k(\d+)/(.+)")


def after_path(rel: str) -> str:
    m = TRANSFER.fullmatch(rel)
    if m:
        model, method_prompt, source, k, rest = m.groups()
        return f"results/cells/mmlu/{model}/{method_prompt}/transfer/{source}-n{k}/{rest}"
    return rel


def _canonical(value):
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, list):
        return tuple(value)
    return value


def compare(a: pd.DataFrame, b: pd.DataFrame) -> tuple[list[str], list[str], list[str]]:
    """(differing shared columns, columns only in a, columns only in b)."""
    shared = [c for c in a.columns if c in b.columns]
    bad = []
    if len(a) != len(b):
        return ["<row count>"], [], []
    for c in shared:
        x = a[c].map(_canonical).tolist()
        y = b[c].map(_canonical).tolist()
        same = all(
            (u == v)
            or (isinstance(u, float) and isinstance(v, float) and np.isnan(u) and np.isnan(v))
            for u, v in zip(x, y, strict=True)
        )
        if not same:
            bad.append(c)
    return bad, [c for c in a.columns if c not in b], [c for c in b.columns if c not in a]


def main(before: Path, after: Path) -> int:
    failures = 0
    files = sorted(before.glob("results/cells/**/predictions.parquet"))
    files += sorted(before.glob("results/tables/*.csv")) + sorted(
        before.glob("results/figure_data/*.csv")
    )
    added: dict[str, set[str]] = {}
    for path in files:
        rel = str(path.relative_to(before))
        other = after / after_path(rel)
        if not other.exists():
            print(f"MISSING in after: {rel}")
            failures += 1
            continue
        read = pd.read_parquet if rel.endswith(".parquet") else pd.read_csv
        bad, only_a, only_b = compare(read(path), read(other))
        kind = "predictions" if rel.endswith(".parquet") else rel
        if only_b:
            added.setdefault(",".join(only_b), set()).add(kind)
        if bad or only_a:
            failures += 1
            print(f"DIFFERS {rel}: columns {bad}, dropped {only_a}")
    print(f"compared {len(files)} files; {failures} differ or are missing")
    for cols, kinds in added.items():
        print(f"new columns [{cols}] in: {', '.join(sorted(kinds))}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
