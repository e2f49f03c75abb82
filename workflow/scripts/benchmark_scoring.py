"""Benchmark the multiple-choice scorer against naive scoring and lm-evaluation-harness.

Example (dev machine, SmolLM2 converted with ``e2h.models.convert_gguf``):

    python workflow/scripts/benchmark_scoring.py --model-dir results/models/smollm2-135m \
        --items test.jsonl --demos train.jsonl --n-items 200 --n-demos 10 \
        --out results/benchmarks/scoring.json

Items and demonstrations are JSONL files in the workflow's item schema (id, question,
choices, label_idx, answer_text); the first ``--n-items`` / ``--n-demos`` rows are used.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from e2h.benchmark import ENGINES, load_items_jsonl, run_benchmark, write_results


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the benchmark, write JSON + CSV next to each other."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True, help="a from_pretrained folder")
    ap.add_argument("--items", required=True, help="test items, JSONL")
    ap.add_argument("--demos", help="demonstration items, JSONL (omit for zero-shot)")
    ap.add_argument("--n-items", type=int, default=200)
    ap.add_argument("--n-demos", type=int, default=10)
    ap.add_argument("--prompt-id", default="0040")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=2048)
    ap.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"comma-separated subset of {','.join(ENGINES)}",
    )
    ap.add_argument("--out", required=True, help="JSON output; the CSV goes next to it")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    items = load_items_jsonl(args.items).head(args.n_items)
    demos = load_items_jsonl(args.demos).head(args.n_demos) if args.demos else None
    out = Path(args.out)
    result = run_benchmark(
        args.model_dir,
        items,
        demos,
        prompt_id=args.prompt_id,
        threads=args.threads,
        batch_size=args.batch_size,
        max_length=args.max_length,
        engines=[e for e in args.engines.split(",") if e],
        per_item_csv=out.with_name(out.stem + "_logprobs.csv"),
    )
    write_results(result, out, out.with_suffix(".csv"))
    logging.info("wrote %s: %s", out, result["wall_s"])


if __name__ == "__main__":
    main()
