"""The complaint detector: what VADER misses, and what it must not invent."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from service.cli import main
from service.signals.text import analyse, parse_line


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Where is my order??", "late_delivery"),
        ("Never again.", "never_again"),
        ("I want my money back.", "refund"),
        ("It arrived broken.", "broken"),
        ("You sent me the wrong size.", "wrong_item"),
        ("Emailed support three times, no reply.", "no_reply"),
        ("Still waiting for my parcel, two weeks late.", "late_delivery"),
        ("Great, another cracked mug. Just what I needed.", "broken"),
    ],
)
def test_plain_complaints_vader_misses_are_caught(text: str, reason: str) -> None:
    verdict = analyse(text)

    assert verdict.complaint
    assert reason in verdict.reasons
    assert verdict.sentences


@pytest.mark.parametrize(
    "text",
    [
        "Love it! Arrived quickly, no complaints.",
        "Arrived on time and works perfectly.",
        "Nothing broken, well packed, lovely mugs.",
        "I will definitely be ordering again.",
        "Can't recommend this shop enough.",
        "The colour is exactly as pictured.",
    ],
)
def test_happy_texts_are_not_complaints(text: str) -> None:
    assert not analyse(text).complaint


def test_a_five_star_review_can_hide_a_complaint() -> None:
    verdict = analyse(
        "Beautiful mug, but it took three weeks to arrive and the box was crushed.", stars=5
    )

    assert verdict.complaint
    assert verdict.hidden_complaint
    assert "the 5-star rating hides a complaint" in verdict.sentences


def test_a_one_star_review_with_glowing_text_is_still_a_signal() -> None:
    verdict = analyse("Absolutely wonderful, best purchase ever!", stars=1)

    assert verdict.complaint
    assert verdict.disagreement
    assert "rating and text disagree" in verdict.sentences


def test_severity_rises_with_stronger_complaints() -> None:
    mild = analyse("The lid is a bit loose.")
    strong = analyse("Arrived broken, nobody answers my emails, I want a refund. Never again!")

    order = ["none", "low", "normal", "high"]
    assert order.index(strong.severity) > order.index(mild.severity)
    assert strong.severity == "high"


def test_stars_and_text_are_read_from_a_tab_separated_line() -> None:
    assert parse_line("4\tNice mug") == ("Nice mug", 4.0)
    assert parse_line("Nice mug") == ("Nice mug", None)
    assert parse_line("great\tvalue") == ("great\tvalue", None)


def test_clout_text_prints_one_verdict_a_line() -> None:
    lines = "1\tNever again.\nLovely mug, arrived early.\n\n5\tGreat, but it arrived cracked\n"

    result = CliRunner().invoke(main, ["text"], input=lines)

    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.output.splitlines()]
    assert [v["complaint"] for v in verdicts] == [True, False, True]
    assert verdicts[0]["severity"] == "high"
    assert verdicts[2]["hidden_complaint"] is True
    assert all({"complaint", "severity", "reasons"} <= set(v) for v in verdicts)
