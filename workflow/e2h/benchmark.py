"""Speed and exactness benchmark of the multiple-choice scorer (docs/scoring.md#mc-scoring).

The same job (test items x demonstrations x prompt) is scored three ways in one process:
(a) this project's engine (:func:`e2h.scoring.score_choices`), (b) the naive full-sequence
per-choice reference (:func:`e2h.scoring.score_choices_naive`), (c) lm-evaluation-harness's
``HFLM.loglikelihood`` at batch size 1 with the same context/continuation strings (optional
extra ``bench``). It reports wall times, speed ratios, the largest |log-prob difference|
and prediction agreement for each pair, so a speed claim always comes with an exactness
check.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import platform
import time
from collections.abc import Sequence
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from e2h.prompts import build_prompts
from e2h.scoring import choice_softmax, max_abs_diff, score_choices, score_choices_naive

log = logging.getLogger(__name__)

ENGINES = ("fast", "naive", "lm_eval")


def load_items_jsonl(path: str | Path) -> pd.DataFrame:
    """Items in the workflow's item schema, one JSON object per line."""
    df = pd.read_json(path, lines=True, dtype={"id": str})
    missing = {"id", "question", "choices", "label_idx"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: items lack columns {sorted(missing)}")
    if "answer_text" not in df.columns:
        df["answer_text"] = [c[i] for c, i in zip(df["choices"], df["label_idx"], strict=True)]
    if "reasoning" not in df.columns:
        df["reasoning"] = None
    df["id"] = df["id"].astype(str)
    return df


def lm_eval_scores(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    demos: pd.DataFrame | None,
    prompt_id: str,
    max_length: int,
) -> list[list[float]]:
    """Summed log-probs from lm-evaluation-harness's HFLM at batch size 1, same strings."""
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=1, max_length=max_length)
    prompts = build_prompts(items, demos, prompt_id, tokenizer, max_length)
    reqs, owner = [], []
    for i, p in enumerate(prompts):
        for j, cont in enumerate(p.continuations):
            reqs.append(Instance("loglikelihood", {}, (p.text, cont), len(reqs)))
            owner.append((i, j))
    res = lm.loglikelihood(reqs, disable_tqdm=False)
    out: list[list[float]] = [[0.0] * len(p.continuations) for p in prompts]
    for (i, j), (lp, _greedy) in zip(owner, res, strict=True):
        out[i][j] = float(lp)
    return out


def _versions() -> dict[str, str]:
    import transformers

    v = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }
    try:
        import lm_eval

        v["lm_eval"] = getattr(lm_eval, "__version__", "unknown")
    except ImportError:
        pass
    return v


def run_benchmark(
    model_dir: str | Path,
    items: pd.DataFrame,
    demos: pd.DataFrame | None,
    prompt_id: str = "0040",
    threads: int = 2,
    batch_size: int = 32,
    max_length: int = 2048,
    engines: Sequence[str] = ENGINES,
    per_item_csv: str | Path | None = None,
    fast_repeats: int = 3,
) -> dict[str, Any]:
    """Score the job with each engine; timings, ratios, max |Δ log-prob|, agreement.

    The engine is cheap, so it runs ``fast_repeats`` times and its median run is reported
    (every run is kept in ``fast_runs_wall_s``); the two slow baselines run once.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise ValueError(f"unknown engines {sorted(unknown)}; known: {ENGINES}")
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(model_dir)
    with torch.inference_mode():  # page the weights in before any engine is timed
        model(input_ids=torch.ones((1, 8), dtype=torch.long))
    scores: dict[str, list[list[float]]] = {}
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}  # process CPU time: robust to other jobs sharing the cores
    fast_runs: list[tuple[float, float]] = []
    for name in engines:
        for rep in range(fast_repeats if name == "fast" else 1):
            log.info("benchmark: engine %s (run %d)", name, rep + 1)
            t0 = time.perf_counter()
            c0 = time.process_time()
            if name == "fast":
                df = score_choices(
                    model,
                    tok,
                    items,
                    demos,
                    prompt_id,
                    batch_size=batch_size,
                    max_length=max_length,
                )
                scores[name] = [list(x) for x in df["logprobs"]]
            elif name == "naive":
                df = score_choices_naive(
                    model, tok, items, demos, prompt_id, max_length=max_length, progress=True
                )
                scores[name] = [list(x) for x in df["logprobs"]]
            else:
                scores[name] = lm_eval_scores(model, tok, items, demos, prompt_id, max_length)
            wall[name] = time.perf_counter() - t0
            cpu[name] = time.process_time() - c0
            log.info("benchmark: %s took %.1f s wall, %.1f s CPU", name, wall[name], cpu[name])
            if name == "fast":
                fast_runs.append((wall[name], cpu[name]))
        if name == "fast":  # the median run: robust to a stray busy second, not the best one
            wall[name] = float(np.median([w for w, _ in fast_runs]))
            cpu[name] = float(np.median([c for _, c in fast_runs]))
    labels = items["label_idx"].astype(int).to_numpy()
    preds = {k: choice_softmax(v)[1].argmax(axis=1) for k, v in scores.items()}
    pairs = []
    for a, b in combinations(list(scores), 2):
        pairs.append(
            {
                "engine_a": a,
                "engine_b": b,
                "wall_a_s": round(wall[a], 3),
                "wall_b_s": round(wall[b], 3),
                "ratio_b_over_a": round(wall[b] / wall[a], 3),
                "cpu_a_s": round(cpu[a], 3),
                "cpu_b_s": round(cpu[b], 3),
                "cpu_ratio_b_over_a": round(cpu[b] / cpu[a], 3),
                "max_abs_dlogprob": max_abs_diff(scores[a], scores[b]),
                "pred_agreement": float(np.mean(preds[a] == preds[b])),
                "identical_predictions": bool((preds[a] == preds[b]).all()),
            }
        )
    prompts = build_prompts(items, demos, prompt_id, tok, max_length)
    n_tok = [len(tok(p.text + max(p.continuations, key=len))["input_ids"]) for p in prompts]
    result = {
        "model_dir": str(model_dir),
        "prompt_id": prompt_id,
        "n_items": len(items),
        "n_demos": 0 if demos is None else len(demos),
        "n_sequences": int(sum(len(c) for c in items["choices"])),
        "mean_prompt_tokens": float(np.mean(n_tok)),
        "threads": threads,
        "batch_size": batch_size,
        "dtype": "float32",
        "wall_s": {k: round(v, 3) for k, v in wall.items()},
        "fast_runs_wall_s": [round(w, 3) for w, _ in fast_runs],
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
        "load_average_at_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "accuracy": {k: float(np.mean(v == labels)) for k, v in preds.items()},
        "pairs": pairs,
        "versions": _versions(),
    }
    if "fast" in wall and "lm_eval" in wall:
        result["speedup_vs_lm_eval"] = round(wall["lm_eval"] / wall["fast"], 2)
        result["cpu_speedup_vs_lm_eval"] = round(cpu["lm_eval"] / cpu["fast"], 2)
    if "fast" in wall and "naive" in wall:
        result["speedup_vs_naive"] = round(wall["naive"] / wall["fast"], 2)
        result["cpu_speedup_vs_naive"] = round(cpu["naive"] / cpu["fast"], 2)
    if per_item_csv is not None:
        rows = []
        for i, iid in enumerate(items["id"]):
            for j in range(len(items["choices"].iloc[i])):
                rows.append(
                    {"id": iid, "choice": j, **{f"logprob_{k}": v[i][j] for k, v in scores.items()}}
                )
        Path(per_item_csv).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(per_item_csv, index=False)
    return result


def write_results(result: dict[str, Any], out_json: str | Path, out_csv: str | Path) -> None:
    """The full result as JSON and the pairwise comparison table as CSV."""
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    Path(out_json).write_text(json.dumps(result, indent=2) + "\n")
    with open(out_csv, "w", newline="") as fh:
        fields = list(result["pairs"][0]) if result["pairs"] else ["engine_a"]
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        w.writerows(result["pairs"])
