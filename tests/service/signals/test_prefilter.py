"""The cue patterns' filter: it may only make the detector faster, never read a text otherwise."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.signals import prefilter, text
from service.signals.prefilter import Alternatives, every_pattern, needles

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "bench" / "data"
EVERY_ALTERNATIVE = [p for _, firm, weak in text.INTENTS.values() for p in firm + weak] + list(
    text.NEGATED
)


def labelled_sentences() -> list[str]:
    """Every sentence of the repository's labelled sets, and every string the detector's own
    tests read (the attacks' probes among them)."""
    sentences = [
        line.split("\t")[2]
        for line in (DATA / "hutto2014" / "amazonReviewSnippets_GroundTruth.txt")
        .read_text(encoding="utf-8", errors="replace")
        .splitlines()
        if line.count("\t") >= 2
    ]
    for name in ("ecommerce_reviews.tsv", "complaint_reasons.tsv", "order_notes.tsv"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                sentences.append(line.rpartition("\t")[2])
    for test_file in ("test_text.py", "test_events.py", "test_refunds.py", "test_languages.py"):
        tree = ast.parse((Path(__file__).parent / test_file).read_text(encoding="utf-8"))
        sentences += [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and len(node.value) > 2
        ]
    return sentences


def test_every_sentence_on_record_reads_the_same_with_the_filter_and_without() -> None:
    # Given the ~5,000 sentences the project has labelled or tested the detector on
    sentences = labelled_sentences()
    assert len(sentences) > 4_000

    # When each is read with the filter, and again searching every pattern
    text.forget_readings()
    filtered = [(text.without_no_problem(s), text.cues(s)) for s in sentences]
    text.forget_readings()
    with every_pattern():
        whole = [(text.without_no_problem(s), text.cues(s)) for s in sentences]
    text.forget_readings()

    # Then the no-problem pass and the cues found are the same for every one
    differ = [s for s, a, b in zip(sentences, filtered, whole, strict=True) if a != b]
    assert differ == []
    # (and the filter is doing something: most sentences hold a cue's words somewhere)
    assert sum(1 for _, cues in filtered if cues) > len(sentences) / 4


def test_every_cue_pattern_has_words_to_look_for() -> None:
    # A pattern with no needles is searched in every text: fine for correctness, but one added
    # unnoticed would quietly cost every reading. Each of today's has some.
    assert [p for p in EVERY_ALTERNATIVE if needles(p) is None] == []


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bmade (?:me|us) sick\b", {"made me sick", "made us sick"}),
        (r"food pois[oe]ning", {"food poisoning", "food poisening"}),
        (r"\b(?:arrived|came) (?:\w+ )?broken", {"broken"}),
        (r"(?<!not )\bstale\b", {"stale"}),
        (r"\b(?:waited|waiting)(?: for)? \d+ (?:weeks|days)", {"waited", "waiting"}),
        (r"(?:rash|hives)+\b", {"rash", "hives"}),
        (r"(?:rash|hives)+ after", {" after"}),  # the longer word is the rarer one
    ],
)
def test_the_words_a_pattern_needs_are_read_off_it(pattern: str, expected: set[str]) -> None:
    found = needles(pattern)

    assert found is not None
    # every needle named is one the pattern needs: the expected ones, or longer runs of them
    assert all(any(e in n for e in expected) for n in found)
    assert all(any(e in n or n in e for n in found) for e in expected)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\w+",  # any word: nothing to look for
        r"(?i:broken)",  # any case: the lower-cased text's words are not the pattern's
        r"(?i:broken) b",  # and the part that could be looked for is too short
        r"ab|cd",  # two letters are in most texts: not worth a look
        r"(?:broken)?",  # may match nothing at all
        r"\d{3}-\d{4}",
    ],
)
def test_a_pattern_with_nothing_firm_to_look_for_is_always_searched(pattern: str) -> None:
    assert needles(pattern) is None
    alternatives = Alternatives([pattern])
    assert alternatives.found("1ab 555-1234 BROKEN broken box")
    assert (
        alternatives.sub("_", "1ab 555-1234 BROKEN broken box") != "1ab 555-1234 BROKEN broken box"
    )


def test_alternatives_answer_as_the_whole_pattern_would() -> None:
    # Given alternatives where the first must win at a position, and a later one that starts
    # inside an earlier one's match
    alternatives = Alternatives([r"arrived broken", r"arrived \w+", r"broken", r"ken lid"])
    whole = re.compile(r"(?:arrived broken)|(?:arrived \w+)|(?:broken)|(?:ken lid)")

    for words in (
        "it arrived broken",
        "it arrived late",
        "broken lid",
        "fine",
        "arrived  x",
        "arrived broken lid, broken lid and arrived late",
    ):
        assert alternatives.found(words) == bool(whole.search(words))
        assert alternatives.sub(" ", words) == whole.sub(" ", words)


def test_a_text_calling_for_many_alternatives_reads_as_the_whole_pattern_does() -> None:
    # Given twelve alternatives, and a text that holds every one's words (an attack wrote such
    # a text to make the no-problem pass search each alternative over the whole text)
    words = [f"word{n:02d}" for n in range(12)]
    alternatives = Alternatives([rf"\b{w}\b[^.!?]{{0,20}}?\bfixed" for w in words])
    whole = re.compile("|".join(rf"(?:\b{w}\b[^.!?]{{0,20}}?\bfixed)" for w in words))
    hostile = " ".join(f"problem {w} fixed" for w in words * 20)

    # Then it answers as the whole alternation does
    assert alternatives.sub(" ", hostile) == whole.sub(" ", hostile)
    assert alternatives.found(hostile)


def test_a_finder_knows_which_words_of_many_patterns_a_text_holds() -> None:
    finder = prefilter.Finder(["broken", "refund", "late"])

    assert finder.present("arrived broken, want a refund") == {"broken", "refund"}
    assert finder.present("all good") == frozenset()
    assert prefilter.Finder([]).present("anything") == frozenset()
    with every_pattern():
        assert finder.present("all good") == {"broken", "refund", "late"}


@pytest.mark.e2e
@pytest.mark.fuzz
@pytest.mark.parametrize("pattern", EVERY_ALTERNATIVE, ids=range(len(EVERY_ALTERNATIVE)))
def test_a_text_made_to_match_a_pattern_holds_its_needles(pattern: str) -> None:
    # Texts that hypothesis writes to match one alternative: each must hold a needle read off
    # it, and the filtered search must find what the whole pattern finds.
    wanted = needles(pattern)
    whole = Alternatives([pattern])

    @settings(
        max_examples=15,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.from_regex(re.compile(pattern)))
    def holds(words: str) -> None:
        if not re.search(pattern, words):
            return  # a look-around hypothesis could not honour
        assert wanted is None or any(n in words for n in wanted)
        assert whole.found(words)
        assert whole.sub(" ", words) == re.sub(pattern, " ", words)

    holds()
