"""Trained-method cells: linear probe and LoRA over a cell's resamples
(docs/methods.md#linear-probe, #lora-mc, #lora-cot).

The splits come from the same keyed draws as the prompting cells (``e2h.cells.splits`` or
``e2h.transfer.transfer_splits``), so a probe, a LoRA adapter and an ICL prompt of the same
(dataset, measure, train level, resample) see the same training items and are tested on the
same items. Output rows have the prompting cells' columns (id, correct, resample, the cell
fields), so every figure reads them the same way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from e2h import registry
from e2h.cells import CellSpec, cell_predictions, ids_hash
from e2h.io import write_parquet
from e2h.label_noise import noisy_labels
from e2h.prompts import item_hash, target_hash
from e2h.sampling import Split
from e2h.seeds import torch_seed
from e2h.weak import WeakLabels

log = logging.getLogger(__name__)


def lora_objective(method: str) -> str:
    """LoRA trains on the multiple-choice score ("mc") or on rationale + label ("cot")."""
    return "cot" if registry.method(method).cot else "mc"


def _cell_key(spec: CellSpec) -> tuple:
    return (spec.dataset, spec.model, spec.method, spec.prompt, spec.measure, spec.train, spec.n)


def _confidence(spec: CellSpec, settings: dict[str, Any] | None) -> tuple[float, float] | None:
    """(alpha_max, warmup) of the confidence loss, or None for plain cross-entropy."""
    if not spec.confidence:
        return None
    if not settings or "warmup" not in settings:
        raise ValueError(f"{spec.directory}: the confidence loss needs its warmup setting")
    return float(spec.confidence), float(settings["warmup"])


# --------------------------------------------------------------------------------------
# Linear probe
# --------------------------------------------------------------------------------------


class Representations:
    """Cached hidden states of one (dataset, model, prompt), addressed by item id."""

    def __init__(self, directory: str | Path, table: pd.DataFrame) -> None:
        from e2h.hidden_states import load_hidden_states

        self.directory = Path(directory)
        self.features, self.mask, self.manifest = load_hidden_states(directory)
        self.row = {str(i): r for r, i in enumerate(self.manifest["item_ids"])}
        by_id = table.set_index("id")
        labels = by_id["label_idx"]
        ids = [str(i) for i in self.manifest["item_ids"]]
        missing = [i for i in ids if i not in labels.index]
        if missing:
            raise ValueError(f"{directory}: {len(missing)} items not in the table: {missing[:5]}")
        self.labels = labels.loc[ids].astype(int).to_numpy()
        # per-row hashes: the prompt the features were read from, and the item itself
        self.prompt_hashes = list(self.manifest.get("prompt_hashes") or [None] * len(ids))
        records = by_id.loc[ids].reset_index().to_dict("records")
        self.item_hashes = [item_hash(r) for r in records]
        self.target_hashes = [target_hash([" " + str(c) for c in r["choices"]]) for r in records]

    def rows(self, ids: list[str]) -> np.ndarray:
        missing = [i for i in ids if i not in self.row]
        if missing:
            raise KeyError(
                f"{self.directory}: hidden states lack {len(missing)} item(s) this cell needs "
                f"(e.g. {missing[:3]}); rerun extract_hidden_states for this configuration"
            )
        return np.array([self.row[i] for i in ids], dtype=np.int64)


def probe_predictions(
    train_reps: Representations,
    test_reps: Representations,
    resample_splits: list[Split],
    spec: CellSpec,
    settings: dict[str, Any],
    weak: WeakLabels | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Fit one probe per resample on its training items; predict its test items.

    ``weak``: a weak supervisor's labels replace the training labels (``spec.labels``);
    ``settings["confidence"]`` (alpha_max, warmup) adds the confidence loss (``spec.confidence``).
    """
    from e2h.probe import fit_probe, predict_probe

    settings = dict(settings)
    confidence = _confidence(spec, settings.pop("confidence", None))
    if spec.weak and weak is None:
        raise ValueError(f"{spec.directory}: trains on weak labels, but none were given")
    frames, fits = [], []
    for r, split in enumerate(resample_splits):
        tr = train_reps.rows(split.train_ids)
        te = test_reps.rows(split.test_ids)
        seed = torch_seed("probe", *_cell_key(spec), r, base_seed=spec.seed)
        labels, noise_rate = train_reps.labels, 0.0
        if spec.noise:  # a copy: the gold labels (and every test label) stay as they are
            labels = train_reps.labels.copy()
            labels[tr], noise_rate = noisy_labels(
                train_reps.labels[tr], np.asarray(train_reps.mask)[tr].sum(axis=1),
                split.train_ids, spec.dataset, r, spec.noise, spec.noise_mode, spec.seed,
            )  # fmt: skip
        weak_acc = None
        if spec.weak:  # the supervisor's labels, on a copy: test labels stay gold
            labels = train_reps.labels.copy()
            labels[tr] = weak.hard(r, split.train_ids)
            weak_acc = weak.accuracy(r, split.train_ids)
        fit = fit_probe(
            train_reps.features, train_reps.mask, labels, seed=seed, items=tr,
            confidence=confidence, **settings,
        )  # fmt: skip
        probs, scores = predict_probe(fit, test_reps.features, test_reps.mask, items=te)
        labels = test_reps.labels[te]
        masks = np.asarray(test_reps.mask)[te]
        preds = probs.argmax(axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "id": split.test_ids,
                    "n_choices": masks.sum(axis=1),
                    "label_idx": labels,
                    "scores": [list(s[m]) for s, m in zip(scores, masks, strict=True)],
                    "probs": [list(p[m]) for p, m in zip(probs, masks, strict=True)],
                    "pred": preds,
                    "correct": preds == labels,
                    "label_conf": probs[np.arange(len(te)), labels],
                    "resample": r,
                    "train_ids_sha": ids_hash(split.train_ids),
                    "prompt_hash": [test_reps.prompt_hashes[i] for i in te],
                    "item_hash": [test_reps.item_hashes[i] for i in te],
                    "target_hash": [test_reps.target_hashes[i] for i in te],
                    "label_noise_rate": noise_rate,  # realised: training labels ≠ gold
                }
            )
        )
        summary = {"resample": r, **fit.summary(), "label_noise_rate": noise_rate}
        if weak_acc is not None:
            summary["weak_label_accuracy"] = weak_acc
            frames[-1]["weak_label_accuracy"] = weak_acc
        fits.append(summary)
        log.info(
            "resample %d: probe on %d items, train acc %.3f, final loss %.4f, %d refits; "
            "test acc %.3f on %d items",
            r, len(tr), fit.train_acc, fit.final_loss, fit.n_refits,
            float((preds == labels).mean()), len(te),
        )  # fmt: skip
    return cell_predictions(frames, spec), fits


# --------------------------------------------------------------------------------------
# LoRA
# --------------------------------------------------------------------------------------


def lora_predictions(
    model: Any,
    tokenizer: Any,
    train_table: pd.DataFrame,
    test_table: pd.DataFrame,
    resample_splits: list[Split],
    spec: CellSpec,
    targets: list[str],
    settings: Any,
    batch_size: int,
    max_length: int,
    checkpoint_root: str | Path,
    stop_after_step: int | None = None,
    weak: WeakLabels | None = None,
    confidence_settings: dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Per resample: fresh adapter, train (resumable), evaluate, remove the adapter.

    A finished resample's predictions are kept under ``checkpoint_root`` so a killed job
    redoes only the unfinished resample (from its last optimiser checkpoint).
    """
    from e2h.lora import adapter_fingerprint, adapter_seed, attach_adapter, train_adapter

    objective = lora_objective(spec.method)
    confidence = _confidence(spec, confidence_settings)
    if spec.weak and weak is None:
        raise ValueError(f"{spec.directory}: trains on weak labels, but none were given")
    root = Path(checkpoint_root)
    train_by_id = train_table.set_index("id", drop=False)
    test_by_id = test_table.set_index("id", drop=False)
    frames, logs = [], []
    for r, split in enumerate(resample_splits):
        done = root / f"r{r}" / "predictions.parquet"
        if done.exists():
            frames.append(pd.read_parquet(done))
            logs.append(dict(pd.read_json(done.with_suffix(".json"), typ="series")))
            log.info("resample %d: finished before, reusing %s", r, done)
            continue
        train = train_by_id.loc[split.train_ids].reset_index(drop=True)
        if spec.weak:
            train = weak.relabel(train, r)
        test = test_by_id.loc[split.test_ids].reset_index(drop=True)
        seed = adapter_seed(_cell_key(spec), r, spec.seed)
        peft_model = attach_adapter(model, targets, settings, seed)
        try:
            trained = train_adapter(
                peft_model,
                tokenizer,
                train,
                objective,
                spec.prompt,
                settings,
                seed,
                checkpoint_dir=root / f"r{r}",
                max_length=max_length,
                stop_after_step=stop_after_step,
                confidence=confidence,
            )
            fingerprint = adapter_fingerprint(peft_model)
            res = _evaluate(peft_model, tokenizer, test, spec, batch_size, max_length)
        finally:
            model = peft_model.unload()  # the base model, unchanged, for the next resample
        res = res.assign(resample=r, train_ids_sha=ids_hash(split.train_ids))
        res["adapter_sha"] = fingerprint
        info = {"resample": r, **trained.summary(), "adapter_sha": fingerprint}
        if spec.weak:
            info["weak_label_accuracy"] = weak.accuracy(r, split.train_ids)
            res["weak_label_accuracy"] = info["weak_label_accuracy"]
        log.info(
            "resample %d: %d steps (resumed at %d), loss %.4f -> %.4f, test acc %.3f",
            r, trained.total_steps, trained.resumed_from_step, trained.losses[0],
            trained.losses[-1], float(res["correct"].mean()),
        )  # fmt: skip
        write_parquet(res, done)
        pd.Series(info).to_json(done.with_suffix(".json"))
        frames.append(res)
        logs.append(info)
    return cell_predictions(frames, spec), logs


def _evaluate(
    model: Any, tokenizer: Any, test: pd.DataFrame, spec: CellSpec, batch_size: int, max_len: int
) -> pd.DataFrame:
    """LoRA-MC: multiple-choice scoring (docs/scoring.md#mc-scoring), zero-shot; LoRA-CoT:
    generation, stopping at EOS only."""
    if not spec.cot:
        from e2h.scoring import score_choices

        return score_choices(
            model, tokenizer, test, None, spec.prompt, batch_size=batch_size,
            max_length=max_len, model_key=spec.model, seed=spec.seed,
        )  # fmt: skip
    from e2h.generation import generate_answers

    return generate_answers(
        model, tokenizer, test, None, spec.prompt, kind=registry.dataset(spec.dataset).answer,
        max_new_tokens=spec.max_new_tokens, batch_size=batch_size, max_length=max_len,
        model_key=spec.model, seed=spec.seed, stop=None,
    )  # fmt: skip
