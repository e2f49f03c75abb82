"""A job's log: the job's own messages, not libraries' chatter."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from e2h.logs import run_with_log


def test_job_log_keeps_the_jobs_messages_and_drops_font_subsetting_chatter(tmp_path):
    log_file = tmp_path / "job.log"
    job = SimpleNamespace(log=[str(log_file)], rule="fig_demo", wildcards={}, threads=1)

    def main(_):
        logging.getLogger("e2h.demo").info("drew 3 panels")
        logging.getLogger("fontTools.subset").info("maxp pruned")  # as matplotlib's PDF saving
        logging.getLogger("fontTools.subset").warning("a glyph is missing")

    run_with_log(job, main)
    text = log_file.read_text()
    assert "drew 3 panels" in text and "rule fig_demo done" in text
    assert "maxp pruned" not in text and "a glyph is missing" in text
