"""The figures' style file stands in for seaborn's theme without importing seaborn."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pytest
from cycler import Cycler
from matplotlib.colors import to_hex

from e2h import plotting

ROOT = Path(__file__).resolve().parents[1]


def _close(a: object, b: object) -> bool:
    if isinstance(a, Cycler) and isinstance(b, Cycler):
        hexes = [[to_hex(c) for c in x.by_key()["color"]] for x in (a, b)]
        return hexes[0] == hexes[1]
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9)
    return a == b


def test_style_file_equals_seaborn_theme() -> None:
    """Every setting seaborn's theme changes, set_style sets to the same value (a stale
    file after a seaborn upgrade fails here; workflow/tools/write_plot_style.py rewrites it)."""
    expected = plotting.seaborn_theme_params()
    assert len(expected) > 20  # the theme really changes the look
    with matplotlib.rc_context():
        plt.rcdefaults()
        plotting.set_style()
        got = dict(plt.rcParams)
    wrong = {k: (got[k], v) for k, v in expected.items() if not _close(got[k], v)}
    assert not wrong, f"plot_style.mplstyle differs from seaborn.set_theme: {wrong}"
    assert all(got[k] == v for k, v in plotting.OUTPUT_PARAMS.items())


def test_figure_modules_do_not_import_seaborn() -> None:
    """A figure job's imports stay free of seaborn (and the scipy.stats it pulls in)."""
    code = (
        "import sys; import e2h.plotting, e2h.figures.fig_e2h; e2h.plotting.set_style(); "
        "print('seaborn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "workflow"), "PATH": ""},
    )
    assert out.stdout.strip() == "False"
