"""Config validation with messages a researcher can act on (before any job starts).

``jsonschema`` finds the problems; this module words them: which key, what was found,
and what is allowed (the enum, the known keys, the expected type). Snakemake's own
``validate`` then fills schema defaults.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml

#: The schema every configuration is validated against; its defaults are the only defaults.
SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"


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
    if error.validator == "anyOf":  # alternatives that each require one key: name them
        options = [alt.get("required") for alt in error.validator_value]
        if all(o and len(o) == 1 for o in options):
            names = ", ".join(o[0] for o in options)
            return f"{key}: needs at least one of {names} (none is set)"
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
    """Problems a schema cannot express: datasets, measures and methods the registries lack,
    inverted cutoffs, models that are not registered (run after defaults are filled)."""
    from e2h import registry

    errors = []
    known = registry.datasets()
    lo_hi = config["percentiles"]
    if lo_hi[0] >= lo_hi[1]:
        errors.append(f"percentiles: lower {lo_hi[0]} must be below upper {lo_hi[1]}")
    configured_datasets = config["datasets"]
    for dataset, spec in configured_datasets.items():
        if dataset not in known:
            errors.append(
                f"datasets: unknown dataset {dataset!r}; registered (workflow/resources/"
                f"datasets.yaml): {', '.join(known)}"
            )
            continue
        errors += _prompt_errors(dataset, spec.get("prompts") or {}, known[dataset])
        available = list(known[dataset].measures)
        for measure, rule in spec["measures"].items():
            key = f"datasets.{dataset}.measures.{measure}"
            if measure not in available:
                errors.append(
                    f"{key}: {dataset} has no measure {measure!r}; allowed for {dataset}: "
                    f"{', '.join(available)}"
                )
            if rule["rule"] == "fixed" and rule["easy_max"] >= rule["hard_min"]:
                errors.append(f"{key}: easy_max must be below hard_min")
    errors += _mdl_errors(config, known)
    for dataset in config["data"].get("hub") or {}:
        if dataset not in known:
            errors.append(f"data.hub: unknown dataset {dataset!r}; registered: {', '.join(known)}")
    exp = config.get("experiments")
    if not exp:
        return errors
    models = config.get("models") or {}
    used = list(exp["models"])
    tgc = exp.get("third_grade_to_college") or {}
    if tgc.get("model"):
        used.append(tgc["model"])
    w2s = exp.get("weak_to_strong") or {}
    if w2s:
        used += [m for m in (w2s["supervisor"]["model"], w2s["student"]) if m not in used]
        errors += _weak_to_strong_errors(w2s, exp, configured_datasets, known)
    ladder = exp.get("ladder") or {}
    for name in ("models", "by_model"):
        listed = ladder.get(name) or []
        used += [m for m in listed if m not in used]
        if len(set(listed)) != len(listed):
            errors.append(f"experiments.ladder.{name}: {listed} lists a model twice")
    for key in used:
        if key not in models:
            errors.append(
                f"experiments: model {key!r} is not in the model registry; registered: "
                f"{', '.join(models) or '(none)'}"
            )
    if len(set(exp["models"])) != len(exp["models"]):
        errors.append(f"experiments.models: {exp['models']} lists a model twice")
    # max_new_tokens has defaults for CoT datasets
    for name in ("test_cap", "all_test_cap", "k", "measures"):
        for dataset in exp.get(name) or {}:
            if dataset not in configured_datasets:
                errors.append(
                    f"experiments.{name}.{dataset}: dataset {dataset!r} is not configured under "
                    f"datasets; configured: {', '.join(configured_datasets)}"
                )
    for dataset, measures in exp["measures"].items():
        if dataset not in configured_datasets:
            continue
        configured = configured_datasets[dataset]["measures"]
        for measure in measures:
            if measure not in configured:
                errors.append(
                    f"experiments.measures.{dataset}: {measure!r} has no level rule under "
                    f"datasets.{dataset}.measures; configured: {', '.join(configured)}"
                )
        if dataset not in exp["k"]:
            errors.append(f"experiments.k.{dataset}: missing; set the ICL demonstrations")
        if dataset in known and any(
            registry.method(m).cot for m in (known[dataset].unsup, known[dataset].supervised)
        ):
            if dataset not in exp["max_new_tokens"]:
                errors.append(
                    f"experiments.max_new_tokens.{dataset}: missing; {dataset} generates its "
                    "answers with chain of thought"
                )
    trained = exp.get("trained") or {}
    trained_known = registry.trained_methods()
    for m in trained.get("methods") or []:
        if m not in trained_known:
            errors.append(
                f"experiments.trained.methods: {m!r} is not a trained method; allowed: "
                f"{', '.join(trained_known)}"
            )
    for dataset, methods in (trained.get("skip") or {}).items():
        if dataset not in config["datasets"]:
            errors.append(
                f"experiments.trained.skip.{dataset}: not a configured dataset; configured: "
                f"{', '.join(config['datasets'])}"
            )
        for m in methods:
            if m not in (trained.get("methods") or []):
                errors.append(
                    f"experiments.trained.skip.{dataset}: {m!r} is not in "
                    f"experiments.trained.methods ({', '.join(trained.get('methods') or [])})"
                )
    noisy = exp.get("noisy_labels") or {}
    if noisy:
        key = "experiments.noisy_labels"
        d, m = noisy["dataset"], noisy["measure"]
        if d not in exp["measures"]:
            errors.append(
                f"{key}.dataset: {d!r} has no experiments (experiments.measures); "
                f"configured: {', '.join(exp['measures'])}"
            )
        elif m not in configured_datasets[d]["measures"]:
            errors.append(
                f"{key}.measure: {m!r} has no level rule under datasets.{d}.measures; "
                f"configured: {', '.join(configured_datasets[d]['measures'])}"
            )
        if "probe" not in (trained.get("methods") or []):
            errors.append(f"{key}: needs the linear probe in experiments.trained.methods")
        noise = noisy["noise"]
        if any(b <= a for a, b in zip(noise, noise[1:], strict=False)):
            errors.append(f"{key}.noise: {noise} must be strictly increasing")
        worst = max(noise) * noisy["hard_factor"]
        if worst >= 1:
            errors.append(
                f"{key}: the hard labels' noise hard_factor x max(noise) = {worst:g} must be "
                "below 1"
            )
    curves = exp.get("learning_curves") or {}
    sizes = curves.get("sizes") or []
    if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)):
        errors.append(f"experiments.learning_curves.sizes: {sizes} must be strictly increasing")
    for dataset in curves.get("measures") or {}:
        if dataset in known and not known[dataset].runs(curves["method"]):
            errors.append(
                f"experiments.learning_curves.measures.{dataset}: {dataset} does not run "
                f"{curves['method']!r}"
            )
    for key, lists in [
        ("experiments.learning_curves.measures", curves.get("measures") or {}),
        ("experiments.extra_measures", exp.get("extra_measures") or {}),
        ("experiments.trained.extra_measures", trained.get("extra_measures") or {}),
    ]:
        for dataset, extra in lists.items():
            configured = configured_datasets.get(dataset, {}).get("measures", {})
            for measure in extra:
                if measure not in configured:
                    errors.append(
                        f"{key}.{dataset}: {measure!r} has no level rule under "
                        f"datasets.{dataset}.measures; configured: {', '.join(configured)}"
                    )
    if trained.get("methods") and not {"easy", "hard"} <= set(trained["train_levels"]):
        errors.append(
            f"experiments.trained.train_levels: {trained['train_levels']} must include easy "
            "and hard (the arms of fig-sgr-by-method)"
        )
    lora = [m for m in trained.get("methods") or [] if registry.methods().get(m, None)]
    if any(registry.method(m).kind == "lora" for m in lora):
        for key in used:
            if key in models and not models[key].get("lora_targets"):
                errors.append(
                    f"models.{key}.lora_targets: LoRA methods are configured but the model "
                    "has no LoRA target modules (e.g. [q_proj, v_proj])"
                )
    transfer_ok = [k for k, m in registry.methods().items() if m.transfer]
    for m in tgc.get("methods") or []:
        if m not in transfer_ok:
            errors.append(
                f"experiments.third_grade_to_college.methods: {m!r} is not allowed; allowed: "
                f"{', '.join(transfer_ok)}"
            )
        elif registry.method(m).trained and m not in (trained.get("methods") or []):
            errors.append(
                f"experiments.third_grade_to_college.methods: {m!r} also needs "
                "experiments.trained.methods to include it"
            )
    return errors


def _mdl_errors(config: dict[str, Any], known: dict[str, Any]) -> list[str]:
    """Model-based measures need the ``mdl`` section, registered hardness models and a pool
    large enough for their learning curve."""
    errors = []
    mdl = config.get("mdl") or None
    models = config.get("models") or {}
    wanted = {
        (dataset, known[dataset].measures[m].mdl["variant"], m)
        for dataset, spec in config["datasets"].items()
        if dataset in known
        for m in spec["measures"]
        if known[dataset].model_based(m)
    }
    if not wanted:
        return errors
    if mdl is None:
        names = ", ".join(sorted(f"datasets.{d}.measures.{m}" for d, _, m in wanted))
        return [f"{names}: model-based measures need an `mdl:` section naming the hardness models"]
    for key in mdl["models"]:
        if key not in models:
            errors.append(
                f"mdl.models: {key!r} is not in the model registry; registered: "
                f"{', '.join(models) or '(none)'}"
            )
        elif any(v == "finetuned" for _, v, _ in wanted) and not models[key].get("lora_targets"):
            errors.append(f"models.{key}.lora_targets: mdl_finetuned trains LoRA adapters")
    if len(set(mdl["models"])) != len(mdl["models"]):
        errors.append(f"mdl.models: {mdl['models']} lists a model twice")
    lora_keys = set(schema_defaults("experiments", "trained", "lora"))
    for key in mdl["finetuned"]["lora"]:
        if key not in lora_keys:
            errors.append(
                f"mdl.finetuned.lora.{key}: not a LoRA setting; allowed: "
                + ", ".join(sorted(lora_keys))
            )
    if mdl["learned"]["lora"]:
        errors.append("mdl.learned.lora: the learned curve fits a linear probe, not LoRA")
    for variant in ("learned", "finetuned"):
        sizes = mdl[variant]["sizes"]
        if any(b <= a for a, b in zip(sizes, sizes[1:], strict=False)):
            errors.append(f"mdl.{variant}.sizes: {sizes} must be strictly increasing")
    for dataset, variant, measure in sorted(wanted):
        if variant == "decoding":
            continue
        pool = int(config["datasets"][dataset].get("hardness_pool") or 0)
        need = int(mdl["dev"]) + max(mdl[variant]["sizes"])
        if pool < need:
            errors.append(
                f"datasets.{dataset}.hardness_pool: {pool} items, but {measure} needs mdl.dev "
                f"({mdl['dev']}) + the largest of mdl.{variant}.sizes "
                f"({max(mdl[variant]['sizes'])}) = {need}"
            )
    for dataset in mdl["probing_cap"]:
        if dataset not in config["datasets"]:
            errors.append(f"mdl.probing_cap.{dataset}: dataset {dataset!r} is not configured")
    return errors


def _prompt_errors(dataset: str, prompts: dict[str, str], info: Any) -> list[str]:
    """A prompt override must name a method the dataset runs and a prompt of its kind."""
    from e2h import registry
    from e2h.prompts import PROMPTS, get_template

    errors = []
    for method, prompt_id in prompts.items():
        key = f"datasets.{dataset}.prompts.{method}"
        if not info.runs(method):
            errors.append(
                f"{key}: {dataset} does not run {method!r}; its methods: {', '.join(info.prompts)}"
            )
            continue
        try:
            template = get_template(prompt_id)
        except ValueError:
            errors.append(f"{key}: unknown prompt {prompt_id!r}; allowed: {', '.join(PROMPTS)}")
            continue
        cot = registry.method(method).cot
        if template.cot != cot:
            allowed = [p for p, t in PROMPTS.items() if t.cot == cot]
            errors.append(
                f"{key}: prompt {prompt_id!r} {'lacks' if cot else 'has'} a chain of thought; "
                f"allowed for {method}: {', '.join(allowed)}"
            )
    return errors


def _with_defaults(validator_class: Any) -> Any:
    """A validator that fills each ``default`` of the schema into the instance it checks.

    jsonschema validates but never fills defaults; this is its documented extension recipe
    (the same thing ``snakemake.utils.validate`` does), here so the package can build a
    complete config without Snakemake.
    """
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Any, instance: Any, schema: Any) -> Any:
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def schema_defaults(*path: str) -> dict[str, Any]:
    """The defaults of the object at ``path`` (e.g. "experiments", "trained", "lora"): for
    code that needs a section's settings outside a workflow run (tests, notebooks)."""
    schema = load_schema(SCHEMA)
    node = schema
    for key in path:
        node = _resolve(node, schema)
        node = node["properties"][key] if "properties" in node else node["additionalProperties"]
    node = _resolve(node, schema)
    return {k: copy.deepcopy(v["default"]) for k, v in node["properties"].items() if "default" in v}


def fill_defaults(config: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``config`` with every schema default filled in."""
    filled = copy.deepcopy(config)
    _with_defaults(jsonschema.Draft202012Validator)(schema).validate(filled)
    return filled


def _weak_to_strong_errors(
    w2s: dict[str, Any], exp: dict[str, Any], configured: dict[str, Any], known: dict[str, Any]
) -> list[str]:
    """``experiments.weak_to_strong`` (docs/methods.md#weak-to-strong)."""
    key = "experiments.weak_to_strong"
    errors = []
    sup, student = w2s["supervisor"], w2s["student"]
    if sup["model"] == student:
        errors.append(
            f"{key}: the supervisor's model and the student are both {student!r}; the weak "
            "supervisor must be another (weaker) model"
        )
    methods = dict(w2s.get("methods") or {})
    if "lora_mc" in [sup["method"], *methods] and not (exp.get("trained") or {}).get("lora"):
        errors.append(f"{key}: LoRA-MC takes its settings from experiments.trained.lora; set it")
    if not methods:
        errors.append(f"{key}.methods: name at least one student method (icl, probe, lora_mc)")
    for method in (w2s.get("confidence") or {}).get("methods") or []:
        if method not in methods:
            errors.append(
                f"{key}.confidence.methods: {method!r} is not a student method "
                f"({', '.join(methods) or 'none'})"
            )
    for dataset, measures in (w2s.get("measures") or {}).items():
        where = f"{key}.measures.{dataset}"
        if dataset not in exp["measures"]:
            errors.append(f"{where}: {dataset!r} has no experiments (experiments.measures)")
            continue
        for method in [sup["method"], *methods]:
            if dataset in known and not known[dataset].runs(method):
                errors.append(f"{where}: {dataset} does not run {method!r}")
        for measure in measures:
            if measure not in configured[dataset]["measures"]:
                errors.append(
                    f"{where}: {measure!r} has no level rule under datasets.{dataset}.measures"
                )
    return errors


def validated(config: dict[str, Any], schema_path: str | Path = SCHEMA) -> dict[str, Any]:
    """The config checked (``ConfigError`` listing every invalid key) with defaults filled.

    This is the only place defaults enter: every module reads the returned mapping.
    """
    schema = load_schema(schema_path)
    errors = config_errors(config, schema)
    filled = None
    if not errors:
        filled = fill_defaults(config, schema)
        errors = semantic_errors(filled)
    if errors:
        lines = "\n".join(f"  - {e}" for e in errors)
        raise ConfigError(f"invalid configuration ({len(errors)} problem(s)):\n{lines}")
    return filled


def check_config(config: dict[str, Any], schema_path: str | Path = SCHEMA) -> None:
    """Raise ``ConfigError`` listing every invalid key of ``config``."""
    validated(config, schema_path)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """A YAML config file as a mapping; a syntax error names the file, line and column.

    Snakemake reports a broken config file only as "not valid JSON or YAML"; the Snakefile
    reads its default config through this first, and ``python -m e2h.config FILE`` checks
    any other file the same way before a run.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        loaded = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(filter(None, [err.context, err.problem]))
        raise ConfigError(f"{where}: YAML syntax error: {what}") from None
    if not isinstance(loaded, dict):
        kind = type(loaded).__name__
        raise ConfigError(f"{path}: a config file is a mapping of keys, not {kind}")
    return loaded


def main(argv: list[str] | None = None) -> int:
    """Check config files (syntax with file, line and column; then every key) before a run."""
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Check e2h config files before a run.")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            validated(read_config_file(path))
            print(f"{path}: valid")
        except ConfigError as err:
            print(err, file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
