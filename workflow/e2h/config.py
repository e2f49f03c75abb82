"""Config validation with messages a researcher can act on (before any job starts).

``jsonschema`` finds the problems; this module words them: which key, what was found,
and what is allowed (the enum, the known keys, the expected type). Snakemake's own
``validate`` then fills schema defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration is invalid; the message names every bad key."""


def load_schema(path: str | Path) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def _key(path: Any) -> str:
    parts = [str(p) if not isinstance(p, int) else f"[{p}]" for p in path]
    return ".".join(parts).replace(".[", "[") or "(top level)"


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"].lstrip("#/").split("/")
        node: Any = root
        for part in ref:
            node = node[part]
        schema = node
    return schema


def _describe(error: jsonschema.ValidationError, root: dict[str, Any]) -> str:
    key = _key(error.absolute_path)
    schema = _resolve(error.schema, root)
    found = error.instance
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(set(found) - set(allowed)) if isinstance(found, dict) else []
        names = ", ".join(repr(e) for e in extra)
        where = "at the top level" if key == "(top level)" else f"under {key!r}"
        return f"unknown key {names} {where}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        allowed = ", ".join(repr(v) for v in error.validator_value)
        return f"{key}: {found!r} is not allowed; allowed values: {allowed}"
    if error.validator == "propertyNames":
        names = _resolve(error.validator_value, root).get("enum", [])
        return f"{key}: key {error.instance!r} is not allowed; allowed keys: {', '.join(names)}"
    if error.validator == "type":
        return f"{key}: expected {error.validator_value}, got {type(found).__name__} {found!r}"
    if error.validator == "required":
        return f"{key}: {error.message}"
    return f"{key}: {error.message}"


def config_errors(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every problem with ``config``, one readable line each (empty when valid)."""
    validator = jsonschema.Draft202012Validator(schema)
    messages = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        # propertyNames errors carry the offending key as the instance; report it once
        if error.validator == "enum" and error.parent is not None:
            continue
        messages.append(_describe(error, schema))
    return messages


def semantic_errors(config: dict[str, Any]) -> list[str]:
    """Problems a schema cannot express: measures a dataset lacks, inverted cutoffs."""
    from e2h.hardness import AVAILABLE_MEASURES

    errors = []
    lo_hi = config.get("percentiles", [0.3, 0.7])
    if len(lo_hi) == 2 and lo_hi[0] >= lo_hi[1]:
        errors.append(f"percentiles: lower {lo_hi[0]} must be below upper {lo_hi[1]}")
    for dataset, spec in (config.get("datasets") or {}).items():
        available = AVAILABLE_MEASURES.get(dataset, [])
        for measure, rule in (spec.get("measures") or {}).items():
            key = f"datasets.{dataset}.measures.{measure}"
            if measure not in available:
                errors.append(
                    f"{key}: {dataset} has no measure {measure!r}; allowed for {dataset}: "
                    f"{', '.join(available)}"
                )
            if rule.get("rule") == "fixed" and rule.get("easy_max", 0) >= rule.get("hard_min", 1):
                errors.append(f"{key}: easy_max must be below hard_min")
    models = config.get("models") or {}
    exp = config.get("experiments") or {}
    used = list(exp.get("models", []))
    tgc = exp.get("third_grade_to_college") or {}
    if tgc.get("model"):
        used.append(tgc["model"])
    for key in used:
        if key not in models:
            errors.append(
                f"experiments: model {key!r} is not in the model registry; registered: "
                f"{', '.join(models) or '(none)'}"
            )
    for dataset in exp.get("measures", {}) or {}:
        configured = (config.get("datasets") or {}).get(dataset, {}).get("measures", {})
        if dataset not in (config.get("datasets") or {}):
            errors.append(f"experiments.measures.{dataset}: dataset {dataset!r} is not configured")
            continue
        for measure in exp["measures"][dataset]:
            if measure not in configured:
                errors.append(
                    f"experiments.measures.{dataset}: {measure!r} has no level rule under "
                    f"datasets.{dataset}.measures; configured: {', '.join(configured)}"
                )
        if dataset not in (exp.get("k") or {}):
            errors.append(f"experiments.k.{dataset}: missing; set the ICL demonstrations")
    trained = exp.get("trained") or {}
    for dataset, extra in (trained.get("extra_measures") or {}).items():
        configured = (config.get("datasets") or {}).get(dataset, {}).get("measures", {})
        for measure in extra:
            if measure not in configured:
                errors.append(
                    f"experiments.trained.extra_measures.{dataset}: {measure!r} has no level "
                    f"rule under datasets.{dataset}.measures; configured: {', '.join(configured)}"
                )
    levels = trained.get("train_levels", ["easy", "hard"])
    if trained.get("methods") and not {"easy", "hard"} <= set(levels):
        errors.append(
            f"experiments.trained.train_levels: {levels} must include easy and hard "
            "(the arms of fig-sgr-by-method)"
        )
    if "lora_mc" in trained.get("methods", []) or "lora_cot" in trained.get("methods", []):
        for key in used:
            if key in models and not models[key].get("lora_targets"):
                errors.append(
                    f"models.{key}.lora_targets: LoRA methods are configured but the model "
                    "has no LoRA target modules (e.g. [q_proj, v_proj])"
                )
    wanted = set(tgc.get("methods", ["icl"])) - {"icl"}
    missing = wanted - set(trained.get("methods", []))
    if missing:
        errors.append(
            f"experiments.third_grade_to_college.methods: {sorted(missing)} also need "
            "experiments.trained.methods to include them"
        )
    return errors


def check_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Raise ``ConfigError`` listing every invalid key of ``config``."""
    errors = config_errors(config, load_schema(schema_path))
    if not errors:
        errors = semantic_errors(config)
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        raise ConfigError(f"invalid configuration ({len(errors)} problem(s)):\n{lines}")
