"""Loaders and normalisers: sizes, counts and parsing rules of study.md §2 on the snapshot."""

from __future__ import annotations

import pandas as pd
import pytest

from e2h.data import arc, gsm8k, mmlu, strategyqa
from e2h.data.errors import DataError, RawRecord
from e2h.pool import draw_hardness_pool


def test_arc_join_sizes_and_splits(bundled_items):
    items = bundled_items["arc"]
    assert len(items) == 4521
    assert items["id"].is_unique
    by = items.groupby(["source_config", "source_split"]).size().to_dict()
    assert by == {
        ("ARC-Easy", "train"): 1236,
        ("ARC-Easy", "validation"): 346,
        ("ARC-Easy", "test"): 1368,
        ("ARC-Challenge", "train"): 654,
        ("ARC-Challenge", "validation"): 186,
        ("ARC-Challenge", "test"): 731,
    }
    assert items["choices"].map(len).eq(4).all()
    assert (
        items["answer_text"] == [c[i] for c, i in zip(items.choices, items.label_idx, strict=True)]
    ).all()


def test_arc_human_variable_counts(bundled_items):
    items = bundled_items["arc"]
    assert items["human_grade"].value_counts().to_dict() == {
        3: 194,
        4: 277,
        5: 963,
        6: 263,
        7: 792,
        8: 2032,
    }
    assert items["human_difficulty"].value_counts().to_dict() == {1: 1056, 2: 2878, 3: 587}
    assert items["human_bloom"].value_counts().to_dict() == {
        1: 1118,
        2: 1239,
        3: 1314,
        4: 660,
        5: 190,
    }
    assert items["human_depth_of_knowledge"].value_counts().to_dict() == {1: 2353, 2: 1974, 3: 194}


def test_mmlu_sizes(bundled_items):
    items = bundled_items["mmlu"]
    assert len(items) == 1746
    assert items["human_hardness"].value_counts().to_dict() == {0: 1143, 1: 603}
    per = items.groupby(["subject", "source_split"]).size()
    assert per[("college_physics", "validation")] == 11
    assert per[("high_school_biology", "test")] == 310
    assert items["id"].iloc[0].count("/") == 2


def test_strategyqa_sizes_and_fields(bundled_items):
    items = bundled_items["strategyqa"]
    assert len(items) == 2290
    assert (items["label_idx"] == 0).sum() == 1071
    assert items["num_steps"].value_counts().to_dict() == {1: 18, 2: 626, 3: 1219, 4: 342, 5: 85}
    row = items.iloc[0]
    assert row["choices"] == ["yes", "no"]
    assert row["reasoning_num_words"] == len(row["reasoning"].split())


def test_gsm8k_sizes_and_parsing(bundled_items):
    items = bundled_items["gsm8k"]
    assert len(items) == 8792
    assert items["num_steps"].value_counts().sort_index().to_dict() == {
        2: 2286,
        3: 2519,
        4: 1958,
        5: 1128,
        6: 507,
        7: 268,
        8: 110,
        9: 15,
        10: 1,
    }
    answers = items["answer_text"]
    assert answers.str.contains(",").sum() == 93
    assert answers.str.startswith("-").sum() == 5
    # stripped by default (docs/defects.md#d-15)
    assert not items["reasoning"].str.contains("<<").any()
    assert items["choices"].map(len).eq(1).all() and items["label_idx"].eq(0).all()


def test_hardness_pool_is_keyed_and_order_free(bundled_items):
    ids = bundled_items["arc"]["id"].tolist()
    pool = draw_hardness_pool(ids, 1000, "arc")
    assert len(pool) == len(set(pool)) == 1000
    assert pool == draw_hardness_pool(list(reversed(ids)), 1000, "arc")
    assert pool != draw_hardness_pool(ids, 1000, "arc", base_seed=1)
    assert pool != draw_hardness_pool(ids, 1000, "gsm8k")
    assert len(set(ids) - set(pool)) == 3521
    gsm = bundled_items["gsm8k"]["id"].tolist()
    assert len(gsm) - len(draw_hardness_pool(gsm, 1000, "gsm8k")) == 7792


def _arc_record(labels, key, texts=None, ident="Q1", config="ARC-Easy"):
    texts = texts or [f"choice {i}" for i in range(len(labels))]
    return RawRecord(
        "arc.jsonl.gz",
        7,
        {
            "id": ident,
            "question": "Why?",
            "choices": {"text": texts, "label": labels},
            "answerKey": key,
            "config": config,
            "split": "train",
        },
    )


ANN = {
    "ARCEZ_Q1": {
        "grade": "Grade 05",
        "bloom": "Applying",
        "difficulty": "Low",
        "depth_of_knowledge": "II",
    }
}


@pytest.mark.parametrize(
    ("labels", "key", "expected"),
    [(["1", "2", "3", "4"], "3", 2), (["A", "B", "C"], "C", 2), (list("ABCDE"), "E", 4)],
)
def test_arc_numeric_labels_and_choice_counts(labels, key, expected):
    table = arc.normalise([_arc_record(labels, key)], ANN, "ann.json")
    assert table.loc[0, "label_idx"] == expected
    assert len(table.loc[0, "choices"]) == len(labels)


def test_arc_bad_answer_key_names_file_and_row():
    with pytest.raises(DataError, match=r"arc.jsonl.gz, row 7 \(id Q1\).*answer key 'F'"):
        arc.normalise([_arc_record(list("ABCD"), "F")], ANN, "ann.json")


def test_arc_prefix_mismatch_is_an_error():
    with pytest.raises(DataError, match="annotation prefix says ARC-Easy"):
        arc.normalise([_arc_record(list("ABCD"), "A", config="ARC-Challenge")], ANN, "ann.json")


def test_arc_subject_grades_are_dropped():
    ann = {"ARCEZ_Q1": {**ANN["ARCEZ_Q1"], "grade": "Biology"}}
    assert arc.normalise([_arc_record(list("ABCD"), "A")], ann, "ann.json").empty


def test_missing_field_names_file_and_row():
    rec = RawRecord(
        "mmlu.jsonl.gz",
        12,
        {
            "question": "q",
            "choices": ["a", "b"],
            "subject": "college_physics",
            "split": "test",
            "row": 3,
        },
    )
    with pytest.raises(DataError, match=r"mmlu.jsonl.gz, row 12: missing field 'answer'"):
        mmlu.normalise([rec])


def test_mmlu_answer_out_of_range():
    rec = RawRecord(
        "mmlu.jsonl.gz",
        2,
        {
            "question": "q",
            "choices": ["a", "b", "c", "d"],
            "answer": 4,
            "subject": "college_physics",
            "split": "test",
            "row": 2,
        },
    )
    with pytest.raises(DataError, match="row 2: answer 4 is not among the 4 choices"):
        mmlu.normalise([rec])


def test_gsm8k_parsing_rules():
    text = "He has 2 + 3 = <<2+3=5>>5 apples.\n\nThen 5 * 200 = <<5*200=1000>>1000.\n#### 1,000"
    rec = RawRecord(
        "gsm8k.jsonl.gz", 0, {"question": "How many?", "answer": text, "split": "train", "row": 0}
    )
    row = gsm8k.normalise([rec]).iloc[0]
    assert row["answer_text"] == "1,000"
    assert row["num_steps"] == 3  # blank line counts as a line, as in the original
    assert "<<" not in row["reasoning"] and "5 apples" in row["reasoning"]
    kept = gsm8k.normalise([rec], keep_calculator_annotations=True).iloc[0]
    assert "<<2+3=5>>" in kept["reasoning"]
    assert kept["reasoning_num_words"] == row["reasoning_num_words"]


def test_gsm8k_missing_separator():
    rec = RawRecord(
        "gsm8k.jsonl.gz", 4, {"question": "q", "answer": "no separator", "split": "test", "row": 4}
    )
    with pytest.raises(DataError, match="row 4: answer field has no '####'"):
        gsm8k.normalise([rec])


def test_strategyqa_bad_answer_type():
    rec = RawRecord(
        "sqa.jsonl.gz",
        1,
        {"qid": "a1", "question": "q?", "answer": "yes", "facts": [], "decomposition": ["x"]},
    )
    with pytest.raises(DataError, match=r"row 1 \(id a1\): answer must be true or false"):
        strategyqa.normalise([rec])


def test_item_tables_are_sorted_and_hashed(bundled_items):
    for items in bundled_items.values():
        assert items["id"].is_monotonic_increasing
        assert items["text_hash"].str.len().eq(16).all()
        assert isinstance(items, pd.DataFrame)


def _gz_rows(path, rows: list[bytes]) -> None:
    import gzip

    path.write_bytes(gzip.compress(b"".join(rows), mtime=0))


def _read_all(path):
    from e2h.data.sources import _iter_jsonl_gz

    return list(_iter_jsonl_gz(path))


def test_corrupt_or_cut_gzip_names_the_file(tmp_path):
    import gzip

    whole = gzip.compress(b'{"a": 1}\n' * 2000, mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match=r"cut.jsonl.gz, row \d+: the gzip stream is corrupt"):
        _read_all(cut)
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"not gzip at all\n")
    with pytest.raises(DataError, match=r"garbage.jsonl.gz, row 0: the gzip stream is corrupt"):
        _read_all(garbage)


def test_bad_utf8_names_the_file_and_row(tmp_path):
    path = tmp_path / "bad.jsonl.gz"
    _gz_rows(path, [b'{"a": 1}\n', b'{"a": "caf\xe9"}\n'])
    with pytest.raises(DataError, match=r"bad.jsonl.gz, row 1: not UTF-8"):
        _read_all(path)


def test_truncated_last_row_names_the_file_and_row(tmp_path):
    path = tmp_path / "short.jsonl.gz"
    _gz_rows(path, [b'{"a": 1}\n', b'{"a": 2}\n', b'{"question": "Wh'])
    with pytest.raises(DataError, match=r"short.jsonl.gz, row 2: not valid JSON .*no newline"):
        _read_all(path)


def test_a_row_that_is_not_an_object_is_refused(tmp_path):
    path = tmp_path / "list.jsonl.gz"
    _gz_rows(path, [b'{"a": 1}\n', b"[1, 2]\n"])
    with pytest.raises(DataError, match=r"list.jsonl.gz, row 1: a JSON list, not an object"):
        _read_all(path)


def _mmlu_record(row: int, source_row: int, choices: list[str]) -> RawRecord:
    data = {"question": "q", "choices": choices, "answer": 0, "subject": "college_physics"}
    return RawRecord("mmlu.jsonl.gz", row, {**data, "split": "test", "row": source_row})


def test_duplicated_item_id_names_both_rows():
    records = [_mmlu_record(0, 7, list("abcd")), _mmlu_record(1, 8, list("abcd")),
               _mmlu_record(2, 7, list("abcd"))]  # fmt: skip
    with pytest.raises(
        DataError,
        match=r"mmlu.jsonl.gz, row 2: item id 'college_physics/test/7' is already used by "
        r"mmlu.jsonl.gz, row 0",
    ):
        mmlu.normalise(records)


@pytest.mark.parametrize("n", [3, 5])
def test_mmlu_row_without_exactly_four_options_names_the_row(n):
    with pytest.raises(DataError, match=rf"mmlu.jsonl.gz, row 4: field 'choices' has {n} options"):
        mmlu.normalise([_mmlu_record(4, 1, list("abcdefg")[:n])])
