"""Parsing generated questionnaire answers."""

from __future__ import annotations

import pytest

from psyval.survey.parsing import parse_answer

LABELS = ("Not like me at all", "Not like me", "A little like me", "Somewhat like me", "Like me", "Very much like me")


@pytest.mark.parametrize(
    ("text", "shown", "point"),
    [
        ("4", 4, None),
        ("5.", 5, None),
        ("  (3) because ...", 3, None),
        ("<think>Maybe 2? No.</think> 6", 6, None),
        ("<THINK>unfinished thoughts 2", None, None),
        ("\u201cVery much like me\u201d", None, 6),
        ("NOT LIKE ME AT ALL!", None, 1),
        ("Not like me.", None, 2),
        ("I'd say it is somewhat like me", None, 4),
        ("On a scale of 1 to 6, I pick 4", 4, None),
        ("My answer: 3/6", 3, None),
        ("\uff15", 5, None),
    ],
)
def test_parsed_answers(text, shown, point):  # type: ignore[no-untyped-def]
    parsed = parse_answer(text, 6, LABELS)
    assert parsed.shown == shown
    assert parsed.point == point
    expected_status = "ok" if shown is not None or point is not None else "unparsed"
    assert parsed.status == expected_status


@pytest.mark.parametrize("text", ["", "hello there", "3.5", "12", "between 2 and 5", "7"])
def test_unparsed_answers(text):  # type: ignore[no-untyped-def]
    parsed = parse_answer(text, 6, LABELS)
    assert parsed.status == "unparsed"
    assert parsed.shown is None
    assert parsed.point is None


@pytest.mark.parametrize(
    "text",
    ["As an AI, I don't have personal values.", "I cannot answer that question.", "I\u2019m an AI language model."],
)
def test_refusals_counted_separately(text):  # type: ignore[no-untyped-def]
    assert parse_answer(text, 6, LABELS).status == "refused"
