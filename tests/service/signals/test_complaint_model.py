"""The trained second signal: what it reads, how it joins the rules, and what it may not do."""

from __future__ import annotations

import gzip
import json

import pytest

from service.signals import complaint_model
from service.signals.text import analyse, combine


@pytest.mark.parametrize("words", ["", "   ", "!!!", "🙂🙂", "\x00\x01", "." * 10_000])
def test_text_without_words_is_no_complaint_and_no_error(words: str) -> None:
    # given a text a review app may send that has no words in it
    # when the detector reads it
    verdict = analyse(words)

    # then it is not a complaint, and nothing claims the model read one
    assert not verdict.complaint
    assert not any("model reads" in s for s in verdict.sentences)


def test_a_complaint_without_any_listed_cue_is_caught_by_the_model() -> None:
    # given a plain-vocabulary complaint no rule lists ("dull"), hidden under five stars
    words = "Pretty dull, honestly."

    # when the rules alone and the shipped detector read it
    rules_only = analyse(words, stars=5, second_signal=False)
    shipped = analyse(words, stars=5)

    # then the rules miss it and the detector flags it, saying why in the agent's words
    assert not rules_only.complaint
    assert shipped.complaint
    assert shipped.hidden_complaint
    assert shipped.model is not None
    assert shipped.model >= 0.9
    assert f"the model reads this as a complaint: {shipped.model:.2f}" in shipped.sentences


def test_a_happy_sentence_is_read_as_happy() -> None:
    verdict = analyse("Absolutely love it, the colours are gorgeous and it fits perfectly.")

    assert verdict.model is not None
    assert verdict.model < 0.5
    assert not verdict.complaint


def test_a_long_review_is_as_much_a_complaint_as_its_worst_sentence() -> None:
    # given praise with one complaint in the middle
    praise = "Lovely colours. Great packaging. Friendly note in the box. "
    review = praise + "Sadly the handle is dull and lifeless. " + praise

    # when the model reads the whole review and that sentence alone
    model = complaint_model.model()
    whole, sentence = model.strongest(review)

    # then the review scores as its complaining sentence, which it names
    assert sentence.startswith("Sadly the handle")
    assert whole == pytest.approx(model.probability(sentence))


def test_the_rules_are_kept_when_the_model_agrees_even_a_little() -> None:
    assert combine(probability=0.2, rules=True, threshold=0.9, cue_threshold=0.1)
    assert not combine(probability=0.05, rules=True, threshold=0.9, cue_threshold=0.1)
    assert combine(probability=0.95, rules=False, threshold=0.9, cue_threshold=0.1)
    assert not combine(probability=0.6, rules=False, threshold=0.9, cue_threshold=0.1)


def test_low_stars_are_never_silenced_by_a_happy_model() -> None:
    verdict = analyse("Absolutely wonderful, best purchase ever!", stars=1)

    assert verdict.model is not None
    assert verdict.model < 0.5
    assert verdict.complaint


def test_the_model_is_read_once_per_process() -> None:
    assert complaint_model.model() is complaint_model.model()


def test_the_shipped_model_says_what_it_was_trained_on() -> None:
    with gzip.open(complaint_model.MODEL_FILE, "rt", encoding="utf-8") as handle:
        stored = json.load(handle)

    assert "Hutto & Gilbert 2014 (MIT)" in stored["trained_on"]
    assert 0 < stored["cue_threshold"] <= stored["threshold"] < 1
    assert complaint_model.MODEL_FILE.with_name("complaint_model.md").is_file()
