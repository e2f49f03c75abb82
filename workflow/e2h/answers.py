"""Answer extraction for chain-of-thought generations (docs/scoring.md#cot-generation,
docs/defects.md#d-16).

One extraction for every method (ICL-CoT and LoRA-CoT alike):

1. lowercase, strip whitespace and '.';
2. the trigger ``the answer is`` must occur, otherwise the generation is invalid (scored wrong);
   keep the text after its first occurrence and before a second one, if any;
3. cut at the first newline;
4. strip whitespace and '.';
5. yes/no: the segment must be exactly ``yes`` or ``no``;
   numbers: the *last* number in the segment (sign, thousands separators and a decimal part
   allowed), with commas and ``$`` removed, compared numerically with the gold answer normalised the
   same way. The original compared strings against un-normalised gold answers, so gold answers with
   commas never matched and negative answers lost their sign (docs/defects.md#d-16).

``extract_answer`` returns ``None`` when no answer of the requested kind can be read (missing
trigger, empty segment, a yes/no segment that is not exactly yes/no, no number); callers count
``None`` as an invalid generation, which is always wrong.
"""

from __future__ import annotations

import re
import string
from decimal import Decimal, InvalidOperation
from typing import Literal

AnswerKind = Literal["yesno", "number"]

TRIGGER = "the answer is"
_STRIP_CHARS = string.whitespace + "."
_YESNO = ("yes", "no")

# A number: optional sign and '$' (either order), then either digits grouped by thousands
# separators or plain digits, then an optional decimal part; or a bare decimal like ".5".
# The look-behind stops a sign or digit run from starting inside a word or another number,
# so "10-15" yields 10 and 15 (not -15) and "x2" yields nothing. A sign must touch the digits
# (or a '$'), so "10 - 4" yields 4, not -4.
_NUMBER_RE = re.compile(
    r"(?<![\w.])"
    r"(?:[-+]\$?|\$\s?[-+]?)?"
    r"(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
)
# Unicode minus signs and dashes a model may emit in front of a number.
_MINUS_TRANSLATION = str.maketrans({"\u2212": "-", "\u2013": "-", "\u2014": "-"})


def _segment(text: str) -> str | None:
    """Steps 1–4 of docs/scoring.md#cot-generation: the stripped text after the trigger, or None
    without a trigger."""
    pred = text.lower().strip(_STRIP_CHARS)
    if TRIGGER not in pred:
        return None
    # split()[1] is the text between the first and (if any) second trigger.
    pred = pred.split(TRIGGER)[1]
    pred = pred.split("\n")[0]
    return pred.strip(_STRIP_CHARS)


def _to_decimal(number: str) -> Decimal | None:
    cleaned = re.sub(r"[\s,$]", "", number).lstrip("+")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _canonical(value: Decimal) -> str:
    """A plain decimal string without exponent or trailing zeros; "-0" becomes "0"."""
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def normalise_number(s: str) -> str | None:
    """The last number in ``s`` in canonical form ("1,000.50" → "1000.5", "$-5" → "-5").

    Used for both predictions and gold answers so that they compare numerically: commas and
    ``$`` are removed, the sign is kept, and trailing decimal zeros do not matter.
    Returns None when ``s`` holds no number.
    """
    matches = _NUMBER_RE.findall(s.translate(_MINUS_TRANSLATION))
    if not matches:
        return None
    value = _to_decimal(matches[-1])
    return None if value is None else _canonical(value)


def extract_answer(text: str, kind: AnswerKind) -> str | None:
    """The answer a CoT generation gives after "the answer is", or None if it gives none.

    ``kind="yesno"`` returns "yes" or "no"; ``kind="number"`` returns the canonical form of
    the last number in the answer segment (see ``normalise_number``).
    """
    segment = _segment(text)
    if segment is None or segment == "":
        return None
    if kind == "yesno":
        return segment if segment in _YESNO else None
    if kind == "number":
        return normalise_number(segment)
    raise ValueError(f"unknown answer kind {kind!r}; expected 'yesno' or 'number'")


def answers_match(pred: str | None, gold: str, kind: AnswerKind) -> bool:
    """Whether an extracted prediction equals the gold answer (None is always wrong).

    Gold answers are normalised like predictions: yes/no lowercased and stripped; numbers
    compared numerically after removing commas and ``$`` (so "1,000" == "1000", "5.0" == "5").
    """
    if pred is None:
        return False
    if kind == "yesno":
        return pred.lower().strip(_STRIP_CHARS) == str(gold).lower().strip(_STRIP_CHARS)
    if kind == "number":
        gold_norm = normalise_number(str(gold))
        pred_norm = normalise_number(pred)
        if gold_norm is None or pred_norm is None:
            return False
        return Decimal(gold_norm) == Decimal(pred_norm)
    raise ValueError(f"unknown answer kind {kind!r}; expected 'yesno' or 'number'")
