"""Fast multiple-choice scoring (docs/scoring.md#mc-scoring).

Score of choice j of item i = summed log-probability of the continuation ``" " + choice``
after the prompt, tokenised in ONE pass together with the prompt; the boundary between
context and continuation is the length of the context's own tokenisation (as in
lm-evaluation-harness), after moving trailing whitespace of the context into the
continuation. Probabilities are a softmax over the item's valid choices only (padded choice
slots are -inf, docs/defects.md#d-4).

Why this module is fast, without changing a single number (it must equal
:func:`score_choices_naive` to 1e-4 in fp32):

1. **Shared demonstration prefix.** Every test item of a cell starts with the same k
   demonstrations. They are run once; their key/value cache is expanded to the batch and
   reused. The split point is verified per item: the one-pass tokenisation of the full
   string must start with the prefix's own tokens, else that item runs without the cache.
2. **Shared question context.** Within an item, all choices share the context (the longest
   common token prefix of its choices). It runs once per item (stage 1); only the choice
   tokens run per choice (stage 2), on top of the item's cache.
3. **LM head only where needed.** The decoder's final hidden states are gathered at the
   positions that predict a continuation token; only those go through the LM head. The last
   token of a continuation is never fed to the model.
4. Length-sorted batches, right padding (padding never precedes a real token in a row, and
   gaps between stages are masked with explicit position ids), ``torch.inference_mode``.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from e2h.prefix_attention import shared_prefix_attention
from e2h.prompts import BuiltPrompt, build_prompts, item_hash, prompt_hash, target_hash

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------
# Tokenisation
# --------------------------------------------------------------------------------------


class Encoder:
    """Tokenise like the tokenizer's default call (BOS exactly when it adds one), never EOS."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        probe = "Question: x"
        with_sp = tokenizer(probe, add_special_tokens=True)["input_ids"]
        without = tokenizer(probe, add_special_tokens=False)["input_ids"]
        self.lead: list[int] = []
        for i in range(len(with_sp) - len(without) + 1):
            if with_sp[i : i + len(without)] == without:
                self.lead = list(with_sp[:i])
                break

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with the default leading special tokens."""
        if not texts:
            return []
        enc = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [self.lead + list(ids) for ids in enc]


def _lcp(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


@dataclass
class EncodedItem:
    """Token ids and boundaries of one item's choices (shared by fast and naive scorers)."""

    index: int
    full: list[list[int]]  # per choice: one-pass ids of prefix + context + " " + choice
    bounds: list[int]  # per choice: index of the first continuation token
    prefix_len: int  # tokens of the shared prefix usable from the cache (0: no cache)
    prefix_key: str  # prefix string the cache belongs to


def encode_prompts(tokenizer: Any, prompts: Sequence[BuiltPrompt]) -> list[EncodedItem]:
    """One-pass tokenisation of every (context, continuation) pair with its boundary."""
    encode = Encoder(tokenizer)
    contexts, fulls, owners = [], [], []
    for i, p in enumerate(prompts):
        ctx = p.prefix + p.context
        stripped = ctx.rstrip()
        contexts.append(stripped)
        for cont in p.continuations:
            fulls.append(ctx + cont)  # == stripped + (moved whitespace + cont)
            owners.append(i)
    ctx_ids = encode(contexts)
    full_ids = encode(fulls)
    items = [EncodedItem(i, [], [], 0, p.prefix) for i, p in enumerate(prompts)]
    for ids, i in zip(full_ids, owners, strict=True):
        c = ctx_ids[i]
        bound = len(c) if ids[: len(c)] == c else _lcp(ids, c)
        if bound < 1:
            raise ValueError(f"item {prompts[i].item_id}: empty context, nothing to condition on")
        if bound >= len(ids):
            raise ValueError(f"item {prompts[i].item_id}: a continuation has no tokens")
        items[i].full.append(ids)
        items[i].bounds.append(bound)
    # The cacheable prefix of a group of items (same prefix string) is the longest common
    # TOKEN prefix of all their one-pass tokenisations, not the tokenisation of the prefix
    # string: BPE may tokenise the prefix's final "\n\n" differently when text follows.
    # Taking the common token prefix makes the split exact by construction.
    groups: dict[str, list[EncodedItem]] = {}
    for it in items:
        groups.setdefault(it.prefix_key, []).append(it)
    for group in groups.values():
        ref = group[0].full[0]
        n = len(ref)
        for it in group:
            for f in it.full:
                n = min(n, _lcp(ref, f))
            n = min(n, min(it.bounds) - 1)  # the first scored prediction comes after it
        for it in group:
            it.prefix_len = max(n, 0)
    return items


# --------------------------------------------------------------------------------------
# Model plumbing
# --------------------------------------------------------------------------------------


def _unwrap(model: Any) -> Any:
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _decoder(model: Any) -> Any:
    lm = _unwrap(model)
    dec = lm.get_decoder() if hasattr(lm, "get_decoder") else None
    return dec if dec is not None else getattr(lm, lm.base_model_prefix)


def with_cache(decoder: Any, cache: Any) -> dict[str, Any]:
    """The decoder's KV-cache keyword argument: ``cache`` in the transformers 5 releases that
    renamed it, ``past_key_values`` in earlier ones (deprecated there, removed in 5.40), so
    the pin ``transformers>=5,<6`` holds on either side of the rename."""
    return {_cache_keyword(type(decoder)): cache}


def _cache_keyword(decoder_class: type) -> str:
    if decoder_class not in _CACHE_KEYWORDS:
        params = inspect.signature(decoder_class.forward).parameters
        _CACHE_KEYWORDS[decoder_class] = "cache" if "cache" in params else "past_key_values"
    return _CACHE_KEYWORDS[decoder_class]


_CACHE_KEYWORDS: dict[type, str] = {}


def returned_cache(output: Any) -> Any:
    """The KV cache a forward returned, under either name (see ``with_cache``)."""
    cache = output.get("cache") if "cache" in output else None
    return cache if cache is not None else output.past_key_values


def head_logits(model: Any, hidden: torch.Tensor) -> torch.Tensor:
    """Logits from final hidden states, with the model family's output scaling/capping."""
    lm = _unwrap(model)
    head = lm.get_output_embeddings()
    logits = head(hidden.to(head.weight.device)).float()
    cfg = lm.config.get_text_config() if hasattr(lm.config, "get_text_config") else lm.config
    scale = getattr(cfg, "logits_scaling", None)
    if scale:
        logits = logits / scale
    scale = getattr(cfg, "logit_scale", None)
    if scale and not isinstance(scale, bool):
        logits = logits * scale
    cap = getattr(cfg, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return logits


def _input_device(model: Any) -> torch.device:
    emb = _unwrap(model).get_input_embeddings()
    return emb.weight.device


def _sliding_window(model: Any) -> int | None:
    cfg = _unwrap(model).config
    cfg = cfg.get_text_config() if hasattr(cfg, "get_text_config") else cfg
    window = getattr(cfg, "sliding_window", None)
    types = getattr(cfg, "layer_types", None)
    if window and (types is None or any("sliding" in str(t) for t in types)):
        return int(window)
    return None


def _accepts(module: Any, name: str) -> bool:
    try:
        return name in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return True


@torch.inference_mode()
def prefix_cache(model: Any, ids: Sequence[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Run the shared prefix once; its per-layer (key, value) tensors, batch size 1.

    Without autograd: a cache computed with it would keep the forward's graph, every layer's
    activations of the prefix, alive as long as the cache (2.4 GB for 1500 tokens of
    SmolLM2-135M; docs/speed.md#cot-batches)."""
    from transformers import DynamicCache

    dec = _decoder(model)
    dev = _input_device(model)
    x = torch.tensor([list(ids)], dtype=torch.long, device=dev)
    cache = DynamicCache()
    out = dec(
        input_ids=x,
        attention_mask=torch.ones_like(x),
        position_ids=torch.arange(x.shape[1], device=dev)[None],
        **with_cache(dec, cache),
        use_cache=True,
    )
    cache = returned_cache(out)
    return [(layer.keys, layer.values) for layer in cache.layers]


def _expanded_cache(kv: list[tuple[torch.Tensor, torch.Tensor]], rows: int) -> Any:
    """A fresh cache holding the prefix for ``rows`` rows as broadcast views (no copy; the
    forward's concatenation materialises it once)."""
    from transformers import DynamicCache

    try:
        from transformers.cache_utils import DynamicLayer

        layers = []
        for k, v in kv:
            layer = DynamicLayer()
            layer.lazy_initialization(k, v)
            layer.keys = k.expand(rows, -1, -1, -1)
            layer.values = v.expand(rows, -1, -1, -1)
            layers.append(layer)
        cache = DynamicCache()
        cache.layers = layers
        return cache
    except (ImportError, AttributeError, TypeError):  # other transformers internals
        return DynamicCache(
            ddp_cache_data=[(k.expand(rows, -1, -1, -1), v.expand(rows, -1, -1, -1)) for k, v in kv]
        )


# --------------------------------------------------------------------------------------
# The fast engine
# --------------------------------------------------------------------------------------


@dataclass
class _Unit:
    """Choices of one item that share a stage-1 segment."""

    item: int
    choices: list[int]
    prefix_len: int
    shared_end: int  # S: tokens [P, S) run once (stage 1); the rest per choice (stage 2)
    cost: int = 0


def _plan_units(items: Sequence[EncodedItem], share_context: bool) -> list[_Unit]:
    units: list[_Unit] = []
    for it in items:
        js_all = list(range(len(it.full)))
        groups = [js_all] if share_context else [[j] for j in js_all]
        for js in groups:
            fulls = [it.full[j] for j in js]
            lcp = len(fulls[0])
            for f in fulls[1:]:
                lcp = min(lcp, _lcp(fulls[0], f))
            s = min(lcp, min(len(f) - 1 for f in fulls))
            p = it.prefix_len
            if s < p + 1:
                p = 0
            if s < 1:  # choices diverge at the first token: one unit per choice
                for j in js:
                    units.append(_Unit(it.index, [j], 0, len(it.full[j]) - 1))
                continue
            units.append(_Unit(it.index, js, p, s))
    for u in units:
        f = items[u.item].full
        u.cost = (u.shared_end - u.prefix_len) + sum(
            max(0, len(f[j]) - 1 - u.shared_end) for j in u.choices
        )
    return units


def _run_units(
    model: Any,
    items: Sequence[EncodedItem],
    units: Sequence[_Unit],
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None,
    pad_id: int,
    out: list[list[float]],
) -> None:
    """Score one batch of units sharing the same prefix cache (``kv``; None when P = 0)."""
    dec = _decoder(model)
    dev = _input_device(model)
    p = units[0].prefix_len
    n = len(units)
    # ---- stage 1: the shared segment of every unit, on top of the prefix cache
    seg1 = [items[u.item].full[u.choices[0]][p : u.shared_end] for u in units]
    t1 = max(len(s) for s in seg1)
    ids1 = torch.full((n, t1), pad_id, dtype=torch.long)
    mask1 = torch.zeros((n, p + t1), dtype=torch.long)
    mask1[:, :p] = 1
    for r, s in enumerate(seg1):
        ids1[r, : len(s)] = torch.tensor(s)
        mask1[r, p : p + len(s)] = 1
    pos1 = (p + torch.arange(t1))[None].expand(n, -1)
    cache = _expanded_cache(kv, n) if kv is not None and p > 0 else None
    if cache is None:
        from transformers import DynamicCache

        cache = DynamicCache()
    o1 = dec(
        input_ids=ids1.to(dev),
        attention_mask=mask1.to(dev),
        position_ids=pos1.to(dev),
        **with_cache(dec, cache),
        use_cache=True,
    )
    h1 = o1.last_hidden_state
    cache = returned_cache(o1)
    # ---- stage 2: the per-choice remainder (continuation minus its last token)
    rows: list[tuple[int, int, list[int]]] = []  # (unit row, choice, tokens)
    for r, u in enumerate(units):
        for j in u.choices:
            rest = items[u.item].full[j][u.shared_end : -1]
            if rest:
                rows.append((r, j, rest))
    h2 = None
    row_of: dict[tuple[int, int], int] = {}
    if rows:
        t2 = max(len(x) for _, _, x in rows)
        m = len(rows)
        ids2 = torch.full((m, t2), pad_id, dtype=torch.long)
        mask2 = torch.zeros((m, p + t1 + t2), dtype=torch.long)
        pos2 = torch.zeros((m, t2), dtype=torch.long)
        sel = torch.tensor([r for r, _, _ in rows], dtype=torch.long)
        for q, (r, j, x) in enumerate(rows):
            row_of[(r, j)] = q
            ids2[q, : len(x)] = torch.tensor(x)
            mask2[q, : p + t1] = mask1[r]
            mask2[q, p + t1 : p + t1 + len(x)] = 1
            pos2[q] = units[r].shared_end + torch.arange(t2)
        cache.batch_select_indices(sel)
        o2 = dec(
            input_ids=ids2.to(dev),
            attention_mask=mask2.to(dev),
            position_ids=pos2.to(dev),
            **with_cache(dec, cache),
            use_cache=True,
        )
        h2 = o2.last_hidden_state
    del cache
    # ---- gather the predicting positions, LM head only there
    pick1_r, pick1_t, pick2_r, pick2_t = [], [], [], []
    targets1, targets2, owner1, owner2 = [], [], [], []
    for r, u in enumerate(units):
        s = u.shared_end
        for j in u.choices:
            f = items[u.item].full[j]
            b = items[u.item].bounds[j]
            for a in range(b - 1, len(f) - 1):  # hidden at a predicts token a + 1
                if a < s:
                    pick1_r.append(r)
                    pick1_t.append(a - p)
                    targets1.append(f[a + 1])
                    owner1.append((u.item, j))
                else:
                    pick2_r.append(row_of[(r, j)])
                    pick2_t.append(a - s)
                    targets2.append(f[a + 1])
                    owner2.append((u.item, j))
    _gather_score(model, h1, pick1_r, pick1_t, targets1, owner1, out)
    if h2 is not None:
        _gather_score(model, h2, pick2_r, pick2_t, targets2, owner2, out)


@contextmanager
def _cpu_masked_gqa(device: torch.device) -> Iterator[None]:
    """On CPU, let SDPA handle grouped-query attention natively even with a custom mask.

    transformers otherwise repeats the key/value heads (a copy of the whole expanded prefix
    cache per layer and forward) whenever a mask is given; CPU SDPA supports ``enable_gqa``
    with masks, and this saves ~10 % of the engine's time. GPUs keep the default.
    """
    if device.type != "cpu" or os.environ.get("TRANSFORMERS_SDPA_FORCE_GQA") is not None:
        yield
        return
    os.environ["TRANSFORMERS_SDPA_FORCE_GQA"] = "1"
    try:
        yield
    finally:
        os.environ.pop("TRANSFORMERS_SDPA_FORCE_GQA", None)


def _attn_impl(model: Any) -> str:
    cfg = _unwrap(model).config
    return str(getattr(cfg, "_attn_implementation", None) or "eager")


def _gather_logprobs(
    model: Any, h: torch.Tensor, rows: list[int], cols: list[int], targets: list[int]
) -> torch.Tensor:
    """Log-prob of each target token from the hidden state that predicts it; LM head only
    at those positions. (``log_softmax`` then gather: ``logit − logsumexp`` is no faster
    here and measurably less exact in fp32, 2e-4 vs 6e-5 against the naive reference.)"""
    hs = h[torch.tensor(rows, device=h.device), torch.tensor(cols, device=h.device)]
    logp = torch.log_softmax(head_logits(model, hs), dim=-1)
    tgt = torch.tensor(targets, device=logp.device)
    return logp.gather(1, tgt[:, None])[:, 0]


def _gather_score(
    model: Any,
    h: torch.Tensor,
    rows: list[int],
    cols: list[int],
    targets: list[int],
    owners: list[tuple[int, int]],
    out: list[list[float]],
) -> None:
    """Add the gathered log-probs to ``out[item][choice]``."""
    if not targets:
        return
    vals = _gather_logprobs(model, h, rows, cols, targets).double().cpu().numpy()
    for (i, j), v in zip(owners, vals, strict=True):
        out[i][j] += float(v)


def _packed_forward(
    model: Any,
    items: Sequence[EncodedItem],
    units: Sequence[_Unit],
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None,
    pad_id: int,
    shared_prefix: bool = False,
    whole_tails: bool = False,
    output_hidden_states: bool = False,
) -> tuple[Any, list[dict[int, int]]]:
    """One forward per batch: each row packs an item's context and all its choice tails.

    Row layout ``[context | tail_1 | tail_2 | ...]`` with a tree-shaped 4D mask: context
    tokens attend causally to the prefix and the context; tail_j tokens attend to the prefix,
    the context and the earlier tokens of tail_j only, with position ids continuing from the
    context. Each token is therefore computed exactly as in its own full sequence, but the
    context runs once per item and nothing is padded per choice. A tail omits its last token
    (it predicts nothing) unless ``whole_tails`` (hidden states read at the last token).
    Returns the decoder output and, per row, the column where each choice's tail starts.
    """
    dec = _decoder(model)
    dev = _input_device(model)
    p = units[0].prefix_len
    n = len(units)
    cut = None if whole_tails else -1
    layouts = []  # per row: (tokens, positions, segment ids) ; segment 0 = context
    for u in units:
        f = items[u.item].full
        toks = list(f[u.choices[0]][p : u.shared_end])
        pos = list(range(p, u.shared_end))
        seg = [0] * len(toks)
        offsets = {}
        for q, j in enumerate(u.choices):
            tail = f[j][u.shared_end : cut]
            offsets[j] = len(toks)
            toks += tail
            pos += range(u.shared_end, u.shared_end + len(tail))
            seg += [q + 1] * len(tail)
        layouts.append((toks, pos, seg, offsets))
    t = max(len(x[0]) for x in layouts)
    ids = torch.full((n, t), pad_id, dtype=torch.long)
    pos = torch.zeros((n, t), dtype=torch.long)
    seg = torch.full((n, t), -1, dtype=torch.long)  # -1 = padding
    for r, (tk, ps, sg, _) in enumerate(layouts):
        ids[r, : len(tk)] = torch.tensor(tk)
        pos[r, : len(ps)] = torch.tensor(ps)
        seg[r, : len(sg)] = torch.tensor(sg)
    # allowed[r, q, k] over the new tokens: causal, and same segment or key in the context
    qi = torch.arange(t)
    causal = qi[None, :, None] >= qi[None, None, :]
    sq, sk = seg[:, :, None], seg[:, None, :]
    allowed_new = causal & (sk >= 0) & ((sk == 0) | (sk == sq))
    pad_q = seg < 0  # padding queries attend to themselves only (never NaN, never read)
    allowed_new |= pad_q[:, :, None] & torch.eye(t, dtype=torch.bool)[None]
    inputs = {"input_ids": ids.to(dev), "position_ids": pos.to(dev)}
    if output_hidden_states:
        inputs["output_hidden_states"] = True
    has_prefix = kv is not None and p > 0
    if shared_prefix and (has_prefix or _sliding_window(model) is not None):
        # the prefix stays stored once; see e2h.prefix_attention. A sliding-window model
        # takes this path without a prefix too: a custom mask reaches every layer unchanged,
        # so only this attention function applies the window.
        attention = shared_prefix_attention(_unwrap(model).config)
        inputs.update(
            attention_mask=allowed_new[:, None],
            use_cache=False,
            e2h_prefix_kv=kv if has_prefix else (),
        )
    else:
        from transformers import DynamicCache

        allowed = torch.cat([torch.ones((n, t, p), dtype=torch.bool), allowed_new], dim=2)
        mask = allowed
        if _attn_impl(model) == "eager":
            dtype = next(dec.parameters()).dtype
            mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(
                ~allowed, torch.finfo(dtype).min
            )
        cache = _expanded_cache(kv, n) if kv is not None and p > 0 else DynamicCache()
        attention = _cpu_masked_gqa(dev)
        inputs.update(attention_mask=mask[:, None], use_cache=True, **with_cache(dec, cache))
    inputs["attention_mask"] = inputs["attention_mask"].to(dev)
    with attention:
        o = dec(**inputs)
    return o, [layout[3] for layout in layouts]


def _packed_logprobs(
    model: Any,
    items: Sequence[EncodedItem],
    units: Sequence[_Unit],
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None,
    pad_id: int,
    shared_prefix: bool = False,
) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    """Continuation log-probs of a batch of units in the packed layout (``_packed_forward``)."""
    p = units[0].prefix_len
    o, offsets_of = _packed_forward(model, items, units, kv, pad_id, shared_prefix)
    h = o.last_hidden_state
    del o
    rows, cols, targets, owners = [], [], [], []
    for r, u in enumerate(units):
        s = u.shared_end
        offsets = offsets_of[r]
        for j in u.choices:
            f = items[u.item].full[j]
            for a in range(items[u.item].bounds[j] - 1, len(f) - 1):
                rows.append(r)
                cols.append(a - p if a < s else offsets[j] + a - s)
                targets.append(f[a + 1])
                owners.append((u.item, j))
    if not targets:
        return h.new_zeros(0), owners
    return _gather_logprobs(model, h, rows, cols, targets), owners


def _run_units_packed(
    model: Any,
    items: Sequence[EncodedItem],
    units: Sequence[_Unit],
    kv: list[tuple[torch.Tensor, torch.Tensor]] | None,
    pad_id: int,
    out: list[list[float]],
    shared_prefix: bool = False,
) -> None:
    """Score one batch of units in the packed layout; add the log-probs to ``out``."""
    vals, owners = _packed_logprobs(model, items, units, kv, pad_id, shared_prefix)
    for (i, j), v in zip(owners, vals.double().cpu().numpy(), strict=True):
        out[i][j] += float(v)


def choice_logprobs_with_grad(
    model: Any, tokenizer: Any, prompts: Sequence[BuiltPrompt]
) -> torch.Tensor:
    """(items, max_choices) summed continuation log-probs, differentiable (LoRA-MC loss).

    The same one-pass tokenisation and packed layout as the engine (context once per item,
    every choice's tail under a tree mask), without prefix cache (k = 0) and without
    inference mode; padded choice slots are −inf. Needs sdpa or eager attention.
    """
    if _attn_impl(model) not in ("sdpa", "eager"):
        raise ValueError(
            f"the multiple-choice training loss needs sdpa or eager attention, not "
            f"{_attn_impl(model)!r}"
        )
    items = encode_prompts(tokenizer, prompts)
    for it in items:
        it.prefix_len = 0
    units = _plan_units(items, share_context=True)
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    vals, owners = _packed_logprobs(model, items, units, None, pad_id)
    width = max(len(it.full) for it in items)
    rows = torch.tensor([i for i, _ in owners], device=vals.device)
    cols = torch.tensor([j for _, j in owners], device=vals.device)
    summed = torch.zeros((len(items), width), dtype=vals.dtype, device=vals.device)
    summed = summed.index_put((rows, cols), vals, accumulate=True)
    valid = torch.zeros((len(items), width), dtype=torch.bool, device=vals.device)
    for it in items:
        valid[it.index, : len(it.full)] = True
    return summed.masked_fill(~valid, float("-inf"))


@torch.inference_mode()
def sum_logprobs_fast(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[BuiltPrompt],
    batch_size: int = 16,
    use_prefix_cache: bool = True,
    share_context: bool = True,
    layout: str = "auto",
    progress: bool = True,
    desc: str = "scoring",
    prefix_attention: str = "auto",
) -> tuple[list[list[float]], dict[str, Any]]:
    """Summed continuation log-probs per item and choice (the engine; see module docstring).

    ``batch_size`` counts sequences (item x choice rows) per forward, like the registry's
    batch sizes; the number of items per batch is ``max(1, batch_size // max_choices)``.
    ``layout``: "packed" (one row per item, tree mask; needs sdpa or eager attention),
    "staged" (context pass, then choice pass; plain 2D masks) or "auto".
    ``prefix_attention`` (packed layout): "shared" attends to the one stored demonstration
    prefix (:mod:`e2h.prefix_attention`), "expanded" broadcasts it to every row as a KV
    cache; "auto" is shared on CPU, where the masked kernel over the expanded cache is the
    bottleneck, and expanded elsewhere.
    """
    if layout == "auto":
        layout = "packed" if _attn_impl(model) in ("sdpa", "eager") else "staged"
    if layout not in ("packed", "staged"):
        raise ValueError(f"layout must be auto, packed or staged, not {layout!r}")
    if prefix_attention not in ("auto", "shared", "expanded"):
        raise ValueError(
            f"prefix_attention must be auto, shared or expanded, not {prefix_attention!r}"
        )
    window = _sliding_window(model)
    if prefix_attention == "auto":
        cpu = _input_device(model).type == "cpu"
        # the shared-prefix attention is the one that applies a sliding window exactly
        prefix_attention = "shared" if cpu or window is not None else "expanded"
    shared = layout == "packed" and prefix_attention == "shared"
    items = encode_prompts(tokenizer, prompts)
    longest = max((len(f) for it in items for f in it.full), default=0)
    if window is not None and longest > window and not shared:
        # Sliding-window attention counts cache slots, not positions; the expanded and
        # staged layouts with masked gaps would shift its window. Score each sequence flat.
        use_prefix_cache, share_context = False, False
    if not use_prefix_cache:
        for it in items:
            it.prefix_len = 0
    units = _plan_units(items, share_context)
    out = [[0.0] * len(it.full) for it in items]
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    max_choices = max((len(it.full) for it in items), default=1)
    per_batch = max(1, int(batch_size) // max(1, max_choices if share_context else 1))
    by_prefix: dict[tuple[str, int], list[_Unit]] = {}
    for u in units:
        key = (items[u.item].prefix_key, u.prefix_len)
        by_prefix.setdefault(key, []).append(u)
    stats = {
        "n_items": len(items),
        "n_items_cached": sum(it.prefix_len > 0 for it in items),
        "n_prefixes": sum(1 for (_, p) in by_prefix if p > 0),
        "n_units": len(units),
        "layout": layout,
        "prefix_attention": prefix_attention if layout == "packed" else "expanded",
    }
    remaining = {it.index: len(it.full) for it in items}
    bar = tqdm(total=len(items), unit="item", desc=desc, disable=not progress, smoothing=0.1)
    for (_, p), group in by_prefix.items():
        kv = None
        if p > 0:
            first = items[group[0].item]
            kv = prefix_cache(model, first.full[0][:p])
        group.sort(key=lambda u: -(u.shared_end + u.cost))
        for start in range(0, len(group), per_batch):
            batch = group[start : start + per_batch]
            if layout == "packed":
                _run_units_packed(model, items, batch, kv, pad_id, out, shared_prefix=shared)
            else:
                _run_units(model, items, batch, kv, pad_id, out)
            done = 0
            for u in batch:
                remaining[u.item] -= len(u.choices)
                done += remaining[u.item] == 0
            bar.update(done)
        del kv
    bar.close()
    return out, stats


@torch.inference_mode()
def sum_logprobs_naive(
    model: Any, tokenizer: Any, prompts: Sequence[BuiltPrompt], progress: bool = False
) -> list[list[float]]:
    """Reference: one full forward per (item, choice), full-vocabulary logits everywhere."""
    items = encode_prompts(tokenizer, prompts)
    dev = _input_device(model)
    out: list[list[float]] = []
    for it in tqdm(items, unit="item", desc="naive", disable=not progress):
        scores = []
        for f, b in zip(it.full, it.bounds, strict=True):
            x = torch.tensor([f], dtype=torch.long, device=dev)
            logits = model(input_ids=x).logits[0].float()
            logp = torch.log_softmax(logits[b - 1 : len(f) - 1], dim=-1)
            tgt = torch.tensor(f[b:], device=logp.device)
            scores.append(float(logp.gather(1, tgt[:, None]).double().sum()))
        out.append(scores)
    return out


# --------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------


def choice_softmax(scores: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Padded (items, max_choices) scores with -inf in padded slots, and masked softmax."""
    width = max((len(s) for s in scores), default=0)
    s = np.full((len(scores), width), -np.inf)
    for i, row in enumerate(scores):
        s[i, : len(row)] = row
    z = s - s.max(axis=1, keepdims=True)
    e = np.exp(z)  # exp(-inf) = 0: padded slots get no mass
    return s, e / e.sum(axis=1, keepdims=True)


#: The per-item columns of :func:`results_frame`, in order.
RESULT_COLUMNS = (
    "id", "n_choices", "label_idx", "logprobs", "probs", "pred", "correct", "label_conf",
    "n_demos", "truncated", "prompt_hash", "item_hash", "target_hash",
)  # fmt: skip


def results_frame(
    items: pd.DataFrame,
    prompts: Sequence[BuiltPrompt],
    scores: Sequence[Sequence[float]],
    params: dict[str, Any],
) -> pd.DataFrame:
    """Per-item predictions, probabilities and label confidence, with the cell parameters
    (no items: an empty frame with the same columns)."""
    if not len(scores):
        df = pd.DataFrame(
            columns=[*RESULT_COLUMNS, "model", "prompt_id", "k", "seed", "n_truncated"]
        )
        df.attrs["params"] = dict(params)
        return df
    _, probs = choice_softmax(scores)
    labels = items["label_idx"].astype(int).to_numpy()
    rows = []
    records = items.to_dict("records")
    for i, (p, sc) in enumerate(zip(prompts, scores, strict=True)):
        n = len(sc)
        pr = probs[i, :n]
        pred = int(np.argmax(pr))
        lab = int(labels[i])
        if not 0 <= lab < n:
            raise ValueError(f"item {p.item_id}: label_idx {lab} outside its {n} choices")
        rows.append(
            {
                "id": p.item_id,
                "n_choices": n,
                "label_idx": lab,
                "logprobs": [float(v) for v in sc],
                "probs": [float(v) for v in pr],
                "pred": pred,
                "correct": bool(pred == lab),
                "label_conf": float(pr[lab]),
                "n_demos": p.n_demos,
                "truncated": p.truncated,
                "prompt_hash": prompt_hash(p),
                "item_hash": item_hash(records[i]),
                "target_hash": target_hash(p.continuations),
            }
        )
    df = pd.DataFrame(rows)
    for k in ("model", "prompt_id", "k", "seed", "n_truncated"):
        df[k] = params.get(k)
    df.attrs["params"] = dict(params)
    return df


def _check_items(items: pd.DataFrame) -> None:
    missing = {"id", "question", "choices", "label_idx"} - set(items.columns)
    if missing:
        raise ValueError(f"items lack columns {sorted(missing)}")
    if items["id"].duplicated().any():
        raise ValueError("item ids must be unique")


def score_choices(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    demonstrations: pd.DataFrame | None,
    prompt_id: str,
    batch_size: int = 16,
    max_length: int = 2048,
    model_key: str | None = None,
    seed: int | None = None,
    use_prefix_cache: bool = True,
    share_context: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Score every test item's choices after the k demonstrations (docs/scoring.md#mc-scoring); fast
    engine.

    Returns one row per item: id, n_choices, label_idx, logprobs, probs, pred, correct,
    label_conf, n_demos, truncated, model, prompt_id, k, seed, n_truncated (items of the
    call whose prompt the length limit changed). ``df.attrs["params"]`` also holds cache
    statistics.
    """
    _check_items(items)
    k = 0 if demonstrations is None else len(demonstrations)
    prompts = build_prompts(items, demonstrations, prompt_id, tokenizer, max_length)
    scores, stats = sum_logprobs_fast(
        model,
        tokenizer,
        prompts,
        batch_size=batch_size,
        use_prefix_cache=use_prefix_cache,
        share_context=share_context,
        progress=progress,
        desc=f"score {model_key or ''} {prompt_id} k={k}".strip(),
    )
    params = {
        "model": model_key,
        "prompt_id": str(prompt_id),
        "k": k,
        "seed": seed,
        "n_truncated": sum(p.truncated for p in prompts),
        **stats,
    }
    if params["n_truncated"]:
        log.warning(
            "%d of %d prompts truncated to %d tokens",
            params["n_truncated"],
            len(prompts),
            max_length,
        )
    return results_frame(items, prompts, scores, params)


def score_choices_naive(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    demonstrations: pd.DataFrame | None,
    prompt_id: str,
    max_length: int = 2048,
    model_key: str | None = None,
    seed: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Reference scorer with the same prompts and output, one full forward per choice."""
    _check_items(items)
    k = 0 if demonstrations is None else len(demonstrations)
    prompts = build_prompts(items, demonstrations, prompt_id, tokenizer, max_length)
    scores = sum_logprobs_naive(model, tokenizer, prompts, progress=progress)
    params = {
        "model": model_key,
        "prompt_id": str(prompt_id),
        "k": k,
        "seed": seed,
        "n_truncated": sum(p.truncated for p in prompts),
    }
    return results_frame(items, prompts, scores, params)


def max_abs_diff(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Largest |difference| between two ragged score lists of identical shape."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        if len(x) != len(y):
            raise ValueError("score lists differ in shape")
        for u, v in zip(x, y, strict=True):
            worst = max(worst, abs(u - v)) if math.isfinite(u - v) else math.inf
    return worst
