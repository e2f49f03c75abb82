"""The MDL stage: model-based hardness from weaker "hardness models" (docs/hardness.md#mdl).

For each (dataset, hardness model) this module decides which items are scored and draws the
learning curves, then turns gold-label probabilities into per-item scores with
:mod:`e2h.mdl`. Nothing here scores or trains by itself: the zero-shot pass is the scorer's
packed forward (:func:`e2h.hidden_states.zero_shot_pass`), the learned curve is
:func:`e2h.probe.fit_probe` on those hidden states, the finetuned curve is
:func:`e2h.lora.train_adapter` + :func:`e2h.scoring.score_choices`.

Draws (docs/sampling.md#seeds), all keyed by dataset and never by model, so every hardness
model sees the same items (common random numbers) and adding a model changes nothing drawn:

- the probing items scored: every probing item, or a keyed sample of ``probing_cap``;
- per resample b: a keyed permutation of the hardness pool; its first ``dev`` items are set
  aside (the paper does not use them), the rest is the training *stream*, whose first n items
  are the training subset of size n, so the subsets are nested (5 ⊂ 20 ⊂ … ⊂ 900) and block
  s + 1 of the online code is stream[t_s : t_{s+1}].
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from e2h import mdl
from e2h.seeds import rng

#: column of a per-model score file holding the paper's score, per variant
VARIANTS = ("decoding", "learned", "finetuned")
#: when the job's process imported this module (its records' wall time counts from here)
_STARTED = time.time()


def probing_subset(
    probing_ids: Sequence[str], cap: int | None, dataset: str, seed: int
) -> list[str]:
    """The probing items the MDL stage scores: all, or a keyed sample of ``cap`` (sorted)."""
    ids = sorted(str(i) for i in probing_ids)
    if cap is None or cap >= len(ids):
        return ids
    picked = rng("mdl_probing", dataset, base_seed=seed).choice(len(ids), size=cap, replace=False)
    return sorted(ids[i] for i in picked)


def pool_stream(
    pool_ids: Sequence[str], dev: int, dataset: str, seed: int, resample: int
) -> tuple[list[str], list[str]]:
    """(dev ids, training stream) of resample ``resample``: a keyed permutation of the pool."""
    ids = sorted(str(i) for i in pool_ids)
    order = rng("mdl_pool", dataset, resample, base_seed=seed).permutation(len(ids))
    shuffled = [ids[i] for i in order]
    return shuffled[:dev], shuffled[dev:]


@dataclass(frozen=True)
class CurveDraws:
    """Everything one learning curve of one dataset trains and scores on."""

    dataset: str
    sizes: tuple[int, ...]
    probing: list[str]
    streams: list[list[str]]  # per resample, the first max(sizes) stream items

    @property
    def resamples(self) -> int:
        return len(self.streams)

    def train_ids(self, resample: int, s: int) -> list[str]:
        return self.streams[resample][: self.sizes[s]]

    def block_ids(self, resample: int, s: int) -> list[str]:
        """Stream block s + 2 (coded by the model trained on the first t_s items)."""
        return self.streams[resample][self.sizes[s] : self.sizes[s + 1]]

    def all_ids(self) -> list[str]:
        return sorted({*self.probing, *(i for stream in self.streams for i in stream)})


def curve_draws(
    dataset: str,
    probing: list[str],
    pool_ids: Sequence[str],
    sizes: Sequence[int],
    resamples: int,
    dev: int,
    seed: int,
) -> CurveDraws:
    """The nested training subsets of every resample (a too small pool is an error)."""
    sizes = tuple(int(s) for s in sizes)
    streams = []
    for b in range(resamples):
        _, stream = pool_stream(pool_ids, dev, dataset, seed, b)
        if len(stream) < sizes[-1]:
            raise ValueError(
                f"{dataset}: the hardness pool leaves {len(stream)} training items after "
                f"{dev} dev items, fewer than the largest curve size {sizes[-1]}"
            )
        streams.append(stream[: sizes[-1]])
    return CurveDraws(dataset, sizes, list(probing), streams)


@dataclass
class Curve:
    """Gold probabilities of one (dataset, hardness model, variant) learning curve.

    ``probing[b, s, i]``: p(gold) of probing item i from the model trained on the first
    ``sizes[s]`` stream items of resample b; ``blocks[b][s]``: the same for the items of
    stream block s + 2 (for the online code).
    """

    draws: CurveDraws
    probing: np.ndarray
    blocks: list[list[np.ndarray]] = field(default_factory=list)

    def long_frame(self) -> pd.DataFrame:
        """One row per (role, resample, size, item): the raw curve, saved beside the scores."""
        rows = []
        d = self.draws
        for b in range(d.resamples):
            for s, size in enumerate(d.sizes):
                rows.append(
                    pd.DataFrame(
                        {"role": "probing", "resample": b, "size": size, "id": d.probing,
                         "p_gold": self.probing[b, s]}
                    )
                )  # fmt: skip
                if s < len(d.sizes) - 1 and self.blocks:
                    rows.append(
                        pd.DataFrame(
                            {"role": "stream", "resample": b, "size": size,
                             "id": d.block_ids(b, s), "p_gold": self.blocks[b][s]}
                        )
                    )  # fmt: skip
        return pd.concat(rows, ignore_index=True)


def curve_scores(curve: Curve, n_choices: pd.Series, variant: str) -> pd.DataFrame:
    """Per probing item: the paper's ``mdl_{variant}``, ``mdl_logloss_{variant}`` (bits) and
    ``mdl_preq_{variant}`` (bits per stream item)."""
    ids = curve.draws.probing
    k = n_choices.loc[ids].to_numpy()
    sizes = curve.draws.sizes
    out = pd.DataFrame({"id": ids})
    out[f"mdl_{variant}"] = mdl.paper_mdl(curve.probing)
    out[f"mdl_logloss_{variant}"] = mdl.logloss_area(curve.probing, k, sizes)
    out[f"mdl_preq_{variant}"] = mdl.prequential_item_bits(curve.probing, k, sizes)
    return out


def online_codes(curve: Curve, n_choices: pd.Series) -> pd.DataFrame:
    """The dataset-level online code of each resample's stream (Voita & Titov)."""
    d = curve.draws
    rows = []
    for b in range(d.resamples):
        code = mdl.online_code_length(
            curve.blocks[b], n_choices.loc[d.streams[b]].to_numpy(), d.sizes
        )
        rows.append(
            {
                "resample": b,
                "online_bits": code.online_bits,
                "uniform_bits": code.uniform_bits,
                "compression": code.compression,
                "stream_items": d.sizes[-1],
                "blocks": len(d.sizes),
            }
        )
    return pd.DataFrame(rows)


def decoding_scores(scores: pd.DataFrame, ids: Sequence[str], nll: bool) -> pd.DataFrame:
    """Per probing item, from the zero-shot pass: ``mdl_decoding`` = 1 − p(gold) and
    ``mdl_logloss_decoding`` = −log₂ p(gold) over the choices, or (``nll``, one continuation:
    GSM8k) ``mdl_nll_decoding``, the gold answer's summed NLL in nats."""
    by_id = scores.set_index("id").loc[list(ids)]
    out = pd.DataFrame({"id": list(ids)})
    if nll:
        out["mdl_nll_decoding"] = [
            -float(lp[int(g)]) for lp, g in zip(by_id["logprobs"], by_id["label_idx"], strict=True)
        ]
        return out
    p = by_id["label_conf"].to_numpy(dtype=float)
    out["mdl_decoding"] = mdl.paper_mdl(p)
    out["mdl_logloss_decoding"] = mdl.item_bits(p)
    return out


def average_over_models(
    per_model: dict[str, pd.DataFrame], models: Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    """Mean of each score column over **every** configured hardness model, by item id (a
    missing model or a model scoring other items is an error, named)."""
    if any(m not in per_model for m in models):
        mdl.model_average({m: np.zeros(0) for m in per_model}, models)  # raises, naming them
    scored = {m: set(per_model[m]["id"].astype(str)) for m in models}
    common = set.intersection(*scored.values())
    if any(items != common for items in scored.values()):
        # no model is the reference: name every model with the items only it scored
        extra = {m: len(items - common) for m, items in scored.items() if items != common}
        raise ValueError(
            "the hardness models scored different items (items beyond those all of them "
            f"scored: {extra}, of {len(common)} shared); rerun the MDL jobs of those models"
        )
    ids = sorted(common)
    out = pd.DataFrame({"id": ids})
    for col in columns:
        values = {m: per_model[m].set_index("id").loc[ids, col].to_numpy() for m in models}
        out[col] = mdl.model_average(values, models)
    return out


def _gold(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return probs[np.arange(len(labels)), labels]


def learned_curve(
    features: np.ndarray,
    mask: np.ndarray,
    labels: np.ndarray,
    row_of: dict[str, int],
    draws: CurveDraws,
    settings: dict,
    seed_key: tuple,
    seed: int,
) -> Curve:
    """The linear probe (docs/methods.md#linear-probe) fitted on every nested subset of every
    resample's stream; gold probabilities on the probing items and the next stream block."""
    from e2h.probe import fit_probe, predict_probe
    from e2h.seeds import torch_seed

    def rows(ids: list[str]) -> np.ndarray:
        return np.array([row_of[i] for i in ids], dtype=np.int64)

    probing_rows = rows(draws.probing)
    out = np.zeros((draws.resamples, len(draws.sizes), len(probing_rows)))
    blocks: list[list[np.ndarray]] = []
    for b in range(draws.resamples):
        blocks.append([])
        for s, size in enumerate(draws.sizes):
            train = rows(draws.train_ids(b, s))
            fit = fit_probe(
                features, mask, labels, items=train,
                seed=torch_seed("mdl_learned", *seed_key, b, size, base_seed=seed), **settings,
            )  # fmt: skip
            probs, _ = predict_probe(fit, features, mask, items=probing_rows)
            out[b, s] = _gold(probs, labels[probing_rows])
            if s < len(draws.sizes) - 1:
                block = rows(draws.block_ids(b, s))
                probs, _ = predict_probe(fit, features, mask, items=block)
                blocks[b].append(_gold(probs, labels[block]))
    return Curve(draws, out, blocks)


def finetuned_curve(
    model,
    tokenizer,
    table: pd.DataFrame,
    draws: CurveDraws,
    prompt: str,
    settings,
    targets: list[str],
    batch_size: int,
    max_length: int,
    checkpoint_dir,
    seed_key: tuple,
    seed: int,
) -> Curve:
    """LoRA-MC (docs/methods.md#lora-mc) trained on every nested subset; gold probabilities
    on the probing items and the next stream block. Each finished curve point is kept under
    ``checkpoint_dir`` (and training checkpoints inside it), so a killed job resumes there."""
    from pathlib import Path

    from e2h.io import write_parquet
    from e2h.lora import attach_adapter, train_adapter
    from e2h.scoring import score_choices
    from e2h.seeds import torch_seed

    root = Path(checkpoint_dir)
    by_id = table.set_index("id", drop=False)
    out = np.zeros((draws.resamples, len(draws.sizes), len(draws.probing)))
    blocks: list[list[np.ndarray]] = [[] for _ in range(draws.resamples)]
    for b in range(draws.resamples):
        for s, size in enumerate(draws.sizes):
            point = root / f"r{b}_n{size}"
            done = point / "gold.parquet"
            last = s == len(draws.sizes) - 1
            test_ids = draws.probing + ([] if last else draws.block_ids(b, s))
            if not done.exists():
                adapter_seed = torch_seed("mdl_finetuned", *seed_key, b, size, base_seed=seed)
                peft_model = attach_adapter(model, targets, settings, adapter_seed % (2**31 - 1))
                try:
                    train = by_id.loc[draws.train_ids(b, s)].reset_index(drop=True)
                    train_adapter(
                        peft_model, tokenizer, train, "mc", prompt, settings,
                        adapter_seed % (2**31 - 1), checkpoint_dir=point, max_length=max_length,
                    )  # fmt: skip
                    test = by_id.loc[test_ids].reset_index(drop=True)
                    res = score_choices(
                        peft_model, tokenizer, test, None, prompt, batch_size=batch_size,
                        max_length=max_length,
                    )  # fmt: skip
                finally:
                    model = peft_model.unload()
                write_parquet(res[["id", "label_conf"]], done)
            gold = pd.read_parquet(done).set_index("id")["label_conf"]
            if list(gold.index) != test_ids:
                raise RuntimeError(f"{done}: scored other items than this curve point needs")
            out[b, s] = gold.loc[draws.probing].to_numpy()
            if not last:
                blocks[b].append(gold.loc[draws.block_ids(b, s)].to_numpy())
    return Curve(draws, out, blocks)


def write_record(path, smk, details: dict) -> None:
    """Provenance next to an MDL output: the stage's settings and their hash, packages, git
    commit, wall time and what the job measured (the config itself is only hashed)."""
    from pathlib import Path

    from e2h.provenance import config_hash, provenance_record, write_json

    settings = {"mdl": dict(smk.params.mdl), **({"method": dict(smk.params.method)}
                if hasattr(smk.params, "method") else {})}  # fmt: skip
    record = provenance_record(
        smk.config,
        Path(__file__).resolve().parents[2],
        {"rule": smk.rule, "wildcards": dict(smk.wildcards.items()), "settings": settings,
         "settings_sha256": config_hash(settings), **details},
    )  # fmt: skip
    record.pop("config", None)
    record["wall_seconds"] = round(time.time() - _STARTED, 2)
    write_json(path, record)
