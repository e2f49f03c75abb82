"""Per-job logging for Snakemake scripts: every job writes a readable log under results/logs/."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any


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
