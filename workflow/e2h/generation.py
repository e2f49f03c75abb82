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
from e2h.prefix_attention import PrefixGroups, PrefixKV, shared_prefix_attention
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
    returned_cache,
    with_cache,
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
    prefixes: Sequence[tuple[int, PrefixKV | None]],
    sizes: Sequence[int],
    max_new_tokens: int,
    stop: str | None,
    eos: set[int],
) -> list[list[int]]:
    """Greedy continuation of each sequence on top of its prefix's cache.

    ``prefixes``: (length, per-layer cache) of each prefix; rows come in blocks of
    ``sizes[g]`` rows that start with prefix ``g``. Rows are right-padded after their prefix;
    generated tokens are appended after the padded block with explicit positions, and the
    padded slots are masked, so every row computes exactly what its own unpadded sequence
    would. Several prefixes in one batch need the shared-prefix attention (CPU).
    """
    from transformers import DynamicCache

    dec = _decoder(model)
    dev = _input_device(model)
    n = len(seqs)
    group = [g for g, size in enumerate(sizes) for _ in range(size)]  # each row's prefix
    if len(group) != n:
        raise ValueError(f"prefix blocks of {sum(sizes)} rows for {n} sequences")
    plen = [prefixes[g][0] for g in group]
    segs = [s[p:] for s, p in zip(seqs, plen, strict=True)]
    t1 = max(len(s) for s in segs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.full((n, t1), pad, dtype=torch.long)
    valid = torch.zeros((n, t1), dtype=torch.bool)  # the row's own (non-prefix) key slots
    for r, s in enumerate(segs):
        ids[r, : len(s)] = torch.tensor(s)
        valid[r, : len(s)] = True
    stored = [kv if p > 0 else None for p, kv in prefixes]
    shared = any(kv is not None for kv in stored) and _shared_prefix(model)
    if len(prefixes) > 1 and not shared:
        raise ValueError("several prefixes in one batch need the shared-prefix attention")
    if shared:
        # each prefix stays stored once and its rows attend to it (e2h.prefix_attention);
        # the cache holds only each row's own tokens, so a decoding step never copies it
        qi = torch.arange(t1)
        allowed = (qi[:, None] >= qi[None, :])[None] & valid[:, None, :]
        allowed |= (~valid)[:, :, None] & torch.eye(t1, dtype=torch.bool)[None]
        mask = allowed[:, None]
        cache = DynamicCache()
    else:
        p, kv = prefixes[0]
        mask = torch.cat([torch.ones((n, p), dtype=torch.bool), valid], dim=1).long()
        cache = _expanded_cache(kv, n) if kv is not None and p > 0 else DynamicCache()

    def forward(
        x: torch.Tensor, attention_mask: torch.Tensor, positions: torch.Tensor, rows: list[int]
    ) -> Any:
        extra: dict[str, Any] = {}
        attention = nullcontext()
        if shared:
            attention = shared_prefix_attention(_unwrap(model).config)
            live = [sum(group[r] == g for r in rows) for g in range(len(prefixes))]
            extra["e2h_prefix_kv"] = stored[0] if len(prefixes) == 1 else PrefixGroups(stored, live)
        with attention:
            return dec(
                input_ids=x,
                attention_mask=attention_mask.to(dev),
                position_ids=positions.to(dev),
                **with_cache(dec, cache),
                use_cache=True,
                **extra,
            )

    start = torch.tensor(plen)[:, None] + torch.arange(t1)[None]
    o = forward(ids.to(dev), mask, start, list(range(n)))
    last = torch.tensor([len(s) - 1 for s in segs], device=o.last_hidden_state.device)
    h = o.last_hidden_state[torch.arange(n, device=last.device), last]
    cache = returned_cache(o)
    next_pos = torch.tensor([len(s) for s in seqs])
    out: list[list[int]] = [[] for _ in range(n)]
    active = list(range(n))  # original row of each cache row (blocks stay in order)
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
        o = forward(x, keys[:, None, None, :] if shared else keys, next_pos[:, None], active)
        cache = returned_cache(o)
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
    """Greedy generations (decoded generated tokens only, cut at ``stop``) per prompt.

    Prompts with the same prefix (instruction and demonstrations) share its cache. With the
    shared-prefix attention (CPU), rows of different prefixes (the resamples of a cell) also
    share batches: a decoding step costs about the same for 6 rows as for 12, since it reads
    every weight once either way (docs/speed.md#cot-batches)."""
    encode = Encoder(tokenizer)
    seqs = encode([p.text for p in prompts])
    eos = _eos_ids(model, tokenizer)
    window = _sliding_window(model)
    longest = max((len(s) for s in seqs), default=0) + max_new_tokens
    plain = window is not None and longest > window
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(p.prefix, []).append(i)
    members_of = [sorted(m, key=lambda i: -len(seqs[i])) for m in groups.values()]
    mixed = use_prefix_cache and not plain and len(groups) > 1 and _shared_prefix(model)
    prefix_len = []
    for members in members_of:
        p = 0
        if use_prefix_cache and not plain and (len(members) > 1 or mixed):
            ref = seqs[members[0]]
            p = len(ref) - 1  # a prefix alone in its group: all but the last token
            for i in members:
                p = min(p, _lcp(ref, seqs[i]), len(seqs[i]) - 1)
        prefix_len.append(p)
    bs = max(1, int(batch_size))
    if mixed:  # rows of several prefixes per batch, each prefix's rows in one block
        rows = [(g, i) for g, members in enumerate(members_of) for i in members]
        batches = [rows[k : k + bs] for k in range(0, len(rows), bs)]
    else:
        batches = [
            [(g, i) for i in members[k : k + bs]]
            for g, members in enumerate(members_of)
            for k in range(0, len(members), bs)
        ]
    left = [len(m) for m in members_of]  # rows still to generate, per prefix
    caches: dict[int, Any] = {}
    texts = [""] * len(prompts)
    bar = tqdm(total=len(prompts), unit="item", desc=desc, disable=not progress)
    for batch in batches:
        block = list(dict.fromkeys(g for g, _ in batch))  # the batch's prefixes, in order
        for g in block:
            if g not in caches:
                p = prefix_len[g]
                caches[g] = prefix_cache(model, seqs[members_of[g][0]][:p]) if p > 0 else None
        if plain:
            gen = _greedy_plain(
                model, tokenizer, [prompts[i].text for _, i in batch], max_new_tokens, stop
            )
        else:
            gen = _greedy_cached(
                model, tokenizer, [seqs[i] for _, i in batch],
                [(prefix_len[g], caches[g]) for g in block],
                [sum(1 for h, _ in batch if h == g) for g in block],
                max_new_tokens, stop, eos,
            )  # fmt: skip
        for (g, i), tokens in zip(batch, gen, strict=True):
            texts[i] = _cut(tokenizer.decode(tokens, skip_special_tokens=True), stop)[0]
            left[g] -= 1
            if not left[g]:
                caches.pop(g, None)  # the prefix's last row: its cache is freed
        bar.update(len(batch))
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
    return generate_answer_sets(
        model, tokenizer, [(items, demonstrations)], prompt_id, kind, max_new_tokens,
        batch_size, max_length, model_key, seed, stop, use_prefix_cache, progress,
    )[0]  # fmt: skip


def generate_answer_sets(
    model: Any,
    tokenizer: Any,
    sets: Sequence[tuple[pd.DataFrame, pd.DataFrame | None]],
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
) -> list[pd.DataFrame]:
    """:func:`generate_answers` of several (items, demonstrations) sets, the resamples of a
    cell, generated in shared batches; one frame per set, as if each were run alone."""
    built = []
    for items, demonstrations in sets:
        if items["id"].duplicated().any():
            raise ValueError("item ids must be unique")
        prompts = build_prompts(
            items, demonstrations, prompt_id, tokenizer, max_length, reserve_tokens=max_new_tokens
        )
        built.append((items, 0 if demonstrations is None else len(demonstrations), prompts))
    ks = sorted({k for _, k, _ in built})
    texts = generate_texts(
        model,
        tokenizer,
        [p for _, _, prompts in built for p in prompts],
        max_new_tokens,
        batch_size,
        stop,
        use_prefix_cache,
        progress,
        desc=f"generate {model_key or ''} {prompt_id} k={'/'.join(map(str, ks))}".strip(),
    )
    frames, start = [], 0
    for items, k, prompts in built:
        frame = _answer_frame(
            items, prompts, texts[start : start + len(prompts)], kind, k, prompt_id, model_key,
            seed,
        )  # fmt: skip
        start += len(prompts)
        frames.append(frame)
    return frames


def _answer_frame(
    items: pd.DataFrame,
    prompts: Sequence[BuiltPrompt],
    texts: Sequence[str],
    kind: str,
    k: int,
    prompt_id: str,
    model_key: str | None,
    seed: int | None,
) -> pd.DataFrame:
    """The scored rows of one set's generations (:func:`generate_answers`)."""
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
