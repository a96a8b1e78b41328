"""The trained second signal: a small linear classifier that reads a sentence as a complaint or
not, beside the complaint-intent rules in `signals.text`.

Rules only see the cues someone listed; the misses are complaints worded some other way
("the pits", "11.5 hours at the airport", "thanks for nothing") and the false alarms are cues
used happily. A classifier trained on thousands of sentences other people labelled generalises
where new rules did not. It is a logistic regression over word and word-pair features, so
inference is a few dictionary look-ups per word in plain Python: no numpy, no torch, no
download. The weights are `complaint_model.json.gz`, written by
`tools/train_complaint_model.py` (its data, licences and figures are in `complaint_model.md`),
and read once per process.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

MODEL_FILE = Path(__file__).with_name("complaint_model.json.gz")

# Words, numbers and the two punctuation marks that carry tone; an apostrophe stays inside a
# word ("don't", "isn't") so a negation is one token, as the labellers read it.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?]")
_NEGATORS = frozenset(
    {"not", "no", "never", "nothing", "nobody", "none", "without", "hardly", "cannot", "cant"}
)
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")
# Per-sentence reading is bounded like every other reading of a text: a text is already cut to
# `text.MAX_READ` characters, and a sentence longer than this is read in pieces.
SENTENCE_PIECE = 400
# "Seriously?", "Hmm.", "That was quick." are not sentences to judge alone: trained on whole
# sentences, the model reads such openers as complaints ("seriously", "?" and "hmm" lean that
# way), so praise scored as its opener ("Seriously? I love it!" read 0.98). A fragment of fewer
# than FRAGMENT words is read with the sentence after it (the last with the one before) —
# unless it names a problem by itself ("Zipper broke."), which the caller says.
FRAGMENT = 4
_FRAGMENT_CHARS = 60  # no piece this long is read as a fragment, whatever its words
_WORD = re.compile(r"[^\W_]+")
# A word's tone as VADER's lexicon (MIT, the one the rules' tone reads) rates it, −4 … +4; a word
# rated nearer nought than this carries no tone feature.
_TONED = 0.5


@lru_cache(maxsize=1)
def _lexicon() -> dict[str, float]:
    return dict(SentimentIntensityAnalyzer().lexicon)


def _tone(word: str) -> str | None:
    """ "t:-" for a word the lexicon rates negative, "t:+" for a positive one. Trained on some
    twenty thousand sentences, the model has seen "bland", "shoddy" or "soggy" a handful of times
    or never; the lexicon's seven thousand rated words let it read them by their tone, as it reads
    the words it has learned (on the validation split, the model alone: F1 0.71 → 0.77)."""
    valence = _lexicon().get(word)
    if valence is None or abs(valence) < _TONED:
        return None
    return "t:-" if valence < 0 else "t:+"


def tokens(text: str) -> list[str]:
    """The words of `text` as the model reads them: lower case, curly apostrophes made plain."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def features(text: str) -> list[str]:
    """The features of one sentence: each word, each pair of neighbouring words, each word's
    tone (`_tone`), and each word and tone after a negation marked as negated ("not good" is
    not "good"). Used by training and at run time alike, so both read a sentence the same
    way."""
    words = tokens(text)
    found = [f"w:{w}" for w in words]
    found += [f"b:{a} {b}" for a, b in pairwise(words)]
    negated = 0
    for word in words:
        if word in _NEGATORS or word.endswith("n't"):
            negated = 3
            continue
        tone = _tone(word)
        if word in {"!", "?", "but", "and"}:
            negated = 0
        elif negated:
            found.append(f"n:{word}")
            negated -= 1
            if tone:
                found.append(f"n{tone}")
            continue
        if tone:
            found.append(tone)
    return found


@dataclass(frozen=True)
class ComplaintModel:
    """Weights of a logistic regression over `features`, each sentence's features scaled by one
    over the square root of their number (so a long sentence is not a loud one)."""

    bias: float
    weights: dict[str, float]
    threshold: float  # the combination's cut-offs, chosen on the validation split
    cue_threshold: float
    trained_on: str

    def probability(self, sentence: str) -> float:
        """How sure the model is that `sentence` is a complaint, 0 … 1."""
        found = features(sentence)
        if not any(f.startswith("w:") and f[2:] not in "!?" for f in found):
            return 0.0  # punctuation alone ("!!! ???") is no sentence to judge
        weights = self.weights
        # Training counts a feature once however often it occurs (a binary bag of features),
        # so "never, never again" is read here as it was learned.
        total = sum(weights.get(f, 0.0) for f in set(found))
        z = self.bias + total / math.sqrt(len(found))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def strongest(
        self, text: str, *, stands_alone: Callable[[str], bool] | None = None
    ) -> tuple[float, str]:
        """The text's most complaining sentence and the model's probability for it: a review
        that hides one complaint among praise is as much a complaint as that sentence.
        `stands_alone` as for `sentences`."""
        best, which = 0.0, ""
        for sentence in sentences(text, stands_alone=stands_alone):
            p = self.probability(sentence)
            if p > best:
                best, which = p, sentence
        return best, which


def fragment(piece: str) -> bool:
    """Fewer than FRAGMENT words (counted only in a short piece: a long one has enough)."""
    return len(piece) < _FRAGMENT_CHARS and len(_WORD.findall(piece)) < FRAGMENT


def sentences(text: str, *, stands_alone: Callable[[str], bool] | None = None) -> list[str]:
    """`text` cut into sentences: a fragment of fewer than FRAGMENT words joined to the sentence
    after it (the last to the one before) unless `stands_alone` says it names something by
    itself, a sentence longer than SENTENCE_PIECE characters read in pieces (a tail of fewer
    than FRAGMENT words with the piece before it)."""
    whole: list[str] = []
    carried = ""
    for raw in _SENTENCE_END.split(text):
        sentence = raw.strip()
        if not sentence:
            continue
        short = fragment(sentence)
        if short and stands_alone is not None and stands_alone(sentence):
            whole.append(sentence)
            continue
        carried = f"{carried} {sentence}" if carried else sentence
        if not fragment(carried):
            whole.append(carried)
            carried = ""
    if carried:
        if whole:
            whole[-1] = f"{whole[-1]} {carried}"
        else:
            whole.append(carried)
    pieces: list[str] = []
    for sentence in whole:
        cut = [sentence[i : i + SENTENCE_PIECE] for i in range(0, len(sentence), SENTENCE_PIECE)]
        if len(cut) > 1 and fragment(cut[-1]):
            tail = cut.pop()
            cut[-1] += tail
        pieces += cut
    return pieces


def load(path: Path = MODEL_FILE) -> ComplaintModel:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        stored = json.load(handle)
    return ComplaintModel(
        bias=float(stored["bias"]),
        weights={str(k): float(v) for k, v in stored["weights"].items()},
        threshold=float(stored["threshold"]),
        cue_threshold=float(stored["cue_threshold"]),
        trained_on=str(stored.get("trained_on", "")),
    )


@lru_cache(maxsize=1)
def model() -> ComplaintModel:
    """The shipped model, read once per process (a worker reads it on its first text)."""
    return load()
