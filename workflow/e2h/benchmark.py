"""Speed and exactness benchmark of the multiple-choice scorer (docs/scoring.md#mc-scoring).

The same job (test items x demonstrations x prompt) is scored three ways in one process:
(a) this project's engine (:func:`e2h.scoring.score_choices`), (b) the naive full-sequence
per-choice reference (:func:`e2h.scoring.score_choices_naive`), (c) lm-evaluation-harness's
``HFLM.loglikelihood`` at batch size 1 with the same context/continuation strings (optional
extra ``bench``). It reports wall times, speed ratios, the largest |log-prob difference|
and prediction agreement for each pair, so a speed claim always comes with an exactness
check. In the same run it measures the job's physical limit on this machine (plain dense
forwards over the job's unique tokens, :func:`raw_forward_seconds`) and reports the engine's
time as a multiple of it (``fast_over_limit``).
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


def job_tokens(tokenizer: Any, prompts: Sequence[Any]) -> tuple[int, int]:
    """(unique tokens, scored positions) of a scoring job: every demonstration prefix once,
    each item's context once, each choice's tail once (what the engine runs), and the
    positions whose next token is scored (where the LM head is needed)."""
    from e2h.scoring import _plan_units, encode_prompts

    items = encode_prompts(tokenizer, prompts)
    units = _plan_units(items, share_context=True)
    prefixes = {(items[u.item].prefix_key, u.prefix_len) for u in units}
    unique = sum(p for _, p in prefixes) + sum(u.cost for u in units)
    scored = sum(len(f) - b for it in items for f, b in zip(it.full, it.bounds, strict=True))
    return int(unique), int(scored)


@torch.inference_mode()
def raw_forward_seconds(
    model: Any, n_tokens: int, n_scored: int, row_len: int = 256, rows: int = 4, repeats: int = 3
) -> dict[str, float]:
    """The physical limit of a scoring job on this machine: plain causal forwards of the
    decoder over ``n_tokens`` tokens in dense rows (no padding, no masks, no Python work per
    item), plus the LM head at ``n_scored`` positions. Median of ``repeats`` runs."""
    from e2h.scoring import _decoder, _input_device, head_logits

    dec = _decoder(model)
    dev = _input_device(model)
    vocab = int(model.get_input_embeddings().weight.shape[0])
    ids = torch.randint(0, vocab, (rows, row_len), generator=torch.Generator().manual_seed(0))
    per_batch = rows * row_len
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        left = n_tokens
        hidden = None
        while left > 0:
            take = min(rows, -(-left // row_len))  # whole rows; the last batch may be smaller
            x = ids[:take].to(dev)
            hidden = dec(input_ids=x, use_cache=False).last_hidden_state
            left -= min(left, take * row_len)
        if hidden is not None and n_scored:
            flat = hidden.reshape(-1, hidden.shape[-1])
            for start in range(0, n_scored, flat.shape[0]):
                head_logits(model, flat[: min(flat.shape[0], n_scored - start)])
        times.append(time.perf_counter() - t0)
    wall = float(np.median(times))
    return {"wall_s": wall, "tokens_per_s": n_tokens / wall, "runs_s": times, "rows": rows,
            "row_len": row_len, "per_batch_tokens": per_batch}  # fmt: skip


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
    unique, scored = job_tokens(tok, prompts)
    log.info("benchmark: raw forward over the job's %d unique tokens", unique)
    limit = raw_forward_seconds(model, unique, scored)
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
        # the physical limit: the same number of tokens through plain dense forwards
        "unique_tokens": unique,
        "scored_positions": scored,
        "raw_forward": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in limit.items()},
        "pairs": pairs,
        "versions": _versions(),
    }
    if "fast" in wall and "lm_eval" in wall:
        result["speedup_vs_lm_eval"] = round(wall["lm_eval"] / wall["fast"], 2)
        result["cpu_speedup_vs_lm_eval"] = round(cpu["lm_eval"] / cpu["fast"], 2)
    if "fast" in wall and "naive" in wall:
        result["speedup_vs_naive"] = round(wall["naive"] / wall["fast"], 2)
        result["cpu_speedup_vs_naive"] = round(cpu["naive"] / cpu["fast"], 2)
    if "fast" in wall:
        result["fast_over_limit"] = round(wall["fast"] / limit["wall_s"], 3)
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
