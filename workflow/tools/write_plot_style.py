"""Write workflow/e2h/plot_style.mplstyle: the figures' seaborn theme as a matplotlib style.

Figure jobs apply the style file instead of importing seaborn, whose import pulls in
scipy.stats and costs about 1.4 s in each of the ~25 figure jobs (docs/speed.md#figure-jobs).
tests/test_plotting.py checks that the file still equals ``seaborn.set_theme`` with these
arguments; rerun this script after upgrading seaborn or changing the theme:

    .venv/bin/python workflow/tools/write_plot_style.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from e2h.plotting import STYLE_FILE, seaborn_theme_params  # noqa: E402


def _value(value: object) -> str:
    from enum import Enum

    from cycler import Cycler

    if isinstance(value, Enum):  # e.g. CapStyle.round -> round
        return str(value.value)
    if isinstance(value, Cycler):
        colours = ", ".join(
            "'{:02x}{:02x}{:02x}'".format(*(round(255 * c) for c in rgb[:3]))
            for rgb in value.by_key()["color"]
        )
        return f"cycler('color', [{colours}])"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def main() -> None:
    params = seaborn_theme_params()
    lines = [
        "# The figures' theme: seaborn.set_theme(**e2h.plotting.THEME), written by",
        "# workflow/tools/write_plot_style.py (figure jobs then need no seaborn import).",
    ]
    lines += [f"{key}: {_value(value)}" for key, value in sorted(params.items())]
    STYLE_FILE.write_text("\n".join(lines) + "\n")
    print(f"wrote {STYLE_FILE} ({len(params)} settings)")


if __name__ == "__main__":
    main()
