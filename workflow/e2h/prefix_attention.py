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

The function is registered with transformers' ``AttentionInterface`` and switched on only for
the duration of one decoder call (:func:`shared_prefix_attention`); the prefix's per-layer
keys and values travel as the ``e2h_prefix_kv`` keyword argument, which transformers forwards
to the attention function.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

NAME = "e2h_shared_prefix"
_REGISTERED = False


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
    kp, vp = prefix[module.layer_idx]  # (1, kv_heads, P, d)
    n, h, t, d = query.shape
    kvh = key.shape[1]
    g = h // kvh
    scale = scaling if scaling is not None else d**-0.5
    mask = None
    s = key.shape[2]  # the row's own keys: its cached tokens (generation) and the new ones
    if attention_mask is not None:  # (n, 1, t, s) over the own keys -> additive (n,1,gt,s)
        mask = attention_mask[:, :, -t:, -s:]
        mask = mask[:, :, None].expand(n, mask.shape[1], g, t, s).reshape(n, -1, g * t, s)
        if mask.dtype == torch.bool:
            mask = torch.zeros(mask.shape, dtype=query.dtype, device=query.device).masked_fill_(
                ~mask, float("-inf")
            )
        else:
            mask = mask.to(query.dtype)
    # part 1: every row's queries against the one stored prefix (rows folded into the
    # query axis, grouped query heads too), no mask
    q1 = query.reshape(n, kvh, g * t, d).transpose(0, 1).reshape(1, kvh, n * g * t, d)
    o1, lse1 = _attend(q1, kp.to(q1.dtype), vp.to(q1.dtype), None, scale)
    o1 = o1.reshape(kvh, n, g * t, d).transpose(0, 1)
    lse1 = lse1.reshape(kvh, n, g * t, 1).transpose(0, 1)
    # part 2: each row against its own new keys, with the caller's mask
    o2, lse2 = _attend(query.reshape(n, kvh, g * t, d), key, value, mask, scale)
    lse2 = lse2[..., None]
    lse = torch.logaddexp(lse1, lse2)  # a fully masked part has lse -inf and weight 0
    o = o1 * torch.exp(lse1 - lse) + o2.nan_to_num(0.0) * torch.exp(lse2 - lse)
    out = o.reshape(n, kvh, g, t, d).reshape(n, h, t, d).transpose(1, 2).contiguous()
    return out.to(query.dtype), None


def _attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention output and per-query log-sum-exp of the scores (same heads in q and k)."""
    if q.device.type == "cpu" and q.dtype == torch.float32 and _CPU_FLASH is not None:
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
