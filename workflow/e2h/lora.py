"""LoRA fine-tuning per cell (docs/methods.md#lora-mc, #lora-cot), resumable from checkpoints.

Two objectives on the same adapter machinery:

* ``mc``: the multiple-choice scoring (docs/scoring.md#mc-scoring) on the adapted model (the
  engine's packed layout, with autograd), loss = mean NLL of the gold choice over the item's valid
  choices;
* ``cot``: sequence-to-sequence LM loss on ``context + " {rationale} So the answer is
  {label}" + EOS`` (prompt 0305), loss = −mean over sequences of the **summed** target
  log-likelihood.

Every resample gets a fresh adapter on the unmodified base model (docs/defects.md#d-11): the adapter
is attached, trained, used for evaluation and then removed again with ``unload``. Training is
deterministic given the cell's seed: the adapter init is seeded per (cell, resample), the LoRA
dropout stream per (cell, resample, step) and the item order per epoch by a keyed NumPy generator. A
checkpoint (adapter, optimizer, scheduler, step, losses) is written atomically every
``checkpoint_every`` optimiser steps; a killed job resumes from the last one and reaches the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from e2h.prompts import COT_LABEL_TEMPLATE, build_prompts, format_context
from e2h.seeds import rng, torch_seed

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class LoraSettings:
    """Adapter and optimiser hyperparameters (config ``experiments.trained.lora``)."""

    rank: int
    alpha: int
    dropout: float
    lr: float
    weight_decay: float
    lr_floor: float  # linear decay to this fraction of lr, no warmup
    clip: float
    epochs: int
    min_steps: int  # multiple-choice objective (paper: 10)
    cot_min_steps: int  # CoT objective (paper: 150)
    items_per_step: int  # effective batch = min(n_train, items_per_step)
    micro_batch: int  # items per forward/backward (gradient accumulation)
    checkpoint_every: int  # optimiser steps between checkpoints

    @classmethod
    def from_config(cls, cfg: dict[str, Any] | None) -> LoraSettings:
        """The settings of ``cfg`` over the schema's defaults (the paper's values)."""
        from e2h.config import schema_defaults

        cfg = dict(cfg or {})
        unknown = set(cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown LoRA settings {sorted(unknown)}")
        return cls(**{**schema_defaults("experiments", "trained", "lora"), **cfg})


@dataclass(frozen=True)
class Schedule:
    items_per_step: int
    steps_per_epoch: int
    epochs: int
    total_steps: int


def schedule(n_train: int, settings: LoraSettings, objective: str) -> Schedule:
    """min(n, items_per_step) items per step; epochs raised until the step minimum is met."""
    if n_train < 1:
        raise ValueError("LoRA needs at least one training item")
    per_step = min(n_train, settings.items_per_step)
    spe = math.ceil(n_train / per_step)
    minimum = settings.cot_min_steps if objective == "cot" else settings.min_steps
    epochs = max(settings.epochs, math.ceil(minimum / spe))
    return Schedule(per_step, spe, epochs, spe * epochs)


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


def mc_loss(
    model: Any,
    tokenizer: Any,
    items: pd.DataFrame,
    prompt_id: str,
    max_length: int,
    confidence_coef: float | None = None,
):
    """Mean NLL of the gold choice under the multiple-choice scores (docs/scoring.md#mc-scoring;
    softmax over valid choices). With ``confidence_coef``: the cross-entropy to Burns et al.'s
    auxiliary confidence target at that weight (``e2h.weak``), hardened per micro-batch."""
    from e2h.scoring import choice_logprobs_with_grad

    prompts = build_prompts(items, None, prompt_id, tokenizer, max_length)
    scores = choice_logprobs_with_grad(model, tokenizer, prompts)
    labels = torch.tensor(items["label_idx"].astype(int).to_numpy(), device=scores.device)
    if confidence_coef is None:
        return torch.nn.functional.cross_entropy(scores.float(), labels)
    from e2h.weak import confidence_targets, soft_cross_entropy

    mask = torch.isfinite(scores)
    scores = scores.float()
    probs = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
    target = confidence_targets(probs.cpu(), labels.cpu(), mask.cpu(), confidence_coef)
    return soft_cross_entropy(scores, target.to(scores.device), mask)


def cot_target(item: Any) -> str:
    """The seq2seq target after the context: rationale, answer phrase and label
    (docs/methods.md#lora-cot)."""
    reasoning = item.get("reasoning") if hasattr(item, "get") else item["reasoning"]
    if reasoning is None or (isinstance(reasoning, float) and math.isnan(reasoning)):
        raise ValueError(f"item {item['id']}: LoRA-CoT needs a rationale, the item has none")
    return f" {str(reasoning).strip()} " + COT_LABEL_TEMPLATE.format(label=item["answer_text"])


def cot_sequences(
    tokenizer: Any, items: pd.DataFrame, prompt_id: str, max_length: int
) -> list[tuple[list[int], int]]:
    """(token ids with EOS, index of the first target token) per item, one-pass tokenised."""
    from e2h.scoring import Encoder, _lcp

    encode = Encoder(tokenizer)
    contexts = [format_context(row, prompt_id).rstrip() for _, row in items.iterrows()]
    fulls = [format_context(row, prompt_id) + cot_target(row) for _, row in items.iterrows()]
    eos = tokenizer.eos_token_id
    out = []
    for c, f, (_, row) in zip(encode(contexts), encode(fulls), items.iterrows(), strict=True):
        bound = len(c) if f[: len(c)] == c else _lcp(f, c)
        ids = f + ([eos] if eos is not None else [])
        excess = len(ids) - max_length
        if excess > 0:
            # like the prompts' length rule (docs/prompts.md#prompt-ids): drop the start of the
            # question, keep the leading special tokens, the answer cue and the whole target when
            # possible
            lead = len(encode.lead)
            cut = min(excess, max(0, bound - 1 - lead))
            ids = ids[:lead] + ids[lead + cut :]
            bound -= cut
            ids = ids[:max_length]  # a target longer than the limit loses its end
            log.warning(
                "item %s: CoT training sequence shortened by %d tokens to max_length %d",
                row["id"], excess, max_length,
            )  # fmt: skip
        out.append((ids, bound))
    return out


def cot_loss(model: Any, tokenizer: Any, items: pd.DataFrame, prompt_id: str, max_length: int):
    """−mean over sequences of the summed log-likelihood of every target token (+ EOS)."""
    from e2h.scoring import _decoder, _input_device, head_logits

    seqs = cot_sequences(tokenizer, items, prompt_id, max_length)
    t = max(len(ids) for ids, _ in seqs)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    dev = _input_device(model)
    x = torch.full((len(seqs), t), pad, dtype=torch.long)
    am = torch.zeros((len(seqs), t), dtype=torch.long)
    rows, cols, targets = [], [], []
    for r, (ids, bound) in enumerate(seqs):
        x[r, : len(ids)] = torch.tensor(ids)
        am[r, : len(ids)] = 1
        for a in range(bound - 1, len(ids) - 1):  # hidden at a predicts token a + 1
            rows.append(r)
            cols.append(a)
            targets.append(ids[a + 1])
    h = _decoder(model)(
        input_ids=x.to(dev),
        attention_mask=am.to(dev),
        position_ids=torch.arange(t, device=dev)[None].expand(len(seqs), -1),
        use_cache=False,
    ).last_hidden_state
    hs = h[torch.tensor(rows, device=h.device), torch.tensor(cols, device=h.device)]
    logits = head_logits(model, hs)
    tgt = torch.tensor(targets, device=logits.device)
    logp = torch.log_softmax(logits, dim=-1).gather(1, tgt[:, None])[:, 0]
    owner = torch.tensor(rows, device=logp.device)
    summed = torch.zeros(len(seqs), dtype=logp.dtype, device=logp.device)
    summed = summed.index_add(0, owner, logp)
    return -summed.mean()


LOSSES: dict[str, Callable[..., torch.Tensor]] = {"mc": mc_loss, "cot": cot_loss}


# --------------------------------------------------------------------------------------
# Adapter and optimiser
# --------------------------------------------------------------------------------------


def attach_adapter(model: Any, targets: Sequence[str], settings: LoraSettings, seed: int) -> Any:
    """A fresh LoRA adapter on ``model`` (initialised from ``seed``); returns the PeftModel."""
    from peft import LoraConfig, get_peft_model

    if hasattr(model, "peft_config"):
        raise RuntimeError(
            "the model already carries an adapter; unload it first (docs/defects.md#d-11)"
        )
    quantised = bool(getattr(model, "is_loaded_in_8bit", False)) or bool(
        getattr(model, "is_loaded_in_4bit", False)
    )
    if quantised:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    cfg = LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(targets),
        task_type="CAUSAL_LM",
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        peft_model = get_peft_model(model, cfg)
    return peft_model


def detach_adapter(peft_model: Any) -> Any:
    """Remove the adapter (no merge): the base model exactly as it was loaded."""
    return peft_model.unload()


def _param_groups(model: Any, weight_decay: float) -> list[dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        lowered = name.lower()
        (no_decay if "layernorm" in lowered or "bias" in lowered else decay).append(p)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def _optimizer(model: Any, settings: LoraSettings) -> torch.optim.Optimizer:
    """8-bit Adam when the base is 8-bit (as the paper), else AdamW."""
    groups = _param_groups(model, settings.weight_decay)
    if getattr(model, "is_loaded_in_8bit", False):
        import bitsandbytes as bnb

        return bnb.optim.Adam8bit(groups, lr=settings.lr)
    return torch.optim.AdamW(groups, lr=settings.lr)


def _scheduler(opt: torch.optim.Optimizer, total: int, floor: float) -> Any:
    def factor(step: int) -> float:
        return 1.0 - (1.0 - floor) * min(step, total) / max(total, 1)

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _trainable_state(model: Any) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu().clone() for k, v in get_peft_model_state_dict(model).items()}


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # a kill mid-write leaves the previous checkpoint intact


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass
class TrainLog:
    objective: str
    n_train: int
    items_per_step: int
    epochs: int
    total_steps: int
    resumed_from_step: int
    losses: list[float]
    seed: int

    def summary(self) -> dict[str, Any]:
        d = asdict(self)
        d["final_loss"] = self.losses[-1] if self.losses else None
        d["first_loss"] = self.losses[0] if self.losses else None
        d.pop("losses")
        return d


def train_adapter(
    model: Any,
    tokenizer: Any,
    train_items: pd.DataFrame,
    objective: str,
    prompt_id: str,
    settings: LoraSettings,
    seed: int,
    checkpoint_dir: str | Path | None = None,
    max_length: int = 2048,
    progress: bool = True,
    stop_after_step: int | None = None,
    confidence: tuple[float, float] | None = None,
) -> TrainLog:
    """Train the attached adapter in place on ``train_items``; resume from a checkpoint.

    ``seed`` fixes the item order of every epoch and the LoRA dropout stream.
    ``stop_after_step`` (tests) raises ``KeyboardInterrupt`` after that step's checkpoint,
    the way a killed job stops. ``confidence`` = (alpha_max, warmup) adds Burns et al.'s
    auxiliary confidence loss to the multiple-choice objective (docs/methods.md#weak-to-strong).
    """
    if confidence is not None and objective != "mc":
        raise ValueError("the confidence loss is defined for the multiple-choice objective only")
    if objective not in LOSSES:
        raise ValueError(f"objective must be one of {sorted(LOSSES)}, not {objective!r}")
    loss_fn = LOSSES[objective]
    plan = schedule(len(train_items), settings, objective)
    opt = _optimizer(model, settings)
    sched = _scheduler(opt, plan.total_steps, settings.lr_floor)
    params = [p for p in model.parameters() if p.requires_grad]
    ckpt = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir is not None else None
    step, losses = 0, []
    if ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state["meta"] != _meta(train_items, objective, plan, settings, seed, confidence):
            raise RuntimeError(
                f"{ckpt}: the checkpoint belongs to other settings or training items; "
                "delete it to start over"
            )
        from peft import set_peft_model_state_dict

        set_peft_model_state_dict(model, state["adapter"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step, losses = int(state["step"]), list(state["losses"])
        log.info("resuming LoRA training from %s at step %d/%d", ckpt, step, plan.total_steps)
    resumed_from = step
    items = train_items.reset_index(drop=True)
    model.train()
    bar = tqdm(
        total=plan.total_steps,
        initial=step,
        unit="step",
        desc=f"LoRA-{objective} n={len(items)}",
        disable=not progress,
    )
    try:
        with torch.random.fork_rng(devices=[]):
            while step < plan.total_steps:
                # LoRA dropout draws from a stream keyed by (seed, step): a resumed run
                # replays exactly the masks of an uninterrupted one, on any device
                torch.manual_seed(torch_seed("lora_dropout", seed, step) % (2**63 - 1))
                epoch, within = divmod(step, plan.steps_per_epoch)
                order = rng("lora_order", seed, epoch).permutation(len(items))
                batch = order[within * plan.items_per_step : (within + 1) * plan.items_per_step]
                opt.zero_grad(set_to_none=True)
                total = 0.0
                for start in range(0, len(batch), settings.micro_batch):
                    micro = items.iloc[batch[start : start + settings.micro_batch]]
                    extra = {}
                    if confidence is not None:
                        from e2h.weak import confidence_weight

                        extra["confidence_coef"] = confidence_weight(
                            step / plan.total_steps, *confidence
                        )
                    loss = loss_fn(model, tokenizer, micro, prompt_id, max_length, **extra)
                    (loss * (len(micro) / len(batch))).backward()
                    total += float(loss.detach()) * len(micro) / len(batch)
                if not math.isfinite(total):
                    raise FloatingPointError(f"LoRA loss is {total} at step {step}")
                torch.nn.utils.clip_grad_norm_(params, settings.clip)
                opt.step()
                sched.step()
                step += 1
                losses.append(total)
                bar.update(1)
                bar.set_postfix(loss=f"{total:.4f}")
                if ckpt is not None and (
                    step % settings.checkpoint_every == 0 or step == plan.total_steps
                ):
                    _save_checkpoint(
                        ckpt,
                        {
                            "meta": _meta(train_items, objective, plan, settings, seed, confidence),
                            "adapter": _trainable_state(model),
                            "optimizer": opt.state_dict(),
                            "scheduler": sched.state_dict(),
                            "step": step,
                            "losses": losses,
                        },
                    )
                if stop_after_step is not None and step >= stop_after_step:
                    raise KeyboardInterrupt(f"stopped after step {step} (test hook)")
    finally:
        bar.close()
        model.eval()
    return TrainLog(
        objective, len(items), plan.items_per_step, plan.epochs, plan.total_steps,
        resumed_from, losses, seed,
    )  # fmt: skip


def _meta(
    items: pd.DataFrame,
    objective: str,
    plan: Schedule,
    settings: LoraSettings,
    seed: int,
    confidence: tuple[float, float] | None = None,
):
    meta = {
        "ids": [str(i) for i in items["id"]],
        "objective": objective,
        "plan": asdict(plan),
        "settings": asdict(settings),
        "seed": int(seed),
    }
    if "gold_label_idx" in items.columns or confidence is not None:  # weak-to-strong cells
        meta["labels"] = [int(v) for v in items["label_idx"]]
        meta["confidence"] = list(confidence) if confidence is not None else None
    return meta


def adapter_seed(cell_key: Sequence[Any], resample: int, base_seed: int) -> int:
    """The seed of one resample's adapter (init, dropout, item order)."""
    return torch_seed("lora", *cell_key, resample, base_seed=base_seed) % (2**31 - 1)


def adapter_fingerprint(model: Any) -> str:
    """A short hash of the trainable adapter weights (logged and stored per resample)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(_trainable_state(model).items()):
        h.update(k.encode())
        h.update(np.ascontiguousarray(v.float().numpy()).tobytes())
    return h.hexdigest()[:16]
