"""Chain-of-thought generation and answer scoring (docs/scoring.md#cot-generation).

Greedy decoding, batched, with the demonstration prefix's key/value cache computed once
and reused for every batch (the k CoT demonstrations are most of each prompt). Generation
stops early at "\\n\\nQ:" (the start of a next demonstration; not "\\n\\n" alone, since some
GSM8k rationales contain blank lines) or at EOS. Only generated tokens are decoded, and the
answer is extracted with :mod:`e2h.answers`, the same extraction for every method.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm

from e2h.answers import answers_match, extract_answer
from e2h.prefix_attention import shared_prefix_attention
from e2h.prompts import BuiltPrompt, build_prompts, item_hash, prompt_hash, target_hash
from e2h.scoring import (
    Encoder,
    _attn_impl,
    _decoder,
    _expanded_cache,
    _input_device,
    _lcp,
    _sliding_window,
    _unwrap,
    head_logits,
    prefix_cache,
)

log = logging.getLogger(__name__)

STOP = "\n\nQ:"


def _cut(text: str, stop: str | None) -> tuple[str, bool]:
    if stop and stop in text:
        return text[: text.index(stop)], True
    return text, False


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids = set()
    for src in (getattr(_unwrap(model), "generation_config", None), tokenizer):
        e = getattr(src, "eos_token_id", None) if src is not None else None
        if isinstance(e, int):
            ids.add(e)
        elif isinstance(e, list | tuple):
            ids.update(int(x) for x in e)
    return ids


@torch.inference_mode()
def _greedy_cached(
    model: Any,
    tokenizer: Any,
    seqs: Sequence[list[int]],
    prefix_len: int,
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None,
    max_new_tokens: int,
    stop: str | None,
    eos: set[int],
) -> list[list[int]]:
    """Greedy continuation of each sequence on top of the shared prefix cache.

    Rows are right-padded after the prefix; generated tokens are appended after the padded
    block with explicit positions, and the padded slots are masked, so every row computes
    exactly what its own unpadded sequence would.
    """
    from transformers import DynamicCache

    dec = _decoder(model)
    dev = _input_device(model)
    p = prefix_len
    n = len(seqs)
    segs = [s[p:] for s in seqs]
    t1 = max(len(s) for s in segs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((n, t1), pad, dtype=torch.long)
    valid = torch.zeros((n, t1), dtype=torch.bool)  # the row's own (non-prefix) key slots
    for r, s in enumerate(segs):
        ids[r, : len(s)] = torch.tensor(s)
        valid[r, : len(s)] = True
    shared = kv is not None and p > 0 and _shared_prefix(model)
    if shared:
        # the prefix stays stored once and every row attends to it (e2h.prefix_attention);
        # the cache holds only each row's own tokens, so a decoding step never copies it
        qi = torch.arange(t1)
        allowed = (qi[:, None] >= qi[None, :])[None] & valid[:, None, :]
        allowed |= (~valid)[:, :, None] & torch.eye(t1, dtype=torch.bool)[None]
        mask = allowed[:, None]
        extra: dict[str, Any] = {"e2h_prefix_kv": kv}
        cache = DynamicCache()
    else:
        mask = torch.cat([torch.ones((n, p), dtype=torch.bool), valid], dim=1).long()
        extra = {}
        cache = _expanded_cache(kv, n) if kv is not None and p > 0 else DynamicCache()

    def forward(x: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor) -> Any:
        attention = shared_prefix_attention(_unwrap(model).config) if shared else nullcontext()
        with attention:
            return dec(
                input_ids=x,
                attention_mask=attention_mask.to(dev),
                position_ids=positions.to(dev),
                past_key_values=cache,
                use_cache=True,
                **extra,
            )

    o = forward(ids.to(dev), mask, (p + torch.arange(t1))[None].expand(n, -1))
    last = torch.tensor([len(s) - 1 for s in segs], device=o.last_hidden_state.device)
    h = o.last_hidden_state[torch.arange(n, device=last.device), last]
    cache = o.past_key_values
    next_pos = torch.tensor([len(s) for s in seqs])
    out: list[list[int]] = [[] for _ in range(n)]
    active = list(range(n))  # original row of each cache row
    keys = valid if shared else mask  # (rows, key slots): which slots a new token sees
    for _step in range(max_new_tokens):
        tok = head_logits(model, h).argmax(dim=-1).cpu().tolist()
        keep = []
        for q, r in enumerate(active):
            out[r].append(int(tok[q]))
            done = tok[q] in eos
            if not done and stop:  # the stop string ends in the last few tokens when it appears
                done = stop in tokenizer.decode(out[r][-12:], skip_special_tokens=True)
            if not done:
                keep.append(q)
        if not keep or _step == max_new_tokens - 1:
            break
        if len(keep) < len(active):
            sel = torch.tensor(keep, dtype=torch.long)
            cache.batch_select_indices(sel)  # CPU index: valid for tensors on any device
            keys = keys[sel]
            next_pos = next_pos[sel]
            tok = [tok[q] for q in keep]
            active = [active[q] for q in keep]
        x = torch.tensor(tok, dtype=torch.long, device=dev)[:, None]
        keys = torch.cat([keys, torch.ones((len(active), 1), dtype=keys.dtype)], dim=1)
        o = forward(x, keys[:, None, None, :] if shared else keys, next_pos[:, None])
        cache = o.past_key_values
        h = o.last_hidden_state[:, -1]
        next_pos = next_pos + 1
    return out


def _shared_prefix(model: Any) -> bool:
    """Shared-prefix attention where the scorer uses it (CPU, no sliding window) and the
    attention takes custom masks."""
    return (
        _input_device(model).type == "cpu"
        and _sliding_window(model) is None
        and _attn_impl(model) in ("sdpa", "eager")
    )


@torch.inference_mode()
def _greedy_plain(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    max_new_tokens: int,
    stop: str | None,
) -> list[list[int]]:
    """Fallback: transformers' batched ``generate`` with left padding and a stop string."""
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        enc = tokenizer(list(texts), return_tensors="pt", padding=True)
    finally:
        tokenizer.padding_side = side
    dev = _input_device(model)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if stop:
        kwargs.update(stop_strings=[stop], tokenizer=tokenizer)
    gen = model.generate(
        input_ids=enc["input_ids"].to(dev), attention_mask=enc["attention_mask"].to(dev), **kwargs
    )
    new = gen[:, enc["input_ids"].shape[1] :].cpu().tolist()
    pad = tokenizer.pad_token_id
    return [[t for t in row if t != pad] for row in new]


def generate_texts(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[BuiltPrompt],
    max_new_tokens: int,
    batch_size: int = 8,
    stop: str | None = STOP,
    use_prefix_cache: bool = True,
    progress: bool = True,
    desc: str = "generate",
) -> list[str]:
    """Greedy generations (decoded generated tokens only, cut at ``stop``) per prompt."""
    encode = Encoder(tokenizer)
    seqs = encode([p.text for p in prompts])
    eos = _eos_ids(model, tokenizer)
    window = _sliding_window(model)
    longest = max((len(s) for s in seqs), default=0) + max_new_tokens
    plain = window is not None and longest > window
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(p.prefix, []).append(i)
    texts = [""] * len(prompts)
    bs = max(1, int(batch_size))
    bar = tqdm(total=len(prompts), unit="item", desc=desc, disable=not progress)
    for members in groups.values():
        p = 0
        if use_prefix_cache and not plain and len(members) > 1:
            ref = seqs[members[0]]
            p = len(ref)
            for i in members:
                p = min(p, _lcp(ref, seqs[i]), len(seqs[i]) - 1)
        kv = prefix_cache(model, seqs[members[0]][:p]) if p > 0 else None
        members = sorted(members, key=lambda i: -len(seqs[i]))
        for start in range(0, len(members), bs):
            batch = members[start : start + bs]
            if plain:
                gen = _greedy_plain(
                    model, tokenizer, [prompts[i].text for i in batch], max_new_tokens, stop
                )
            else:
                gen = _greedy_cached(
                    model, tokenizer, [seqs[i] for i in batch], p, kv, max_new_tokens, stop, eos
                )
            for i, g in zip(batch, gen, strict=True):
                texts[i] = _cut(tokenizer.decode(g, skip_special_tokens=True), stop)[0]
            bar.update(len(batch))
        del kv
    bar.close()
    return texts


def generate_answers(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    demonstrations: pd.DataFrame | None,
    prompt_id: str,
    kind: str,
    max_new_tokens: int,
    batch_size: int = 8,
    max_length: int = 2048,
    model_key: str | None = None,
    seed: int | None = None,
    stop: str | None = STOP,
    use_prefix_cache: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Generate a CoT answer for every item and score it (docs/scoring.md#cot-generation).

    One row per item: id, generation, pred (extracted answer or None), gold, correct,
    invalid, n_demos, truncated, model, prompt_id, k, seed. ``stop=None`` (LoRA-CoT) stops
    at EOS only.
    """
    if items["id"].duplicated().any():
        raise ValueError("item ids must be unique")
    k = 0 if demonstrations is None else len(demonstrations)
    prompts = build_prompts(
        items, demonstrations, prompt_id, tokenizer, max_length, reserve_tokens=max_new_tokens
    )
    texts = generate_texts(
        model,
        tokenizer,
        prompts,
        max_new_tokens,
        batch_size,
        stop,
        use_prefix_cache,
        progress,
        desc=f"generate {model_key or ''} {prompt_id} k={k}".strip(),
    )
    rows = []
    records = items.to_dict("records")
    for p, text, gold, item in zip(prompts, texts, items["answer_text"], records, strict=True):
        pred = extract_answer(text, kind)  # type: ignore[arg-type]
        rows.append(
            {
                "id": p.item_id,
                "generation": text,
                "pred": pred,
                "gold": str(gold),
                "correct": answers_match(pred, str(gold), kind),  # type: ignore[arg-type]
                "invalid": pred is None,
                "n_demos": p.n_demos,
                "truncated": p.truncated,
                "prompt_hash": prompt_hash(p),
                "item_hash": item_hash(item),
                "target_hash": target_hash([str(gold)]),
            }
        )
    df = pd.DataFrame(rows)
    for key, value in (
        ("model", model_key),
        ("prompt_id", str(prompt_id)),
        ("k", k),
        ("seed", seed),
    ):
        df[key] = value
    df.attrs["params"] = {
        "model": model_key,
        "prompt_id": str(prompt_id),
        "k": k,
        "seed": seed,
        "n_truncated": sum(p.truncated for p in prompts),
        "invalid_rate": float(df["invalid"].mean()) if len(df) else 0.0,
    }
    return df
