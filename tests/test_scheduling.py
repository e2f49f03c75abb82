"""The local run's scheduler: no once-a-second re-selection, and nothing else changed."""

from types import SimpleNamespace

import pytest

from e2h.scheduling import stop_polling


def _workflow(local: bool = True, rate: tuple[int, int] | None = (100, 1)) -> SimpleNamespace:
    limit = None if rate is None else SimpleNamespace(max_jobs=rate[0], timespan=rate[1])
    return SimpleNamespace(
        local_exec=local,
        scheduling_settings=SimpleNamespace(max_jobs_per_timespan=limit),
        scheduler=SimpleNamespace(job_rate_limiter=object()),
    )


def test_local_run_with_snakemakes_default_rate_stops_polling():
    workflow = _workflow()
    assert stop_polling(workflow, ["snakemake", "--cores", "all"])
    assert workflow.scheduler.job_rate_limiter is None


@pytest.mark.parametrize(
    ("workflow", "argv"),
    [
        (_workflow(local=False), ["snakemake", "--executor", "slurm"]),
        (_workflow(rate=(20, 10)), ["snakemake", "--max-jobs-per-timespan", "20/10s"]),
        (_workflow(), ["snakemake", "--max-jobs-per-timespan", "100/1s"]),
        (_workflow(), ["snakemake", "--max-jobs-per-timespan=100/1s"]),
        (_workflow(rate=None), ["snakemake"]),
    ],
    ids=["cluster", "user-rate", "explicit-default", "explicit-default-equals", "no-limit"],
)
def test_everything_else_keeps_snakemakes_behaviour(workflow, argv):
    limiter = workflow.scheduler.job_rate_limiter
    assert not stop_polling(workflow, argv)
    assert workflow.scheduler.job_rate_limiter is limiter


def test_a_snakemake_without_a_rate_limiter_is_left_alone():
    workflow = _workflow()
    del workflow.scheduler.job_rate_limiter
    assert not stop_polling(workflow, ["snakemake"])
    assert not hasattr(workflow.scheduler, "job_rate_limiter")
