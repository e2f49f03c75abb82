"""Hidden-state features for the linear probe (docs/methods.md#linear-probe).

For the zero-shot prompt plus each choice continuation (the input of docs/scoring.md#mc-scoring),
take the residual-stream state at the last real token of the sequence from two entries of the
``hidden_states`` tuple (L + 1 entries, index 0 = embeddings): middle = ceil((L + 1) / 2) and
last = L. The two are concatenated to 2d features per (item, choice), stored as a memory-mappable
``.npy`` (items, max_choices, 2d) next to a boolean choice mask (padded slots are False,
docs/defects.md#d-4) and a manifest with the provenance and a SHA-256 of the arrays.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from e2h.prompts import build_prompts, prompt_hash, target_hash
from e2h.scoring import (
    Encoder,
    _accepts,
    _attn_impl,
    _decoder,
    _gather_score,
    _input_device,
    _packed_forward,
    _plan_units,
    _unwrap,
    encode_prompts,
)

FEATURES = "features.npy"
MASK = "choice_mask.npy"
MANIFEST = "manifest.json"
log = logging.getLogger(__name__)


def probe_layers(num_hidden_layers: int) -> tuple[int, int]:
    """(middle, last) indices into the hidden_states tuple: 30 -> (16, 30), 32 -> (17, 32)."""
    return math.ceil((num_hidden_layers + 1) / 2), num_hidden_layers


def _num_layers(model: Any) -> int:
    cfg = _unwrap(model).config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    return int(cfg.num_hidden_layers)


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last real token per row, whatever the padding side."""
    t = attention_mask.shape[1]
    flipped = attention_mask.flip(1).long().argmax(dim=1)
    return (t - 1) - flipped


def hash_arrays(*arrays: np.ndarray) -> str:
    """SHA-256 over dtype, shape and bytes of each array (C order)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _hash_files(features: Path, mask: Path) -> str:
    f = np.load(features, mmap_mode="r")
    m = np.load(mask, mmap_mode="r")
    return hash_arrays(f, m)


@torch.inference_mode()
def extract_hidden_states(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    prompt_id: str,
    out_dir: str | Path,
    batch_size: int = 16,
    max_length: int = 2048,
    dtype: str = "float32",
    model_info: Mapping[str, Any] | None = None,
    progress: bool = True,
    scores: list[list[float]] | None = None,
    known: Mapping[int, tuple[np.ndarray, list[float]]] | None = None,
    prompts: list | None = None,
    scored: Collection[int] | None = None,
) -> dict[str, Any]:
    """Write features/mask/manifest for every item (zero-shot prompt + each choice).

    ``scores`` (an empty list): also fill it with every item's summed choice log-probs from
    the same forwards (the zero-shot scores of docs/scoring.md#mc-scoring), so a zero-shot
    pass yields predictions and hidden states at once (:func:`zero_shot_pass`). ``scored``:
    the indices of the items whose log-probs are wanted (default: all); the LM head runs
    only on their tokens, and the others' entries stay 0.

    ``known``: item index -> (features (choices, 2d), choice log-probs) computed before by a
    pass over the same tokens (:func:`reusable_items`); those items run no forward.
    ``prompts``: the items' zero-shot prompts, when the caller has built them already.

    With sdpa or eager attention the scorer's packed layout is used: one row per item, the
    question once and every choice's tokens after it under a tree mask
    (``e2h.scoring._packed_forward``), so each token is computed as in its own sequence and
    nothing runs twice. Other attention implementations get one padded row per choice, with
    explicit position ids; the last real token is found from the attention mask, so left and
    right padding give the same features. ``batch_size`` counts (item, choice) sequences per
    forward, as in the scorer. Returns the manifest.
    """
    if dtype not in ("float32", "float16"):
        raise ValueError("dtype must be float32 or float16")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n_layers = _num_layers(model)
    layers = probe_layers(n_layers)
    if prompts is None:
        prompts = build_prompts(items, None, prompt_id, tokenizer, max_length)
    n_items = len(prompts)
    width = max((len(p.continuations) for p in prompts), default=0)
    mask = np.zeros((n_items, width), dtype=bool)
    feats = None
    known = dict(known or {})
    todo = [i for i in range(n_items) if i not in known]  # items that need a forward
    run = [prompts[i] for i in todo]
    packed = _attn_impl(model) in ("sdpa", "eager")
    run_scores: list[list[float]] | None = None
    wanted = set(range(n_items)) if scored is None else set(scored)
    run_wanted = {k for k, i in enumerate(todo) if i in wanted}  # positions in `run`
    if scores is not None:
        run_scores = [[0.0] * len(p.continuations) for p in run]
        picked = sorted(run_wanted)
        if not packed and picked:  # the padded layout has no LM head pass: use the engine
            from e2h.scoring import sum_logprobs_fast

            got = sum_logprobs_fast(model, tokenizer, [run[k] for k in picked], batch_size,
                                    progress=False)[0]  # fmt: skip
            for k, sc in zip(picked, got, strict=True):
                run_scores[k] = sc
    batches = (
        _packed_batches(
            model, tokenizer, run, batch_size, layers, n_layers,
            run_scores if scores is not None and packed else None, run_wanted,
        )
        if packed
        else _padded_batches(model, tokenizer, run, batch_size, layers, n_layers)
    )  # fmt: skip

    def allocate(dim: int) -> np.ndarray:
        f = np.lib.format.open_memmap(
            out / FEATURES, mode="w+", dtype=dtype, shape=(n_items, width, dim)
        )
        f[:] = 0
        return f

    for i, (vec, _) in known.items():
        if feats is None:
            feats = allocate(vec.shape[1])
        feats[i, : len(vec)] = vec
        mask[i, : len(vec)] = True
    bar = tqdm(total=len(run), desc=f"hidden {prompt_id}", unit="item", disable=not progress)
    for owners, vec, finished in batches:
        if feats is None:
            feats = allocate(vec.shape[1])
        for r, (i, j) in enumerate(owners):
            feats[todo[i], j] = vec[r]
            mask[todo[i], j] = True
        bar.update(finished)
    bar.close()
    if scores is not None:
        by_index = dict(zip(todo, run_scores or [], strict=True))
        scores[:] = [known[i][1] if i in known else by_index[i] for i in range(n_items)]
    d = 0 if feats is None else feats.shape[2] // 2
    if feats is None:
        feats = np.lib.format.open_memmap(out / FEATURES, mode="w+", dtype=dtype, shape=(0, 0, 0))
    feats.flush()
    del feats
    np.save(out / MASK, mask)
    left = getattr(tokenizer, "padding_side", "left") == "left"
    manifest = {
        **dict(model_info or {}),
        "prompt_id": str(prompt_id),
        "k": 0,
        "num_hidden_layers": n_layers,
        "layers": list(layers),
        "hidden_size": d,
        "dtype": dtype,
        "shape": [n_items, width, 2 * d],
        "padding_side": "left" if left else "right",
        "n_truncated": sum(p.truncated for p in prompts),
        "item_ids": [p.item_id for p in prompts],
        "prompt_hashes": [prompt_hash(p) for p in prompts],
        "files": {"features": FEATURES, "mask": MASK},
        "sha256": _hash_files(out / FEATURES, out / MASK),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _features(hidden: tuple, layers: tuple[int, int], n_layers: int, rows, cols) -> np.ndarray:
    """[middle | last] hidden state at (row, col) pairs, float32, on the CPU."""
    if len(hidden) != n_layers + 1:
        raise RuntimeError(f"expected {n_layers + 1} hidden states, got {len(hidden)}")
    mid, last = (hidden[i] for i in layers)
    r = torch.as_tensor(rows, device=mid.device)
    c = torch.as_tensor(cols, device=mid.device)
    picked = [mid[r, c].float(), last[r.to(last.device), c.to(last.device)].float().to(mid.device)]
    return torch.cat(picked, dim=1).cpu().numpy()


def _packed_batches(
    model, tokenizer, prompts, batch_size, layers, n_layers, scores=None, wanted=None
):
    """(owners, features, items finished) per packed forward: one row per item. With
    ``scores``, the choice log-probs of the same forward are added to ``scores[item][choice]``
    for the items in ``wanted`` (default all; read from the final hidden states, as
    ``e2h.scoring._packed_logprobs`` does)."""
    encoded = encode_prompts(tokenizer, prompts)
    for it in encoded:
        it.prefix_len = 0
    units = _plan_units(encoded, share_context=True)
    units.sort(key=lambda u: -(u.shared_end + u.cost))
    width = max((len(it.full) for it in encoded), default=1)
    per_batch = max(1, int(batch_size) // max(1, width))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    remaining = {it.index: len(it.full) for it in encoded}
    for start in range(0, len(units), per_batch):
        batch = units[start : start + per_batch]
        o, offsets = _packed_forward(
            model, encoded, batch, None, pad_id, whole_tails=True, output_hidden_states=True,
            shared_prefix=True,  # no prefix here; a sliding-window model gets its window
        )  # fmt: skip
        rows, cols, owners = [], [], []
        for r, u in enumerate(batch):
            for j in u.choices:  # the last token of choice j's tail
                rows.append(r)
                cols.append(offsets[r][j] + len(encoded[u.item].full[j]) - u.shared_end - 1)
                owners.append((u.item, j))
        vec = _features(o.hidden_states, layers, n_layers, rows, cols)
        if scores is not None:
            picked = [u for u in batch if wanted is None or u.item in wanted]
            rows_of = {id(u): r for r, u in enumerate(batch)}
            _gather_score(
                model, o.last_hidden_state,
                *_score_positions(encoded, picked, offsets, [rows_of[id(u)] for u in picked]),
                scores,
            )  # fmt: skip
        del o
        finished = 0
        for u in batch:
            remaining[u.item] -= len(u.choices)
            finished += remaining[u.item] == 0
        yield owners, vec, finished


def _score_positions(encoded, batch, offsets, batch_rows=None):
    """(rows, cols, targets, owners) of every continuation token of ``batch``'s units (no
    prefix: the zero-shot prompt starts each row); ``batch_rows``: each unit's row in the
    forward, which also indexes ``offsets`` (default: its position in ``batch``)."""
    rows, cols, targets, owners = [], [], [], []
    for r, u in zip(batch_rows or range(len(batch)), batch, strict=True):
        s = u.shared_end
        for j in u.choices:
            f = encoded[u.item].full[j]
            for a in range(encoded[u.item].bounds[j] - 1, len(f) - 1):
                rows.append(r)
                cols.append(a if a < s else offsets[r][j] + a - s)
                targets.append(f[a + 1])
                owners.append((u.item, j))
    return rows, cols, targets, owners


def zero_shot_pass(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    prompt_id: str,
    out_dir: str | Path,
    batch_size: int = 16,
    max_length: int = 2048,
    model_key: str | None = None,
    model_info: Mapping[str, Any] | None = None,
    progress: bool = True,
    reuse: tuple[str | Path, str | Path] | None = None,
    scored_ids: Collection[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Zero-shot predictions (``e2h.scoring.results_frame`` rows) and the hidden states of
    every item from one forward per batch: the MDL stage's decoding scores, the zero-shot
    cells' predictions and the linear probe's features come from the same tokens, computed
    once. ``reuse``: (hidden-states folder, predictions file) of an earlier pass of the same
    model and prompt (the MDL stage's); its items with the same prompt hash are copied, not
    recomputed (:func:`reusable_items`). ``scored_ids``: the items that need predictions
    (default: all); the others get hidden states only, without the LM head on their choice
    tokens (with Gemma 3's 262k-token vocabulary, the head costs more per scored token than
    the model's layers: docs/speed.md#pass-lm-head), and no row."""
    from e2h.scoring import results_frame

    prompts = build_prompts(items, None, prompt_id, tokenizer, max_length)
    if scored_ids is None:
        scored = list(range(len(prompts)))
    else:
        wanted = set(scored_ids)
        scored = [i for i, p in enumerate(prompts) if p.item_id in wanted]
        if len(scored) != len(wanted):
            raise ValueError(f"{len(wanted) - len(scored)} items to score are not in the pass")
    known = reusable_items(prompts, *reuse, model_info) if reuse is not None else {}
    if reuse is not None:
        log.info("%d of %d items reused from %s", len(known), len(prompts), reuse[0])
    scores: list[list[float]] = []
    manifest = extract_hidden_states(
        model, tokenizer, items, prompt_id, out_dir, batch_size=batch_size,
        max_length=max_length, model_info=model_info, progress=progress, scores=scores,
        known=known, prompts=prompts, scored=scored,
    )  # fmt: skip
    params = {
        "model": model_key,
        "prompt_id": str(prompt_id),
        "k": 0,
        "seed": None,
        "n_truncated": manifest["n_truncated"],
    }
    rows = items.iloc[scored].reset_index(drop=True)
    frame = results_frame(rows, [prompts[i] for i in scored], [scores[i] for i in scored], params)
    return frame, manifest


#: Manifest fields two passes must share for one's features to stand in for the other's.
REUSE_FIELDS = ("model_key", "hub_id", "revision", "precision", "source", "gguf", "layers", "dtype")


def reusable_items(
    prompts: list,
    states: str | Path,
    predictions: str | Path,
    model_info: Mapping[str, Any] | None,
) -> dict[int, tuple[np.ndarray, list[float]]]:
    """Items of ``prompts`` an earlier zero-shot pass already computed (its hidden states in
    the folder ``states``, its predictions with their ``logprobs`` in ``predictions``): same
    model (the manifest's provenance), same layers and the same prompt hash (the same
    tokens). Returns index -> (features of its choices, choice log-probs)."""
    feats, mask, manifest = load_hidden_states(states)
    info = dict(model_info or {})
    if any(manifest.get(k) != info.get(k) for k in REUSE_FIELDS if k in info):
        log.info("%s: another model or precision; nothing reused", states)
        return {}
    pred = pd.read_parquet(predictions)
    if "logprobs" not in pred:
        return {}
    target_of = {p.item_id: target_hash(p.continuations) for p in prompts}
    # the scored continuations too: an NLL pass scores the gold answer only
    logprobs = {
        i: lp
        for i, lp, t in zip(pred["id"], pred["logprobs"], pred["target_hash"], strict=True)
        if t == target_of.get(i)
    }
    row = {
        (i, h): r
        for r, (i, h) in enumerate(
            zip(manifest["item_ids"], manifest["prompt_hashes"], strict=True)
        )
    }
    known = {}
    for k, p in enumerate(prompts):
        r = row.get((p.item_id, prompt_hash(p)))
        if r is None or p.item_id not in logprobs:
            continue
        n = len(p.continuations)
        if int(mask[r].sum()) != n or len(logprobs[p.item_id]) != n:
            continue
        known[k] = (np.asarray(feats[r, :n]), [float(v) for v in logprobs[p.item_id]])
    return known


def _padded_batches(model, tokenizer, prompts, batch_size, layers, n_layers):
    """(owners, features, items finished) per forward of length-sorted padded sequences."""
    encode = Encoder(tokenizer)
    seqs: list[tuple[int, int, list[int]]] = []
    for i, p in enumerate(prompts):
        ids = encode([p.text + c for c in p.continuations])
        seqs += [(i, j, x) for j, x in enumerate(ids)]
    order = sorted(range(len(seqs)), key=lambda s: -len(seqs[s][2]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    left = getattr(tokenizer, "padding_side", "left") == "left"
    dev = _input_device(model)
    dec = _decoder(model)
    with_pos = _accepts(dec, "position_ids")
    remaining = {i: len(p.continuations) for i, p in enumerate(prompts)}
    bs = max(1, int(batch_size))
    for start in range(0, len(order), bs):
        batch = [seqs[s] for s in order[start : start + bs]]
        t = max(len(x) for _, _, x in batch)
        ids = torch.full((len(batch), t), pad_id, dtype=torch.long)
        am = torch.zeros((len(batch), t), dtype=torch.long)
        for r, (_, _, x) in enumerate(batch):
            sl = slice(t - len(x), t) if left else slice(0, len(x))
            ids[r, sl] = torch.tensor(x)
            am[r, sl] = 1
        kwargs: dict[str, Any] = {"input_ids": ids.to(dev), "attention_mask": am.to(dev)}
        if with_pos:
            kwargs["position_ids"] = (am.cumsum(1) - 1).clamp(min=0).to(dev)
        o = dec(**kwargs, output_hidden_states=True, use_cache=False)  # no LM head needed
        cols = last_token_index(am).tolist()
        vec = _features(o.hidden_states, layers, n_layers, list(range(len(batch))), cols)
        del o
        finished = 0
        for i, _, _ in batch:
            remaining[i] -= 1
            finished += remaining[i] == 0
        yield [(i, j) for i, j, _ in batch], vec, finished


def load_hidden_states(
    directory: str | Path, verify: bool = False
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(features memmap, choice mask, manifest); ``verify`` re-hashes the arrays."""
    d = Path(directory)
    manifest = json.loads((d / MANIFEST).read_text())
    feats = np.load(d / manifest["files"]["features"], mmap_mode="r")
    mask = np.load(d / manifest["files"]["mask"], mmap_mode="r")
    if list(feats.shape) != list(manifest["shape"]):
        raise ValueError(f"{d}: features shape {feats.shape} != manifest {manifest['shape']}")
    if verify:
        got = hash_arrays(feats, mask)
        if got != manifest["sha256"]:
            raise ValueError(f"{d}: content hash mismatch ({got} != {manifest['sha256']})")
    return feats, mask, manifest
