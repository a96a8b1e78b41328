"""The trained second signal: what it reads, how it joins the rules, and what it may not do."""

from __future__ import annotations

import gzip
import json
import math

import pytest

from service.signals import complaint_model
from service.signals.text import analyse, combine, model_reading


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
    words = "Dull and lifeless, honestly."

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


def test_a_word_the_model_never_trained_on_is_read_by_its_tone() -> None:
    # given words no training sentence held, rated by VADER's lexicon as sour and as sweet
    model = complaint_model.model()
    assert "w:yucky" not in model.weights
    assert "w:scrumptious" not in model.weights

    # when the model reads them, and the sweet one negated
    sour = model.probability("The strap feels yucky.")
    sweet = model.probability("The strap feels scrumptious.")
    sweet_denied = model.probability("The strap does not feel scrumptious.")

    # then it reads the sour word as a complaint by its tone, the sweet one as none, and the
    # sweet one denied as a complaint again
    assert sour >= model.threshold
    assert sweet < 0.5
    assert sweet_denied >= model.threshold
    assert "nt:+" in complaint_model.features("The strap does not feel scrumptious.")


def test_the_model_may_be_sure_by_any_sentence_read_without_its_hedges() -> None:
    # given praise the model misreads (a negated phrase the rules know) before a complaint
    model = complaint_model.model()
    words = "Can't recommend the old version enough. What a dreadful and dismal purchase."

    # when the model reads it as the detector does
    probability, sentence, alone = model_reading(model, words)

    # then the praise, read without its hedge, carries nothing, and the complaint carries the
    # model's own reading
    assert probability > alone
    assert sentence == "What a dreadful and dismal purchase."
    assert alone >= model.threshold


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


@pytest.mark.parametrize(
    "words",
    [
        "Seriously? I love it!",
        "Hmm. Fits well and looks great.",
        "That was quick. Thanks, I'm in!",
    ],
)
def test_a_short_opener_does_not_make_praise_a_complaint(words: str) -> None:
    # given praise that opens with a word or two ("Seriously?", "Hmm.")
    # when the detector reads it
    verdict = analyse(words)

    # then the opener is read with the sentence after it, not judged alone on next to nothing
    assert verdict.model is not None
    assert verdict.model < 0.5
    assert not verdict.complaint


@pytest.mark.parametrize(
    ("words", "reason"),
    [
        ("Zipper broke. Otherwise I love the colour and the fit is perfect.", "broken"),
        ("Wrong size. Everything else was lovely and beautifully packed.", "size_fit"),
        ("Item missing. Everything else was lovely and beautifully packed.", "missing_item"),
        ("Love the colour and the fit is perfect. Zipper broke.", "broken"),
    ],
)
def test_a_short_complaint_beside_praise_is_read_on_its_own(words: str, reason: str) -> None:
    # given a complaint of two words that names a problem, beside a sentence of praise
    # when the detector reads it under five stars
    verdict = analyse(words, stars=5)

    # then it is not drowned by the praise it is written next to: a hidden complaint
    assert verdict.hidden_complaint
    assert reason in verdict.reasons


def test_a_long_sentence_leaves_no_tail_of_a_word_or_two_to_be_read_alone() -> None:
    # given one run-on sentence of praise a little over a piece's length
    praise = "and I really enjoyed wearing it to work " * 10 + "so much."
    assert len(praise) == complaint_model.SENTENCE_PIECE + len("so much.")

    # then its pieces each have words enough to be read, and it is no complaint
    pieces = complaint_model.sentences(praise)
    assert all(len(p.split()) >= complaint_model.FRAGMENT for p in pieces)
    assert not analyse(praise).complaint


def test_a_fragment_is_read_with_its_neighbour_and_a_sentence_stays_whole() -> None:
    assert complaint_model.sentences("Seriously? I love it!") == ["Seriously? I love it!"]
    assert complaint_model.sentences("It broke after a week. I want a refund.") == [
        "It broke after a week.",
        "I want a refund.",
    ]
    assert complaint_model.sentences("Lovely thing, works well. Meh.") == [
        "Lovely thing, works well. Meh."
    ]
    assert complaint_model.sentences("Awful!") == ["Awful!"]


def test_a_repeated_word_is_read_as_training_counted_it() -> None:
    # given a sentence that repeats its words for emphasis
    model = complaint_model.model()
    words = "Never, never, never buying here again."
    found = complaint_model.features(words)
    assert len(set(found)) < len(found)

    # when the model reads it
    probability = model.probability(words)

    # then each feature counts once, as in training's bag of features (no train/serve skew)
    z = model.bias + sum(model.weights.get(f, 0.0) for f in set(found)) / len(found) ** 0.5
    assert probability == pytest.approx(1 / (1 + math.exp(-z)))


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
