"""Shared prompt helpers of the respondent backends."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from psyval.errors import PsyvalError
from psyval.respondents.prompting import chat_template_sha256, check_options


def test_chat_template_hash() -> None:
    template = "{{ messages }}"
    expected = hashlib.sha256(template.encode()).hexdigest()
    assert chat_template_sha256(SimpleNamespace(chat_template=template)) == expected
    assert chat_template_sha256(SimpleNamespace(chat_template=None)) is None
    assert chat_template_sha256(SimpleNamespace()) is None


@pytest.mark.parametrize("options", [[], ["1", "2", "1"]])
def test_check_options_rejects(options: list[str]) -> None:
    with pytest.raises(PsyvalError, match=r"invalid answer options .*: give at least one option and no repeats"):
        check_options(options)


def test_check_options_accepts_distinct() -> None:
    check_options(["1", "2", "3"])
