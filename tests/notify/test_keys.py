"""Dedupe keys: deterministic, distinct in every part, within the column, tokens kept out."""

from __future__ import annotations

import pytest

from notify.keys import MAX_KEY, build_key, message_key, recipient_id

BASE = dict(
    obligation_id=12,
    stage="chase",
    seq="chase-2024-04-01@2024-03-29",
    channel="email#3",
    recipient="u001.liaison@example.gov.cn",
)


def test_it_builds_the_same_key_for_the_same_send() -> None:
    assert (
        build_key(**BASE)
        == build_key(**dict(BASE))
        == (  # type: ignore[arg-type]
            "o12:chase:chase-2024-04-01@2024-03-29:email#3:u001.liaison@example.gov.cn"
        )
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("obligation_id", 13),
        ("stage", "office"),
        ("seq", "chase-2024-04-02@2024-03-29"),
        ("channel", "email#4"),
        ("recipient", "u001.head@example.gov.cn"),
    ],
)
def test_it_changes_the_key_when_any_part_changes(field: str, value: object) -> None:
    assert build_key(**{**BASE, field: value}) != build_key(**BASE)  # type: ignore[arg-type]


def test_it_hashes_overlong_keys_to_fit_the_column() -> None:
    long = {**BASE, "recipient": "x" * 390 + "@example.gov.cn"}
    other = {**BASE, "recipient": "x" * 390 + "@example.gov.co"}
    key = build_key(**long)  # type: ignore[arg-type]
    assert len(key) <= MAX_KEY and key != build_key(**other)  # type: ignore[arg-type]


def test_it_keeps_robot_tokens_out_of_keys() -> None:
    rid = recipient_id("dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=SECRET")
    assert "SECRET" not in rid and rid == recipient_id(
        "dingtalk", url="https://oapi.dingtalk.com/robot/send?access_token=SECRET"
    )
    assert recipient_id("email", address=" A@Example.gov.cn ") == "a@example.gov.cn"


def test_it_names_a_group_message_by_its_set_of_keys() -> None:
    assert message_key(["a"]) == "a"
    assert message_key(["a", "b"]) == message_key(["b", "a"]) != message_key(["a", "c"])
