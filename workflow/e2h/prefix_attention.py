"""Shared-prefix ("cascade") attention for the scoring engine.

Every row of a scoring batch attends to the same k-shot demonstration prefix. Standard
attention expands the prefix's keys and values to every row and runs one masked attention
over ``prefix + new`` keys per row, which on CPU is a slow, mask-bound kernel. Here the
attention of a query is split exactly into two parts that are merged with their
log-sum-exp weights:

1. the prefix part: the queries of ALL rows against the prefix keys, stored once (batch 1).
   The rows are folded into the query axis, so this is one large dense GEMM per layer, with
   no mask and no copy of the prefix;
2. the own part: each row's queries against its own keys (its new tokens, and during
   generation the tokens it cached before), with the caller's (tree or causal) mask; small.

``softmax([s1, s2]) @ [v1; v2] = (e1 @ v1 + e2 @ v2) / (l1 + l2)`` with a shared maximum, so
the result equals full attention up to float round-off (tested against SDPA to 1e-5).

Sliding-window layers (Gemma 3, Mistral) get their window here, from the queries' absolute
positions: transformers hands a custom mask to every layer unchanged, so without it a
sliding layer would attend over the whole prompt. The scorer therefore routes sliding-window
models through this function even without a shared prefix (tested against the model's own
forward on a tiny Gemma 3 whose window is shorter than the demonstrations).

During generation a batch may hold rows of several prefixes (the resamples of a cell, each
with its own demonstrations): ``e2h_prefix_kv`` is then a :class:`PrefixGroups`, whose rows
come in blocks, one per prefix, and part 1 runs once per block against that block's prefix.

The function is registered with transformers' ``AttentionInterface`` and switched on only for
the duration of one decoder call (:func:`shared_prefix_attention`); the prefix's per-layer
keys and values travel as the ``e2h_prefix_kv`` keyword argument, which transformers forwards
to the attention function.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

NAME = "e2h_shared_prefix"
_REGISTERED = False

#: per layer (key, value) of one prefix, each (1, kv_heads, P, d)
PrefixKV = Sequence[tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class PrefixGroups:
    """Several stored prefixes in one batch: rows ``sum(sizes[:g])`` ... attend to ``caches[g]``.

    A row block may have no prefix (``None``): its queries then see only their own keys."""

    caches: Sequence[PrefixKV | None]
    sizes: Sequence[int]

    def __post_init__(self) -> None:
        if len(self.caches) != len(self.sizes):
            raise ValueError("one size per prefix")


def _attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """(rows, heads, t, d) queries against the shared prefix and each row's own keys."""
    if kwargs.get("softcap") is not None or kwargs.get("s_aux") is not None:
        raise NotImplementedError("shared-prefix attention: softcap / attention sinks")
    prefix = kwargs.get("e2h_prefix_kv")
    if prefix is None:
        raise RuntimeError("shared-prefix attention called without e2h_prefix_kv")
    n, h, t, d = query.shape
    kvh = key.shape[1]
    g = h // kvh
    scale = scaling if scaling is not None else d**-0.5
    mask = None
    s = key.shape[2]  # the row's own keys: its cached tokens (generation) and the new ones
    # A sliding-window layer (Gemma 3, Mistral) sees only keys fewer than `window` positions
    # back: transformers passes a custom mask through unchanged, so the window is applied
    # here, from the queries' absolute positions (the prefix holds positions 0 .. P-1).
    window = kwargs.get("sliding_window")
    positions = kwargs.get("position_ids")
    if window and positions is None:
        raise NotImplementedError("shared-prefix attention with a sliding window needs positions")
    pos = positions[:, -t:].to(query.device) if window else None
    if attention_mask is not None:  # (n, 1, t, s) over the own keys -> boolean (n,1,t,s)
        mask = attention_mask[:, :, -t:, -s:]
        if mask.dtype != torch.bool:
            mask = mask == 0
    if window and s == t:  # the own keys are the new tokens: same positions as the queries
        near = (pos[:, :, None] - pos[:, None, :]) < window
        mask = near[:, None] if mask is None else mask & near[:, None]
    elif window and s != t:
        raise NotImplementedError("shared-prefix attention with a sliding window: generation")
    if mask is not None:  # -> additive (n, 1, g*t, s)
        mask = mask[:, :, None].expand(n, mask.shape[1], g, t, s).reshape(n, -1, g * t, s)
        mask = torch.zeros(mask.shape, dtype=query.dtype, device=query.device).masked_fill_(
            ~mask, float("-inf")
        )
    flash = not window  # the CPU flash kernel is inexact under window masks (_attend)
    if (
        not isinstance(prefix, PrefixGroups) and len(prefix) == 0
    ):  # no stored prefix (a sliding-window model's zero-shot rows)
        o, _ = _attend(query.reshape(n, kvh, g * t, d), key, value, mask, scale, flash)
        out = o.reshape(n, kvh, g, t, d).reshape(n, h, t, d).transpose(1, 2).contiguous()
        return out.to(query.dtype), None
    # part 1: the queries against the stored prefix (of each row block, with PrefixGroups)
    if isinstance(prefix, PrefixGroups):
        if window:
            raise NotImplementedError("several prefixes in one batch with a sliding window")
        parts, start = [], 0
        for cache, size in zip(prefix.caches, prefix.sizes, strict=True):
            rows = query[start : start + size]
            start += size
            if size and cache is None:  # no prefix: zero weight on this part
                parts.append(
                    (
                        torch.zeros((size, kvh, g * t, d), dtype=query.dtype, device=query.device),
                        torch.full(
                            (size, kvh, g * t, 1),
                            float("-inf"),
                            dtype=query.dtype,
                            device=query.device,
                        ),
                    )  # fmt: skip
                )
            elif size:
                parts.append(_prefix_part(rows, *cache[module.layer_idx], None, None, scale, flash))
        if start != n:
            raise ValueError(f"prefix groups cover {start} rows of {n}")
        o1, lse1 = torch.cat([o for o, _ in parts]), torch.cat([lse for _, lse in parts])
    else:
        o1, lse1 = _prefix_part(query, *prefix[module.layer_idx], window, pos, scale, flash)
    # part 2: each row against its own new keys, with the caller's mask
    o2, lse2 = _attend(query.reshape(n, kvh, g * t, d), key, value, mask, scale, flash)
    lse2 = lse2[..., None]
    lse = torch.logaddexp(lse1, lse2)  # a fully masked part has lse -inf and weight 0
    o = o1 * torch.exp(lse1 - lse) + o2.nan_to_num(0.0) * torch.exp(lse2 - lse)
    out = o.reshape(n, kvh, g, t, d).reshape(n, h, t, d).transpose(1, 2).contiguous()
    return out.to(query.dtype), None


def _prefix_part(
    query: torch.Tensor,
    kp: torch.Tensor,
    vp: torch.Tensor,
    window: int | None,
    pos: torch.Tensor | None,
    scale: float,
    flash: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(output, log-sum-exp) of every row's queries against one stored prefix (kp, vp:
    (1, kv_heads, P, d)); rows are folded into the query axis, grouped query heads too, so
    this is one dense GEMM, with no mask unless a sliding window cuts the prefix."""
    n, h, t, d = query.shape
    kvh = kp.shape[1]
    g = h // kvh
    q1 = query.reshape(n, kvh, g * t, d).transpose(0, 1).reshape(1, kvh, n * g * t, d)
    mask1 = None
    p_len = kp.shape[2]
    if window and int(pos.max()) >= window:  # some query is past the window's reach
        q_pos = pos[:, None, :].expand(n, g, t).reshape(1, 1, n * g * t, 1)
        k_pos = torch.arange(p_len, device=query.device).view(1, 1, 1, p_len)
        mask1 = torch.zeros((1, 1, n * g * t, p_len), dtype=query.dtype, device=query.device)
        mask1.masked_fill_((q_pos - k_pos) >= window, float("-inf"))
        mask1 = mask1.expand(1, kvh, n * g * t, p_len)
    o1, lse1 = _attend(q1, kp.to(q1.dtype), vp.to(q1.dtype), mask1, scale, flash)
    # a query whose whole prefix is out of its window: no weight from the prefix part
    o1, lse1 = o1.nan_to_num(0.0), lse1.nan_to_num(nan=float("-inf"))
    o1 = o1.reshape(kvh, n, g * t, d).transpose(0, 1)
    lse1 = lse1.reshape(kvh, n, g * t, 1).transpose(0, 1)
    return o1, lse1


def _attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    scale: float,
    flash: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and per-query log-sum-exp of the scores (same heads in q and k).

    ``flash=False``: the matmul path. The CPU flash kernel is off by up to ~1e-3 in summed
    log-probabilities when a sliding-window mask blanks the leading keys of a row (measured
    against the model's own SDPA forward); the matmul path is exact there.
    """
    if flash and q.device.type == "cpu" and q.dtype == torch.float32 and _CPU_FLASH is not None:
        out, lse = _CPU_FLASH(q, k, v, 0.0, False, attn_mask=mask, scale=scale)
        return out, lse.to(q.dtype)
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    if mask is not None:
        s = s + mask
    lse = torch.logsumexp(s, dim=-1)
    return torch.matmul(torch.exp(s - lse[..., None]).nan_to_num(0.0), v), lse


# CPU flash-attention kernel that also returns the log-sum-exp (a torch-internal op; the
# matmul path above is the fallback and the reference in the tests)
_CPU_FLASH = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)


def register() -> None:
    """Register the attention function with transformers (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from transformers import AttentionInterface

    AttentionInterface.register(NAME, _attention)
    _REGISTERED = True


@contextmanager
def shared_prefix_attention(model_config: Any) -> Iterator[None]:
    """Switch a loaded model's attention to the shared-prefix function for one call."""
    register()
    configs, stack = [], [model_config]
    while stack:  # the config and its sub-configs (multimodal models) keep their own value
        cfg = stack.pop()
        configs.append((cfg, cfg._attn_implementation))
        stack += [getattr(cfg, k) for k in getattr(cfg, "sub_configs", {}) if getattr(cfg, k, None)]
    model_config._attn_implementation = NAME
    try:
        yield
    finally:
        for cfg, before in configs:
            cfg._attn_implementation_internal = before
