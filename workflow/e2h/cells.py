"""Cells: one condition (dataset, model, method, measure, train level, n) over its resamples.

This module is a cell's identity (its spec, its folder, both ways) and its splits; running
a prompting cell is ``e2h.prompting``, a trained one ``e2h.trained``.

A job runs one condition: it loads the model once and loops over the resamples, writing
one row per (test item, resample) with every cell field, so arms are always selected by
field values and joined by item id, never by position (docs/defects.md#d-5, #d-6, #d-8).
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import pandas as pd

from e2h import registry
from e2h.sampling import (
    ANY_MEASURE,
    EmptySplitError,
    Split,
    capped_test_sample,
    draw_split,
    supervisor_split,
)

log = logging.getLogger(__name__)

#: The measure of 3rd grade → college cells (tested on MMLU college; train = the source).
TRANSFER_MEASURE = "transfer"


def representation_dir(dataset: str, model: str, prompt: str) -> str:
    """The zero-shot pass of one (dataset, model, prompt): hidden states read by its probe
    cells and zero-shot predictions read by its zero-shot cells."""
    return f"results/representations/{dataset}/{model}/p{prompt}"


#: The zero-shot pass's predictions, in its folder (``representation_dir``).
ZERO_SHOT_FILE = "zero_shot.parquet"


#: What every cell writes into its folder.
CELL_FILES = ("predictions.parquet", "cell.json")
#: A cell's output folder: every factor of its identity. ``CellSpec.directory`` writes it
#: and ``CellSpec.from_directory`` reads it.
CELL_PATH = (
    "results/cells/{dataset}/{model}/{method}-{prompt}/{measure}/{train}-n{n}{noise}{labels}"
    "{confidence}{tests}/"
    "r{resamples}-cap{cap}-s{seed}"
)
#: Label-noise modes (docs/methods.md#noisy-labels): a corrupted training label is replaced by
#: a uniformly drawn choice, any choice (the paper's; may redraw the gold one) or a wrong one.
NOISE_MODES = ("any", "wrong_only")
#: The train condition of a weak supervisor's cell (docs/methods.md#weak-to-strong): trained on
#: its own part of the pool, it predicts every item a student arm trains on and the test items.
SUPERVISOR = "supervisor"
#: The training levels of the student arms a supervisor labels (their draws up to ``reserve``).
STUDENT_LEVELS = ("easy", "hard")
#: The pattern of each path field (the representation rule's wildcard constraints use some).
WILDCARDS = {
    "dataset": r"[a-z][a-z0-9_]*",
    "model": r"[a-z0-9][a-z0-9.-]*",
    "method": r"[a-z][a-z_]*",
    "prompt": r"[a-z0-9]+",
    "measure": r"[a-z][a-z0-9_]*",
    "train": r"[a-z][a-z0-9_]*",
    "n": r"\d+",
    "resamples": r"\d+",
    "cap": r"\d+|all",
    "seed": r"\d+",
    # empty without label noise, else "-noise<p>-<mode>"
    "noise": r"(?:-noise[0-9.]+-(?:any|wrong_only))?",
    # empty with gold labels, else "-weak_<model>_<method>_n<n>" (the supervisor)
    "labels": r"(?:-weak_[a-z0-9][a-z0-9.-]*_[a-z][a-z_]*_n\d+)?",
    # empty without Burns et al.'s auxiliary confidence loss, else "-conf<alpha_max>"
    "confidence": r"(?:-conf[0-9.]+)?",
    # empty when the cell tests every level of its capped sample, else "-test_<level>"
    "tests": r"(?:-test_(?:easy|medium|hard))?",
}
#: Test levels a cell can be narrowed to (``CellSpec.test_level``).
TEST_LEVELS = ("easy", "medium", "hard")
#: In a zero-shot cell's ``cap_measures``, "measure:level" covers only that level's sample.
LEVEL_SEP = ":"
#: ... and "measure@cap" that measure's sample at its own cap (the train = All cells'
#: ``experiments.all_test_cap``), not the zero-shot cell's
CAP_SEP = "@"
_PATH_RE = re.compile(
    re.sub(r"\{(\w+)\}", lambda m: f"(?P<{m.group(1)}>{WILDCARDS[m.group(1)]})", CELL_PATH)
)


@dataclass(frozen=True)
class CellSpec:
    """Every factor that changes a cell's predictions; its path is derived from all of them."""

    dataset: str
    model: str
    method: str
    prompt: str
    measure: str
    train: str
    n: int
    resamples: int
    cap: int | None
    seed: int
    max_new_tokens: int | None = None
    reserve: int = 0  # items per level kept out of capped test samples (max training size)
    cap_measures: tuple[str, ...] = field(default_factory=tuple)
    noise: float = (
        0.0  # probability that a training label is replaced (docs/methods.md#noisy-labels)
    )
    noise_mode: str = "any"
    #: "" = gold training labels; "weak_<model>_<method>_n<n>" = the labels predicted by that
    #: weak supervisor (same dataset, measure, resamples and test samples as this cell)
    labels: str = ""
    #: the auxiliary confidence loss's maximum mixing weight (0 = plain cross-entropy)
    confidence: float = 0.0
    #: "" = the cell tests every level of its test sample; a level = only that level's items.
    #: The training draw and the seeds do not depend on it: the cell trains on exactly what
    #: its every-level twin trains on. e2h.plan narrows a cell when every output reading it
    #: reads only that level (docs/speed.md#test-levels).
    test_level: str = ""

    def __post_init__(self) -> None:
        if self.test_level and self.test_level not in TEST_LEVELS:
            raise ValueError(
                f"cell test_level {self.test_level!r}: '' (every level) or one of {TEST_LEVELS}"
            )
        if self.test_level and (self.measure == ANY_MEASURE or self.train == "unsup"):
            raise ValueError(
                f"cell test_level {self.test_level!r}: a cell of measure {self.measure!r}, train "
                f"{self.train!r} has no test levels to narrow to"
            )
        if self.labels and not re.fullmatch(WILDCARDS["labels"], "-" + self.labels):
            raise ValueError(f"cell labels {self.labels!r}: '' or weak_<model>_<method>_n<n>")
        if not 0.0 <= float(self.confidence) <= 1.0:
            raise ValueError(f"cell confidence {self.confidence!r}: a weight in [0, 1]")
        if not 0.0 <= float(self.noise) < 1.0:
            raise ValueError(f"cell noise {self.noise!r}: a probability in [0, 1)")
        if self.noise and self.labels:
            raise ValueError(
                f"cell noise {self.noise!r} with labels {self.labels!r}: label noise corrupts gold "
                "labels; a weak supervisor's labels are noisy already"
            )
        if self.noise_mode not in NOISE_MODES:
            raise ValueError(f"cell noise_mode {self.noise_mode!r}; allowed: {NOISE_MODES}")

    def cell_hash(self) -> str:
        fields_ = self.as_dict()
        fields_["cap_measures"] = tuple(self.cap_measures)
        text = repr(sorted(fields_.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def noise_token(self) -> str:
        """The path's noise part: empty for clean labels, so their folders never change."""
        return f"-noise{float(self.noise):g}-{self.noise_mode}" if self.noise else ""

    @property
    def weak(self) -> bool:
        """Trained on a weak supervisor's labels (docs/methods.md#weak-to-strong)."""
        return bool(self.labels)

    @property
    def is_supervisor(self) -> bool:
        return self.train == SUPERVISOR

    @property
    def directory(self) -> str:
        """The cell's output folder (``CELL_PATH`` filled with its path fields)."""
        cap = "all" if self.cap is None else str(int(self.cap))
        return CELL_PATH.format(
            **{
                **self.path_fields(),
                "cap": cap,
                "noise": self.noise_token,
                "labels": f"-{self.labels}" if self.labels else "",
                "confidence": f"-conf{float(self.confidence):g}" if self.confidence else "",
                "tests": f"-test_{self.test_level}" if self.test_level else "",
            }
        )

    def path_fields(self) -> dict[str, Any]:
        """The fields in the path; the others are derived from the config by ``e2h.plan``."""
        return {k: getattr(self, k) for k in PATH_FIELDS}

    @classmethod
    def from_directory(cls, directory: str) -> CellSpec:
        """The path fields of a cell folder (the inverse of ``directory``)."""
        match = _PATH_RE.fullmatch(str(directory).rstrip("/"))
        if match is None:
            raise ValueError(f"{directory!r} is not a cell folder ({CELL_PATH})")
        raw = match.groupdict()
        noise = {}
        if raw["noise"]:
            p, mode = raw["noise"].removeprefix("-noise").split("-", 1)
            noise = {"noise": float(p), "noise_mode": mode}
        if raw["labels"]:
            noise["labels"] = raw["labels"].removeprefix("-")
        if raw["confidence"]:
            noise["confidence"] = float(raw["confidence"].removeprefix("-conf"))
        if raw["tests"]:
            noise["test_level"] = raw["tests"].removeprefix("-test_")
        return cls(
            **{k: raw[k] for k in ("dataset", "model", "method", "prompt", "measure", "train")},
            n=int(raw["n"]),
            resamples=int(raw["resamples"]),
            cap=None if raw["cap"] == "all" else int(raw["cap"]),
            seed=int(raw["seed"]),
            **noise,
        )

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CellSpec:
        """A spec from its ``as_dict`` form (the rule params)."""
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown cell field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**{**raw, "cap_measures": tuple(raw.get("cap_measures") or ())})

    def as_dict(self) -> dict[str, Any]:
        """Every field; clean-label cells leave the noise fields out, so their params (and
        hashes) are what they were before label noise existed."""
        out = {**asdict(self), "cap_measures": list(self.cap_measures)}
        if not self.noise:
            del out["noise"], out["noise_mode"]
        # gold labels, plain loss, every test level: as before these fields existed
        for key in ("labels", "confidence", "test_level"):
            if not out[key]:
                del out[key]
        return out

    @property
    def is_transfer(self) -> bool:
        return self.measure == TRANSFER_MEASURE

    @property
    def method_info(self) -> registry.Method:
        return registry.method(self.method)

    @property
    def cot(self) -> bool:
        return self.method_info.cot


PATH_FIELDS = (
    "dataset", "model", "method", "prompt", "measure", "train", "n", "resamples", "cap", "seed",
    "noise", "noise_mode", "labels", "confidence", "test_level",
)  # fmt: skip


def at_level(table: pd.DataFrame, measure: str, ids: list[str], level: str) -> list[str]:
    """The items of ``ids`` whose ``measure`` level is ``level``, in order (the one filter
    behind narrowed cells and ``measure:level`` zero-shot coverage)."""
    levels = table.set_index("id")[f"{measure}_level"]
    return [i for i in ids if levels.get(i) == level]


def zero_shot_test_ids(table: pd.DataFrame, spec: CellSpec) -> list[str]:
    """Zero-shot covers every item any supervised arm of this dataset tests (docs/defects.md#d-23):
    the union of the capped samples over measures and resamples (of an entry "measure:level",
    only that level's items), or the whole probing set."""
    if spec.cap is None:
        return sorted(table.loc[table["probing"], "id"])
    ids: set[str] = set()
    for entry in spec.cap_measures or (ANY_MEASURE,):
        entry, _, own_cap = entry.partition(CAP_SEP)  # "any@40": that sample at cap 40
        measure, _, level = entry.partition(LEVEL_SEP)  # "measure:hard": that level only
        cap = int(own_cap) if own_cap else spec.cap
        for r in range(spec.resamples):
            sample = capped_test_sample(
                table, spec.dataset, measure, r, cap, reserve=spec.reserve, base_seed=spec.seed
            )
            ids |= set(at_level(table, measure, sample, level) if level else sample)
    return sorted(ids)


def splits(table: pd.DataFrame, spec: CellSpec) -> list[Split]:
    """The training and test ids of each resample of a cell."""
    if spec.train == "unsup":
        return [Split([], zero_shot_test_ids(table, spec))]
    if spec.is_supervisor:
        out = []
        for r in range(spec.resamples):
            split, labelled = supervisor_resample(table, spec, r)
            out.append(replace(split, labelled=tuple(labelled)))
        return out
    return [_narrowed(table, spec, s) for s in _full_splits(table, spec)]


def _narrowed(
    table: pd.DataFrame, spec: CellSpec, split: Split, keep: frozenset[str] = frozenset()
) -> Split:
    """``split`` with only the test items of ``spec.test_level`` (and ``keep``); the draws
    are made on the full sample first, so training items are the every-level twin's."""
    if not spec.test_level:
        return split
    at = set(at_level(table, spec.measure, split.test_ids, spec.test_level))
    test = [i for i in split.test_ids if i in keep or i in at]
    if not test:
        raise EmptySplitError(
            f"{spec.directory}: no test item of level {spec.test_level} in the test sample"
        )
    return Split(split.train_ids, test)


def _full_splits(table: pd.DataFrame, spec: CellSpec) -> list[Split]:
    out = []
    for r in range(spec.resamples):
        cap = capped_test_sample(
            table,
            spec.dataset,
            spec.measure,
            r,
            spec.cap,
            reserve=spec.reserve,
            base_seed=spec.seed,
        )
        out.append(
            draw_split(
                table, spec.dataset, spec.measure, spec.train, r, spec.n, cap, base_seed=spec.seed
            )
        )
    return out


def supervisor_resample(table: pd.DataFrame, spec: CellSpec, r: int) -> tuple[Split, list[str]]:
    """A weak supervisor's split of resample ``r`` and the student items it labels
    (``e2h.sampling.supervisor_split``; students train on at most ``spec.reserve`` items)."""
    cap = capped_test_sample(
        table, spec.dataset, spec.measure, r, spec.cap, reserve=spec.reserve, base_seed=spec.seed
    )
    split, labelled = supervisor_split(
        table, spec.dataset, spec.measure, r, spec.n, spec.reserve, STUDENT_LEVELS, cap,
        base_seed=spec.seed,
    )  # fmt: skip
    # the students' items are labels, not tests: kept whatever the test level
    return _narrowed(table, spec, split, keep=frozenset(labelled)), labelled


def ids_hash(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:12]


def cell_predictions(frames: list[pd.DataFrame], spec: CellSpec) -> pd.DataFrame:
    """One frame of every resample's rows, each row carrying every cell field, so arms are
    selected by field values and joined by item id, never by position."""
    out = pd.concat(frames, ignore_index=True)
    for key, value in spec.as_dict().items():
        if key != "cap_measures":
            out[key] = value
    out["cot"] = spec.cot
    return out


def summarise_cell(
    pred: pd.DataFrame,
    table: pd.DataFrame,
    measure: str,
    resample_splits: list[Split] | None = None,
) -> pd.DataFrame:
    """Accuracy and n per resample and test level (the measure's levels, plus all).

    A weak supervisor also predicts its students' items (``Split.labelled`` of its splits):
    those are summarised apart as level "labelled" (the accuracy of the weak labels), so
    "all" and the levels are its test items only, as for every other cell."""
    level_col = f"{measure}_level" if measure != ANY_MEASURE else None
    merged = pred.merge(table[["id"] + ([level_col] if level_col else [])], on="id")
    rows = []
    for r, group in merged.groupby("resample"):
        labelled = resample_splits[int(r)].labelled if resample_splits else ()
        students = group["id"].isin(labelled)
        if students.any():
            rows.append(
                {
                    "resample": r,
                    "level": "labelled",
                    "n": int(students.sum()),
                    "accuracy": group.loc[students, "correct"].mean(),
                }
            )
            group = group[~students]
        rows.append(
            {"resample": r, "level": "all", "n": len(group), "accuracy": group["correct"].mean()}
        )
        if level_col:
            for level, sub in group.groupby(level_col, observed=True):
                rows.append(
                    {
                        "resample": r,
                        "level": level,
                        "n": len(sub),
                        "accuracy": sub["correct"].mean(),
                    }
                )
    return pd.DataFrame(rows)


__all__ = ["CellSpec", "EmptySplitError", "splits", "summarise_cell"]
