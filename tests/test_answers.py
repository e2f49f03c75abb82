"""Answer extraction for CoT generations (docs/scoring.md#cot-generation, docs/defects.md#d-16)."""

from __future__ import annotations

import pytest

from e2h.answers import answers_match, extract_answer, normalise_number

# --------------------------------------------------------------------------------------------
# yes / no (StrategyQA)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So the answer is yes.", "yes"),
        ("So the answer is no.", "no"),
        ("The answer is Yes", "yes"),
        ("THE ANSWER IS NO", "no"),
        ("  the answer is   yes  .  ", "yes"),
        ("the answer is yes.\n\nQ: next question", "yes"),
        ("the answer is no\nthe answer is yes", "no"),  # cut at the newline
        ("the answer is yes. the answer is no.", "yes"),  # before the second trigger
        ("the answer is yes...", "yes"),
        ("the answer is yes.\n", "yes"),
        ("Reasoning first. Thus, the answer is no.", "no"),
        ("the answer is yes, because", None),  # exact match only
        ("the answer is maybe", None),
        ("the answer is: yes", None),  # exact match after stripping, as specified
        ("the answer is", None),  # empty segment
        ("the answer is\nyes", None),  # cut at the first newline leaves nothing
        ("yes", None),  # no trigger: invalid
        ("Yes, the answer must be yes.", None),
        ("", None),
    ],
)
def test_extract_yesno(text: str, expected: str | None) -> None:
    assert extract_answer(text, "yesno") == expected


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("yes", "yes", True),
        ("no", "yes", False),
        ("yes", "Yes", True),
        ("no", "no.", True),
        (None, "yes", False),
        (None, "no", False),
    ],
)
def test_match_yesno(pred: str | None, gold: str, expected: bool) -> None:
    assert answers_match(pred, gold, "yesno") is expected


def test_yesno_end_to_end() -> None:
    text = "Hamsters are prey animals. Prey are food for predators. So the answer is yes.\n\nQ:"
    assert answers_match(extract_answer(text, "yesno"), "yes", "yesno")
    assert not answers_match(extract_answer("I think yes.", "yesno"), "yes", "yesno")


# --------------------------------------------------------------------------------------------
# numbers (GSM8k)
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is 18.", "18"),
        ("the answer is 18", "18"),
        ("So the answer is 1,000.", "1000"),
        ("the answer is 1,234,567", "1234567"),
        ("the answer is $18.", "18"),
        ("the answer is $1,234.50.", "1234.5"),
        ("the answer is -5.", "-5"),
        ("the answer is -$20", "-20"),
        ("the answer is $-20", "-20"),
        ("the answer is \u22123", "-3"),  # unicode minus
        ("the answer is 5.0", "5"),
        ("the answer is 0.25", "0.25"),
        ("the answer is 0.00", "0"),
        ("the answer is -0", "0"),
        ("the answer is 100%", "100"),
        ("the answer is 3 + 4 = 7.", "7"),  # last number
        ("the answer is 10 - 4", "4"),  # a detached minus is an operator, not a sign
        ("the answer is 10-15 apples", "15"),
        ("the answer is 5 apples and 3 oranges", "3"),
        ("the answer is 42.\n\nQ: How many 100 apples?", "42"),  # cut at the newline
        ("the answer is 42. the answer is 43", "42"),  # before the second trigger
        ("He has 3 apples and 4 pears. The answer is 7", "7"),  # numbers before the trigger
        ("the answer is 12 dollars.", "12"),
        ("the answer is x2", None),  # a digit inside a word is not a number
        ("the answer is twelve", None),
        ("the answer is", None),
        ("18", None),  # no trigger
        ("The total is 18.", None),
        ("", None),
    ],
)
def test_extract_number(text: str, expected: str | None) -> None:
    assert extract_answer(text, "number") == expected


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("1,000", "1000"),
        ("1000", "1000"),
        ("-5", "-5"),
        ("+5", "5"),
        ("$5", "5"),
        ("5.0", "5"),
        ("5.50", "5.5"),
        (".5", "0.5"),
        ("1,000.00", "1000"),
        ("100000000000000000001", "100000000000000000001"),  # no float rounding
        ("  42  ", "42"),
        ("abc", None),
        ("", None),
    ],
)
def test_normalise_number(s: str, expected: str | None) -> None:
    assert normalise_number(s) == expected


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        # docs/defects.md#d-16: a comma in the gold answer must not block a match
        ("1000", "1,000", True),
        ("1,000", "1000", True),
        ("-5", "-5", True),  # docs/defects.md#d-16: the sign is kept
        ("5", "-5", False),
        ("-5", "5", False),
        ("5", "5.0", True),
        ("5.0", "5", True),
        ("18", "$18", True),
        ("0.5", ".5", True),
        ("19", "18", False),
        ("1000", "100", False),
        (None, "18", False),
        ("18", "not a number", False),
    ],
)
def test_match_number(pred: str | None, gold: str, expected: bool) -> None:
    assert answers_match(pred, gold, "number") is expected


def test_number_end_to_end() -> None:
    gold = "1,250"
    gen = "Each box has 250 pens and there are 5 boxes, 250 * 5 = 1250. The answer is $1,250.\n"
    assert answers_match(extract_answer(gen, "number"), gold, "number")
    gen_neg = "The temperature fell from 3 to -7 degrees. The answer is -7."
    assert answers_match(extract_answer(gen_neg, "number"), "-7", "number")
    assert not answers_match(extract_answer(gen_neg, "number"), "7", "number")


def test_unknown_kind_raises() -> None:
    with pytest.raises(ValueError):
        extract_answer("the answer is yes", "letter")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        answers_match("yes", "yes", "letter")  # type: ignore[arg-type]
