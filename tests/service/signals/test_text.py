"""The complaint detector: what VADER misses, and what it must not invent."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from service.cli import main
from service.signals.text import (
    _SARCASM,
    INTENTS,
    MAX_READ,
    NEGATED,
    analyse,
    parse_line,
    read_part,
)


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
    assert "rating and text disagree: check the rating" in verdict.sentences
    assert verdict.severity == "low"


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


# --- bounded cost: what one text can make the detector do ------------------------------------

ADVERSARIAL = ["problem ", "fixed ", "not bad ", "the shit ", "great, just ", "but the ", "no "]


def _unbounded_repeats(pattern: str) -> list[str]:
    """`*` or `+` in a pattern (a `{m,n}` bound is fine): an unbounded repeat followed by more
    pattern is what makes a search backtrack over the rest of the text at every start."""
    return re.findall(r"(?<!\\)[*+]", pattern)


def test_every_detector_pattern_repeats_a_bounded_number_of_times() -> None:
    patterns = [p for _, (_, group) in INTENTS.items() for p in group] + list(NEGATED)
    patterns.append(_SARCASM.pattern)

    assert [p for p in patterns if _unbounded_repeats(p)] == []


@pytest.mark.parametrize("word", ADVERSARIAL)
def test_a_text_far_beyond_the_limit_is_read_by_its_start_and_end(word: str) -> None:
    # given 100 KB of one cue word, and the same ending in a real complaint
    flood = word * (100_000 // len(word))
    signed_off = flood + " It broke after two days and I want my money back."

    # when the detector reads them
    verdict = analyse(signed_off, stars=4)

    # then it read a bounded part (the same verdict as for that part alone) and the complaint
    # at the end was not lost
    assert len(read_part(flood)) <= MAX_READ + 3
    assert analyse(flood) == analyse(read_part(flood))
    assert "refund" in verdict.reasons
    assert verdict.hidden_complaint


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from([*ADVERSARIAL, "!", "?", ". ", "\n", "love "]), max_size=40),
    repeat=st.integers(min_value=1, max_value=4000),
)
def test_any_long_text_reads_as_its_bounded_part(words: list[str], repeat: int) -> None:
    text = "".join(words) * repeat
    assert len(read_part(text)) <= MAX_READ + 3
    assert analyse(text).as_dict() == analyse(read_part(text.strip())).as_dict()
