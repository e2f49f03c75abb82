"""Config validation: clear messages naming the key and what is allowed."""

from __future__ import annotations

import copy

import pytest
import yaml

from e2h.config import ConfigError, check_config
from tests.conftest import ROOT, SCHEMA


def test_default_config_is_valid(default_config):
    check_config(default_config, SCHEMA)


def test_test_config_is_valid():
    check_config(yaml.safe_load((ROOT / "tests/data/config.test.yaml").read_text()), SCHEMA)


BAD_CONFIGS = [
    (lambda c: c.update(sead=1), r"unknown key 'sead' at the top level; allowed keys: .*seed"),
    (
        lambda c: c["data"].update(source="web"),
        r"data.source: 'web' is not allowed; allowed values: 'bundled', 'hub'",
    ),
    (lambda c: c.update(seed="zero"), r"seed: expected integer, got str 'zero'"),
    (
        lambda c: c["datasets"].update(squad={"measures": {"num_words": {"rule": "percentile"}}}),
        r"datasets: unknown dataset 'squad'; registered \(workflow/resources/datasets.yaml\): "
        r"arc, mmlu, strategyqa, gsm8k",
    ),
    (
        lambda c: c["datasets"]["arc"]["measures"]["human_grade"].update(rule="quantile"),
        r"datasets.arc.measures.human_grade.rule: 'quantile' is not allowed; allowed values: "
        r"'fixed', 'percentile'",
    ),
    (
        lambda c: c["datasets"]["arc"]["measures"]["human_grade"].pop("hard_min"),
        r"datasets.arc.measures.human_grade: 'hard_min' is a required property",
    ),
    (
        lambda c: c["datasets"]["mmlu"]["measures"].update(human_grade={"rule": "percentile"}),
        r"datasets.mmlu.measures.human_grade: mmlu has no measure 'human_grade'; allowed for "
        r"mmlu: human_hardness",
    ),
    (lambda c: c.update(percentiles=[0.7, 0.3]), r"percentiles: lower 0.7 must be below"),
    (
        lambda c: c["figures"].update(formats=["jpg"]),
        r"figures.formats\[0\]: 'jpg' is not allowed; allowed values: 'pdf', 'png', 'svg'",
    ),
    (
        lambda c: c["datasets"]["arc"].update(hardness_pool=-5),
        r"datasets.arc.hardness_pool: -5 is less than the minimum of 0",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_CONFIGS)
def test_bad_config_names_key_and_allowed_values(mutate, message, default_config):
    config = copy.deepcopy(default_config)
    mutate(config)
    with pytest.raises(ConfigError, match=message):
        check_config(config, SCHEMA)


def test_a_model_without_any_source_names_the_keys_that_provide_one(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["models"]["smollm2-135m"] = {"precision": "auto"}
    with pytest.raises(ConfigError) as err:
        check_config(cfg, SCHEMA)
    assert "models.smollm2-135m: needs at least one of hub_id, local_path, gguf" in str(err.value)


@pytest.mark.parametrize("key", ["test_cap", "all_test_cap", "k", "max_new_tokens"])
def test_per_dataset_counts_of_zero_are_refused(default_config, key):
    cfg = copy.deepcopy(default_config)
    cfg["experiments"][key] = {**cfg["experiments"].get(key, {}), "strategyqa": 0}
    with pytest.raises(ConfigError, match=f"experiments.{key}.strategyqa: 0 is less than"):
        check_config(cfg, SCHEMA)


def test_the_all_cells_sample_needs_a_number_and_a_configured_dataset(default_config):
    cfg = copy.deepcopy(default_config)
    cfg["experiments"]["all_test_cap"] = {"arc": None}
    with pytest.raises(ConfigError, match="experiments.all_test_cap.arc: expected integer"):
        check_config(cfg, SCHEMA)
    cfg["experiments"]["all_test_cap"] = {"gsm8k": 10}
    del cfg["datasets"]["gsm8k"]
    with pytest.raises(ConfigError, match="experiments.all_test_cap.gsm8k: dataset 'gsm8k' is not"):
        check_config(cfg, SCHEMA)


def test_yaml_syntax_error_names_file_line_and_column(tmp_path, capsys):
    from e2h.config import main, read_config_file

    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 0\ndatasets:\n  arc: {hardness_pool: 1000\n  mmlu: x\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:4:7: YAML syntax error: .*expected ','"):
        read_config_file(bad)
    assert main([str(bad), str(ROOT / "config.yaml")]) == 1
    out = capsys.readouterr()
    assert "config.yaml: valid" in out.out and "bad.yaml:4:7" in out.err
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="a mapping of keys, not list"):
        read_config_file(listed)
