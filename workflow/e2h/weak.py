"""Weak-to-strong supervision beside easy-to-hard (docs/methods.md#weak-to-strong).

Burns et al. (2023) train a strong student on labels a weaker supervisor predicts, and report
the Performance Gap Recovered, PGR = (Acc_w2s − Acc_weak) / (Acc_ceiling − Acc_weak). Here a
weak supervisor is an ordinary cell (train condition ``supervisor``, ``e2h.cells``) of a weaker
(model, method): trained on gold labels of its own part of the pool, it predicts every item a
student arm trains on and the test items. A student cell with ``labels = weak_<model>_<method>_
n<n>`` is the same cell as its gold-label twin (same training items, test items and seeds) with
each training item's label replaced by the supervisor's prediction of the same resample.

This module reads those predictions (``WeakLabels``), relabels training items, and holds Burns
et al.'s auxiliary confidence loss (``confidence_targets``, ``confidence_weight``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

#: ``CellSpec.labels`` of a student trained on a supervisor's labels.
_LABELS_RE = re.compile(r"weak_(?P<model>[a-z0-9][a-z0-9.-]*)_(?P<method>[a-z][a-z_]*)_n(?P<n>\d+)")


def supervisor_labels(model: str, method: str, n: int) -> str:
    """The ``CellSpec.labels`` value naming a weak supervisor."""
    return f"weak_{model}_{method}_n{int(n)}"


def parse_supervisor(labels: str) -> tuple[str, str, int]:
    """(model, method, n) of a ``CellSpec.labels`` value."""
    match = _LABELS_RE.fullmatch(labels)
    if match is None:
        raise ValueError(f"{labels!r} does not name a weak supervisor (weak_<model>_<method>_n<n>)")
    return match["model"], match["method"], int(match["n"])


class WeakLabels:
    """A weak supervisor's predictions (its cell's ``predictions.parquet``) by resample and id.

    Students use the hard labels (the supervisor's argmax); its choice probabilities (soft
    labels) are kept beside them, and its accuracy against gold is part of every table.
    """

    def __init__(self, predictions: pd.DataFrame, source: str = "weak labels") -> None:
        need = {"id", "resample", "pred", "label_idx"}
        missing = need - set(predictions.columns)
        if missing:
            raise ValueError(f"{source}: the supervisor's predictions lack {sorted(missing)}")
        self.source = source
        self.sha256: str | None = None  # of the file it was read from
        self.frame = predictions.assign(id=predictions["id"].astype(str)).set_index(
            ["resample", "id"]
        )
        if not self.frame.index.is_unique:
            raise ValueError(f"{source}: more than one prediction for an (resample, item)")

    @classmethod
    def read(cls, path: str | Path) -> WeakLabels:
        import hashlib

        out = cls(pd.read_parquet(path), str(path))
        out.sha256 = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return out

    def record(self) -> dict[str, object]:
        """Provenance for the student's cell record: which predictions it learned from."""
        return {"weak_labels": {"path": self.source, "sha256": self.sha256}}

    def _rows(self, resample: int, ids: Sequence[str]) -> pd.DataFrame:
        keys = [(int(resample), str(i)) for i in ids]
        absent = [k[1] for k in keys if k not in self.frame.index]
        if absent:
            raise KeyError(
                f"{self.source}: no weak label for {len(absent)} training item(s) of resample "
                f"{resample} (e.g. {absent[:3]}); the supervisor labels only its students' items"
            )
        return self.frame.loc[keys]

    def hard(self, resample: int, ids: Sequence[str]) -> np.ndarray:
        """The supervisor's predicted choice of each item (training order)."""
        return self._rows(resample, ids)["pred"].astype(np.int64).to_numpy()

    def accuracy(self, resample: int, ids: Sequence[str]) -> float:
        """Share of these items whose weak label is the gold one."""
        rows = self._rows(resample, ids)
        return float((rows["pred"].to_numpy() == rows["label_idx"].to_numpy()).mean())

    def relabel(self, items: pd.DataFrame, resample: int) -> pd.DataFrame:
        """A copy of training items with the weak label as gold (``label_idx`` and the answer
        text a demonstration shows); a ``gold_label_idx`` column keeps the true one."""
        weak = self.hard(resample, list(items["id"].astype(str)))
        out = items.copy()
        out["gold_label_idx"] = out["label_idx"]
        out["label_idx"] = weak
        out["answer_text"] = [str(c[k]) for c, k in zip(out["choices"], weak, strict=True)]
        return out


def confidence_weight(step_frac: float, alpha_max: float, warmup: float) -> float:
    """The confidence loss's mixing weight: ``alpha_max`` reached linearly over the first
    ``warmup`` fraction of training (Burns et al.'s code jumps from ``warmup`` to 1 there)."""
    if warmup <= 0:
        return float(alpha_max)
    return float(alpha_max) * min(1.0, float(step_frac) / float(warmup))


def confidence_targets(probs, labels, mask, coef: float):
    """Burns et al.'s auxiliary confidence target: (1 − coef) · weak + coef · hardened student.

    ``probs`` (n, C) the student's choice probabilities (detached here), ``labels`` (n,) the
    weak labels, ``mask`` (n, C) the valid choices. Hardening uses Burns et al.'s adaptive
    threshold where every item has two choices: the student's probability of choice 0 is cut at
    its quantile equal to the weak labels' share of choice 1, so the hardened labels keep the
    weak labels' class balance. With more choices (no class balance to keep across items whose
    choices are different answers) the hardened label is the student's argmax.
    Returns the (n, C) target distribution (0 on padded choices).
    """
    import torch

    probs = probs.detach().float()
    n, c = probs.shape
    weak = torch.zeros((n, c), dtype=torch.float32)
    weak[torch.arange(n), labels] = 1.0
    if bool((mask.sum(dim=1) == 2).all()) and c >= 2 and bool(mask[:, :2].all()):
        share_1 = weak[:, 1].mean()
        threshold = torch.quantile(probs[:, 0], share_1)
        first = probs[:, 0] >= threshold
        strong = torch.zeros((n, c), dtype=torch.float32)
        strong[:, 0] = first.float()
        strong[:, 1] = (~first).float()
    else:
        masked = probs.masked_fill(~mask, float("-inf"))
        strong = torch.zeros((n, c), dtype=torch.float32)
        strong[torch.arange(n), masked.argmax(dim=1)] = 1.0
    return (1.0 - coef) * weak + coef * strong


def soft_cross_entropy(scores, targets, mask):
    """Mean over items of −Σ_c target_c · log softmax(scores)_c over valid choices."""
    import torch

    logp = torch.log_softmax(scores.float().masked_fill(~mask, float("-inf")), dim=1)
    logp = torch.where(mask, logp, torch.zeros_like(logp))
    return -(targets * logp).sum(dim=1).mean()
