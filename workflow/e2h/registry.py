"""The registries of per-dataset, per-method and per-measure facts, read from one place.

Every module that needs a dataset's display name, chance level, answer kind, prompt per
method, applicable methods or measures asks this module; the facts themselves live in
``workflow/resources/{datasets,methods,measures}.yaml`` (tasks as data, in the manner of
lm-evaluation-harness task files). Adding a dataset touches its loader, its entry in
``datasets.yaml`` and the config, nothing else.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
ANSWER_KINDS = ("choice", "yesno", "number")
METHOD_KINDS = ("prompting", "probe", "lora")


@dataclass(frozen=True)
class Method:
    """One method: how it runs (kind), how it is labelled, whether it reasons (CoT)."""

    key: str
    kind: str
    label: str
    cot: bool
    demos: bool = False
    transfer: bool = False

    @property
    def trained(self) -> bool:
        """Probe and LoRA learn from their training items; prompting methods show them."""
        return self.kind != "prompting"

    @property
    def scores_choices(self) -> bool:
        """Multiple-choice scoring (not generation with answer extraction)."""
        return not self.cot

    @property
    def zero_shot(self) -> bool:
        """Scored zero-shot: its predictions are read from the (dataset, model, prompt)
        zero-shot pass that also writes the probe's hidden states
        (docs/scoring.md#zero-shot-pass)."""
        return self.kind == "prompting" and not self.demos and not self.cot


@dataclass(frozen=True)
class Measure:
    """How a dataset's hardness measure is shown (the levels come from the config)."""

    key: str
    binary: bool = False
    axis: dict[str, Any] = field(default_factory=dict)
    labels: dict[Any, str] = field(default_factory=dict)
    histogram: dict[str, Any] | bool = True
    #: model-based ("MDL") measures: {variant: decoding|learned|finetuned, score:
    #: paper|logloss|preq|nll}; computed by the MDL stage, not read from the item table
    mdl: dict[str, str] | None = None

    @property
    def model_based(self) -> bool:
        return self.mdl is not None


MDL_VARIANTS = ("decoding", "learned", "finetuned")
MDL_SCORES = ("paper", "logloss", "preq", "nll")


@dataclass(frozen=True)
class Dataset:
    """One dataset's facts (see the header of ``datasets.yaml``)."""

    key: str
    name: str
    short_name: str
    loader: str
    bundled_files: tuple[str, ...]
    hub_bundled_files: tuple[str, ...]
    data_options: tuple[str, ...]
    answer: str
    chance: float | None
    unsup: str
    supervised: str
    prompts: dict[str, str]
    sgr_methods: tuple[str, ...]
    all_to_all_methods: tuple[str, ...]
    measures: dict[str, Measure]
    correlation_order: tuple[str, ...]
    mdl_prompt: str | None = None

    def model_based(self, measure: str) -> bool:
        entry = self.measures.get(measure)
        return bool(entry and entry.model_based)

    def prompt(self, method: str) -> str:
        """The prompt id of ``method`` on this dataset; a clear error where it does not run."""
        if method not in self.prompts:
            raise KeyError(
                f"method {method!r} does not run on {self.key}; its methods: "
                f"{', '.join(self.prompts)}"
            )
        return self.prompts[method]

    def runs(self, method: str) -> bool:
        return method in self.prompts

    def is_binary(self, measure: str) -> bool:
        entry = self.measures.get(measure)
        return bool(entry and entry.binary)


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((RESOURCES / name).read_text())


@functools.cache
def methods() -> dict[str, Method]:
    """Every method, by key."""
    out = {}
    for key, entry in _load("methods.yaml").items():
        if entry["kind"] not in METHOD_KINDS:
            raise ValueError(f"methods.yaml: {key}.kind {entry['kind']!r} not in {METHOD_KINDS}")
        out[key] = Method(key=key, **entry)
    return out


@functools.cache
def measure_names() -> dict[str, str]:
    """Display name of every hardness measure."""
    return dict(_load("measures.yaml"))


@functools.cache
def datasets() -> dict[str, Dataset]:
    """Every registered dataset, by key; entries are checked against the method registry."""
    known = methods()
    out = {}
    for key, entry in _load("datasets.yaml").items():
        entry = dict(entry)
        problems = []
        if entry.get("answer") not in ANSWER_KINDS:
            problems.append(f"answer {entry.get('answer')!r} not in {ANSWER_KINDS}")
        for m in [entry["unsup"], entry["supervised"], *entry["prompts"]]:
            if m not in known:
                problems.append(f"method {m!r} is not in methods.yaml")
        for m in [entry["unsup"], entry["supervised"], *entry["sgr_methods"]]:
            if m not in entry["prompts"]:
                problems.append(f"method {m!r} has no prompt under {key}.prompts")
        if problems:
            raise ValueError(f"datasets.yaml, {key}: " + "; ".join(problems))
        measures = {
            m: Measure(key=m, **(spec or {})) for m, spec in (entry.pop("measures") or {}).items()
        }
        for m, info in measures.items():
            mdl = info.mdl or {}
            if info.mdl and (
                mdl.get("variant") not in MDL_VARIANTS or mdl.get("score") not in MDL_SCORES
            ):
                raise ValueError(
                    f"datasets.yaml, {key}.measures.{m}.mdl: variant must be one of "
                    f"{MDL_VARIANTS} and score one of {MDL_SCORES}, not {info.mdl}"
                )
        out[key] = Dataset(
            key=key,
            name=entry["name"],
            short_name=entry["short_name"],
            loader=entry["loader"],
            bundled_files=tuple(entry["bundled_files"]),
            hub_bundled_files=tuple(entry.get("hub_bundled_files") or ()),
            data_options=tuple(entry.get("data_options") or ()),
            answer=entry["answer"],
            chance=entry.get("chance"),
            unsup=entry["unsup"],
            supervised=entry["supervised"],
            prompts={m: str(p) for m, p in entry["prompts"].items()},
            sgr_methods=tuple(entry["sgr_methods"]),
            all_to_all_methods=tuple(entry["all_to_all_methods"]),
            measures=measures,
            correlation_order=tuple(entry.get("correlation_order") or measures),
            mdl_prompt=None if entry.get("mdl_prompt") is None else str(entry["mdl_prompt"]),
        )
    return out


def dataset(key: str) -> Dataset:
    """One dataset's facts; an unknown key names the registered ones."""
    known = datasets()
    if key not in known:
        raise KeyError(f"unknown dataset {key!r}; registered: {', '.join(known)}")
    return known[key]


def method(key: str) -> Method:
    known = methods()
    if key not in known:
        raise KeyError(f"unknown method {key!r}; registered: {', '.join(known)}")
    return known[key]


def methods_of_kind(*kinds: str) -> list[str]:
    return [k for k, m in methods().items() if m.kind in kinds]


def trained_methods() -> list[str]:
    return [k for k, m in methods().items() if m.trained]


def prompting_methods() -> list[str]:
    return methods_of_kind("prompting")


def measure_label(measure: str) -> str:
    return measure_names().get(measure, measure)


def panel_title(dataset_key: str, measure: str) -> str:
    """'ARC Grade Level': the short dataset name and the measure's display name."""
    return f"{dataset(dataset_key).short_name} {measure_label(measure)}"
