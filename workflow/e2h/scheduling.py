"""How often Snakemake's scheduler wakes during a local run (docs/speed.md#scheduler-polling).

Snakemake re-selects jobs after each job ends and, with its default rate limit
(``--max-jobs-per-timespan 100/1s``), once a second while any job waits. Each selection
re-evaluates every waiting job's params, resources and input sizes: measured at 10-15 % of a
core beside two one-thread model jobs on a 2-core machine, time the jobs lose. A local run has
no queue to protect, so there it re-selects only when a job ends. An explicit
``--max-jobs-per-timespan`` and every cluster run keep Snakemake's behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Snakemake's default ``--max-jobs-per-timespan``: (jobs, seconds)
SNAKEMAKE_DEFAULT_RATE = (100, 1)
OPTION = "--max-jobs-per-timespan"


def stop_polling(workflow: Any, argv: Sequence[str]) -> bool:
    """Drop the once-a-second re-selection of a local run; True when it was dropped.

    Called from the Snakefile's ``onstart`` (after Snakemake built its scheduler, before the
    first job). Leaves everything as it is when anything is not as expected: a remote
    executor, a rate the user set, or a Snakemake whose scheduler has no rate limiter. A
    profile that sets exactly Snakemake's default (100/1s) cannot be told from the default and
    is dropped too; any other profile value is kept."""
    if not getattr(workflow, "local_exec", False):
        return False
    if any(arg == OPTION or arg.startswith(OPTION + "=") for arg in argv):
        return False
    settings = getattr(workflow, "scheduling_settings", None)
    limit = getattr(settings, "max_jobs_per_timespan", None)
    if limit is None or (limit.max_jobs, limit.timespan) != SNAKEMAKE_DEFAULT_RATE:
        return False
    scheduler = getattr(workflow, "scheduler", None)
    if scheduler is None or getattr(scheduler, "job_rate_limiter", None) is None:
        return False
    scheduler.job_rate_limiter = None
    return True
