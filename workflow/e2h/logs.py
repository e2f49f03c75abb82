"""Per-job logging for Snakemake scripts: every job writes a readable log under results/logs/."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

#: Libraries whose INFO messages are noise in a job's log: matplotlib's PDF backend
#: subsets fonts through fontTools, which logs each table it prunes (about 100 lines per
#: figure).
QUIET_LIBRARIES = ("fontTools",)


def run_with_log(smk: Any, main: Callable[[Any], None]) -> None:
    """Run ``main(snakemake)`` with logging to the job's log file; log and re-raise errors."""
    log_path = smk.log[0] if len(smk.log) else None
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING)  # the console shows problems; the log file has it all
    handlers: list[logging.Handler] = [console]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    log = logging.getLogger(f"e2h.{smk.rule}")
    log.info("rule %s, wildcards %s", smk.rule, dict(smk.wildcards.items()))
    # BLAS and OpenMP pools use exactly the job's threads: no two jobs oversubscribe the
    # cores, and the summation order (so every float) is the same on every machine
    from threadpoolctl import threadpool_limits

    limits = threadpool_limits(limits=max(1, int(smk.threads)))
    try:
        main(smk)
    except Exception:
        log.exception("rule %s failed", smk.rule)
        raise
    finally:
        limits.restore_original_limits()
    log.info("rule %s done", smk.rule)


#: Where a run that stopped with failed jobs lists them (the README points here).
FAILURES = "results/logs/failures.txt"


def failed_jobs(snakemake_log: str) -> list[dict[str, str]]:
    """The failed jobs of a Snakemake run log: rule, wildcards, job log path(s).

    Snakemake 9's error block has no wildcards; they come from the job's start block with
    the same ``jobid``.
    """
    jobs: list[dict[str, str]] = []
    started: dict[str, dict[str, str]] = {}  # jobid -> the job's start block
    current: dict[str, str] | None = None
    for line in snakemake_log.splitlines():
        head = line.rstrip(":")
        if line.startswith("Error in rule "):
            current = {"rule": head.removeprefix("Error in rule "), "log": ""}
            jobs.append(current)
        elif line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            current = {"rule": head.split(" ", 1)[1], "start": "1"}
        elif current is not None and line.startswith("    "):
            key, _, value = line.strip().partition(": ")
            if key in ("wildcards", "log", "jobid"):
                current[key] = value.replace(" (check log file(s) for error details)", "")
            if key == "jobid" and current.get("start"):
                started[value] = current
        elif current is not None and line.strip():
            current = None
    for job in jobs:
        start = started.get(job.get("jobid", ""), {})
        if "wildcards" not in job and start.get("wildcards"):
            job["wildcards"] = start["wildcards"]
    return jobs


def last_error_line(path: str) -> str:
    """The last line of a job log that names an error (else its last line)."""
    from pathlib import Path

    try:
        lines = [x for x in Path(path).read_text(errors="replace").splitlines() if x.strip()]
    except OSError:
        return "(no log file)"
    for line in reversed(lines):
        if "Error" in line or "Exception" in line:
            return line.strip()
    return lines[-1].strip() if lines else "(empty log)"


def write_failure_summary(snakemake_log_path: str | list[str], out: str = FAILURES) -> str:
    """Write one line per failed job (rule, wildcards, log path, last error line) to ``out``:
    called by the Snakefile's ``onerror``, so a stopped run names its failures in one file.

    ``snakemake_log_path``: the run's log; Snakemake 9 passes ``onerror`` a list of them.
    """
    from pathlib import Path

    paths = [snakemake_log_path] if isinstance(snakemake_log_path, str) else snakemake_log_path
    snakemake_log_path = ", ".join(paths)
    jobs = failed_jobs("\n".join(Path(p).read_text(errors="replace") for p in paths))
    lines = [f"{len(jobs)} failed job(s); Snakemake's log: {snakemake_log_path}"]
    for job in jobs:
        logs = [p.strip() for p in job.get("log", "").split(",") if p.strip()]
        where = ", ".join(logs) or "(no job log)"
        error = last_error_line(logs[0]) if logs else "(see Snakemake's log)"
        wildcards = f" [{job['wildcards']}]" if job.get("wildcards") else ""
        lines.append(f"{job['rule']}{wildcards}\n  log: {where}\n  error: {error}")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text("\n".join(lines) + "\n")
    return out
