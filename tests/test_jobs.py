"""Cell jobs (e2h.jobs.run_cell_group): every cell of a group, and resuming a killed job."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from e2h.cells import CellSpec
from e2h.jobs import CellJob, run_cell_group


class _Input(dict):
    def get(self, key, default=None):  # like Snakemake's InputFiles
        return super().get(key, default)


def _job(tmp_path, specs):
    outputs = []
    for spec in specs:
        outputs += [str(tmp_path / spec.directory / "predictions.parquet"),
                    str(tmp_path / spec.directory / "cell.json")]  # fmt: skip
    return SimpleNamespace(
        threads=1,
        params=SimpleNamespace(
            cells=[{"spec": s.as_dict(), "registry": {}} for s in specs],
            checkpoints=str(tmp_path / "checkpoints"),
        ),
        output=outputs,
        input=_Input(),
        config={"seed": 0},
    )


def _specs():
    return [
        CellSpec(dataset="arc", model="m", method="icl", prompt="cloze", measure="human_grade",
                 train=level, n=2, resamples=1, cap=3, seed=0)
        for level in ("easy", "hard", "medium")
    ]  # fmt: skip


def _run_one(calls, fail_at=None):
    def run_one(spec, params):
        calls.append(spec.train)
        if spec.train == fail_at:
            raise KeyboardInterrupt("killed")
        pred = pd.DataFrame({"id": ["a", "b"], "correct": [True, spec.train == "easy"]})
        summary = pd.DataFrame({"resample": [0], "level": ["all"], "n": [2], "accuracy": [0.5]})
        return CellJob(pred, summary, dict(params["spec"]), model_info={"model_key": "m"})

    return run_one


def test_a_killed_job_reuses_its_finished_cells(tmp_path):
    specs = _specs()
    smk = _job(tmp_path, specs)
    calls: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_cell_group(smk, _run_one(calls, fail_at="hard"))
    assert calls == ["easy", "hard"]
    finished = tmp_path / "checkpoints" / specs[0].directory.removeprefix("results/cells/")
    assert (finished / "finished/predictions.parquet").exists()
    # Snakemake removes an incomplete job's outputs before it reruns the job
    for path in smk.output:
        (tmp_path / path).unlink(missing_ok=True)
    calls.clear()
    run_cell_group(smk, _run_one(calls))
    assert calls == ["hard", "medium"]  # easy was copied back, not recomputed
    for spec, path in zip(specs, smk.output[::2], strict=True):
        pred = pd.read_parquet(path)
        assert list(pred["correct"]) == [True, spec.train == "easy"]
        assert json.loads((tmp_path / spec.directory / "cell.json").read_text())["cell"]
    assert not list((tmp_path / "checkpoints").rglob("*.parquet"))  # cleared at the end


def test_a_finished_cell_with_other_params_is_recomputed(tmp_path):
    specs = _specs()[:1]
    smk = _job(tmp_path, specs)
    calls: list[str] = []
    finished = tmp_path / "checkpoints" / specs[0].directory.removeprefix("results/cells/")
    finished = finished / "finished"
    finished.mkdir(parents=True)
    (finished / "params.json").write_text(json.dumps({"spec": {"other": 1}}))
    run_cell_group(smk, _run_one(calls))
    assert calls == ["easy"]


def test_the_provenance_page_names_what_it_lacks_and_has_no_empty_header():
    from e2h.provenance import provenance_html

    page = provenance_html(
        {
            "git": {"commit": None},
            "datasets": {},
            "models": {},
            "packages": {"torch": "2"},
            "config": {"seed": 0},
        }  # fmt: skip
    )
    assert "none (not a git checkout)" in page and "<tr></tr>" not in page
    assert "<td>torch</td><td>2</td>" in page and "seed: 0" in page
