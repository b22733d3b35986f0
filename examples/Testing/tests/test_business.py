"""1. The business logic: a plain function, tested like any other, with no Lambda in sight."""

import pytest

from app import sentence_case


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", "Hello world"),
        ("HELLO WORLD", "Hello world"),
        ("hElLo WoRlD", "Hello world"),
        ("", ""),
        ("a", "A"),
        ("123abc", "123abc"),  # a sentence that starts with a digit
        ("hello WORLD. how ARE you?", "Hello world. How are you?"),
        ("wait!what?", "Wait!what?"),  # no space: not a new sentence
        ('"so," she said. "WHY?"  no idea!', '"So," she said. "Why?"  No idea!'),
        ("(yes.) no.", "(Yes.) No."),
        ("  leading spaces", "  Leading spaces"),
        ("line one.\nline two.", "Line one.\nLine two."),
        ("ÇA VA? oui. élan vital.", "Ça va? Oui. Élan vital."),
        ("e.g. this", "E.g. This"),  # a known limit: an abbreviation ends a sentence
    ],
)
def test_sentence_case(text: str, expected: str) -> None:
    assert sentence_case(text) == expected


def test_sentence_case_is_idempotent() -> None:
    text = '"so," she said. "WHY?"  no idea!'
    assert sentence_case(sentence_case(text)) == sentence_case(text)
