"""The store languages (Spanish, French, German, Italian, Dutch, Portuguese) on labelled text
nobody on the project wrote, beside VADER alone, in the same run (issue 18).

Clout reads a text in one of those six languages with hand-written cue patterns and, for
French, Dutch and Portuguese, the tone a packaged sentiment lexicon reads
(`service/signals/languages.py`), after telling its language (fastText's identifier; the
function words for a text of a few words); a text in any other language is said to be "not
read". Until now that reading was tested only on
sentences the project wrote. Here, for each language and source:

  items       labelled texts read (a seeded sample, as many negative as positive)
  told as     the share `languages.language(text)` tells as the text's own language, and what
              the rest was told as
  detector    `text.analyse(words, stars=None).complaint`: Clout's verdict on the words alone
  VADER       `text.sentiment(words) <= -0.05`: English-only, the baseline a detector that
              ignores the language would be
  P / R / F1  of "is a complaint" (a negative text is a complaint, a positive one is not)
  texts/s     one core, verdict cache cleared before each detector, every text read once
  not read    complaints whose verdict says the text was not read (verdict.language not in
              `languages.READ`)

then the detector's most frequent misses and some false alarms, so a reader sees what the
cues miss. These sets are held out: nothing was tuned on them.

Sources (one folder each, a README.md with origin, licence, citation and label mapping):
  xed   XED (Öhman et al., COLING 2020; CC BY 4.0): film subtitle lines annotated with
        Plutchik's emotions, projected from English/Finnish onto aligned subtitles in each
        language. Negative = only anger/disgust/fear/sadness; positive = only
        anticipation/joy/trust. Not reviews: a far domain, read for coverage and false alarms.

The data is looked for under bench/data/multilingual/<source>/, then under
../shared/datasets/multilingual/<source>/ (where data taken from public repositories is kept
for the project), or under --data DIR. A source not found is named and skipped.

    python bench/languages.py [--data DIR]
    python bench/languages.py --sample-xed XED/Projections --out DIR   # rebuild the sample
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.complaint_detector import scores
from service.signals import languages, text

ROOT = Path(__file__).resolve().parents[1]
DATA_DIRS = (
    Path(__file__).with_name("data") / "multilingual",
    ROOT.parent / "shared" / "datasets" / "multilingual",
)
LANGUAGES = ("es", "fr", "de", "it", "nl", "pt")
NAMES = {
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
}
SOURCES = {"xed": "XED film subtitles, emotions projected (CC BY 4.0)"}

Item = tuple[bool, str]  # is a complaint, text

# XED's labels: anger 1, anticipation 2, disgust 3, fear 4, joy 5, sadness 6, surprise 7, trust 8.
XED_NEGATIVE = frozenset({1, 3, 4, 6})
XED_POSITIVE = frozenset({2, 5, 8})
SAMPLE_SEED = 18  # issue 18
SAMPLE_PER_SIDE = 500
MIN_WORDS = 4  # a subtitle line of one to three words ("Mayday !") is not a review sentence


def read_sample(path: Path) -> list[Item]:
    """A sample file: `neg|pos <TAB> source labels <TAB> text`, '#' lines are comments."""
    items: list[Item] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, _, words = line.split("\t", 2)
        items.append((label == "neg", words))
    return items


def find_source(source: str, extra: Path | None) -> Path | None:
    roots = ([extra] if extra else []) + list(DATA_DIRS)
    for root in roots:
        folder = root / source
        if any((folder / f"{code}.tsv").exists() for code in LANGUAGES):
            return folder
    return None


def detector(words: str) -> bool:
    return text.analyse(words).complaint


def vader(words: str) -> bool:
    return text.sentiment(words) <= -0.05


DETECTORS: dict[str, Callable[[str], bool]] = {
    "VADER alone (baseline)": vader,
    "Clout's detector": detector,
}


def told_as(items: list[Item], code: str) -> tuple[float, str]:
    told = Counter(languages.language(words) for _, words in items)
    others = ", ".join(
        f"{lang} {n / len(items):.0%}" for lang, n in told.most_common() if lang != code
    )
    return told[code] / len(items), others or "none"


def recall_of(pairs: list[tuple[bool, text.Verdict]]) -> str:
    complaints = [v for t, v in pairs if t]
    found = sum(1 for v in complaints if v.complaint)
    return f"{found}/{len(complaints)}" + (
        f" = {found / len(complaints):.3f}" if complaints else ""
    )


def report(source: str, code: str, items: list[Item]) -> dict[str, tuple[float, ...]]:
    truth = [t for t, _ in items]
    share, others = told_as(items, code)
    print(
        f"{NAMES[code]} ({code}) — {SOURCES[source]}: {len(items)} texts, {sum(truth)} complaints;"
        f" told as {code}: {share:.1%} (the rest: {others})"
    )
    print(f"  {'detector':<26}{'precision':>10}{'recall':>8}{'F1':>7}{'texts/s':>10}")
    figures: dict[str, tuple[float, ...]] = {}
    for name, detect in DETECTORS.items():
        text.forget_readings()
        start = time.perf_counter()
        predicted = [detect(words) for _, words in items]
        rate = len(items) / (time.perf_counter() - start)
        p, r, f = scores(truth, predicted)
        figures[name] = (p, r, f, rate)
        print(f"  {name:<26}{p:>10.3f}{r:>8.3f}{f:>7.3f}{rate:>10,.0f}")
    text.forget_readings()
    verdicts = [text.analyse(words) for _, words in items]
    complaints = [v for t, v in zip(truth, verdicts, strict=True) if t]
    unread = Counter(v.language for v in complaints if v.language not in languages.READ)
    read_as = Counter(v.language for v in complaints)
    print(
        f"  complaints not read: {sum(unread.values())} of {len(complaints)}"
        + (f" ({', '.join(f'{k} {n}' for k, n in unread.most_common())})" if unread else "")
        + f"; complaints read as English (VADER, English cues, model): {read_as['en']}"
    )
    own = [(t, v) for t, v in zip(truth, verdicts, strict=True) if v.language == code]
    other = [(t, v) for t, v in zip(truth, verdicts, strict=True) if v.language != code]
    print(
        f"  detector's recall where told as {code}: {recall_of(own)};"
        f" where told as another language: {recall_of(other)}"
    )
    misses = Counter(
        words[:80] for (t, words), v in zip(items, verdicts, strict=True) if t and not v.complaint
    )
    print(f"  the detector's misses ({sum(misses.values())}), most frequent first:")
    for words, n in misses.most_common(15):
        print(f"    {n:>2}× {words}")
    alarms = [
        (words, v) for (t, words), v in zip(items, verdicts, strict=True) if v.complaint and not t
    ]
    by_english = sum(1 for _, v in alarms if v.language == languages.ENGLISH)
    print(
        f"  the detector's false alarms ({len(alarms)}: {by_english} read as English, i.e. by"
        f" VADER's tone or the English cues; {len(alarms) - by_english} by a store language's"
        " cues or its lexicon's tone), the first 10:"
    )
    for words, v in alarms[:10]:
        why = ", ".join(v.reasons) or ("tone" if v.language in languages.TONED | {"en"} else "—")
        print(f"    [{v.language}: {why}] {words[:80]}")
    print()
    return figures


def summary(rows: list[tuple[str, str, int, float, dict[str, tuple[float, ...]]]]) -> None:
    print("Summary (precision / recall / F1):")
    print(f"  {'source':<8}{'lang':<6}{'items':>6}{'told as':>9}  {'VADER alone':<24}detector")
    for source, code, n, share, figures in rows:
        vp, vr, vf, _ = figures["VADER alone (baseline)"]
        dp, dr, df, _ = figures["Clout's detector"]
        print(
            f"  {source:<8}{code:<6}{n:>6}{share:>9.1%}  "
            f"{vp:.3f} / {vr:.3f} / {vf:.3f}   {dp:.3f} / {dr:.3f} / {df:.3f}"
        )


def sample_xed(projections: Path, out: Path) -> None:
    """Rebuild the XED sample: per language, lines of at least MIN_WORDS words whose labels are
    all negative or all positive, duplicates dropped, SAMPLE_PER_SIDE of each drawn with
    SAMPLE_SEED, written in a shuffled order."""
    out.mkdir(parents=True, exist_ok=True)
    for code in LANGUAGES:
        negative: dict[str, str] = {}
        positive: dict[str, str] = {}
        source = projections / f"{code}-projections.tsv"
        for line in source.read_text(encoding="utf-8").splitlines():
            words, _, labels = line.rpartition("\t")
            words = words.strip()
            if not words or len(words.split()) < MIN_WORDS:
                continue
            parts = labels.replace(" ", "").split(",")
            if not all(x.isdigit() for x in parts):
                continue  # a line the projection split badly
            emotions = frozenset(int(x) for x in parts)
            if emotions and emotions <= XED_NEGATIVE:
                negative.setdefault(words, labels.replace(" ", ""))
            elif emotions and emotions <= XED_POSITIVE:
                positive.setdefault(words, labels.replace(" ", ""))
        draw = random.Random(f"{SAMPLE_SEED}-{code}")
        rows = [("neg", *kv) for kv in draw.sample(sorted(negative.items()), SAMPLE_PER_SIDE)]
        rows += [("pos", *kv) for kv in draw.sample(sorted(positive.items()), SAMPLE_PER_SIDE)]
        draw.shuffle(rows)
        header = (
            f"# XED {source.name}, sampled by bench/languages.py --sample-xed (seed {SAMPLE_SEED}):"
            f" {len(negative)} negative and {len(positive)} positive lines of {MIN_WORDS}+ words"
        )
        lines = [header, "# label<TAB>XED emotions<TAB>text"]
        lines += [f"{label}\t{labels}\t{words}" for label, words, labels in rows]
        (out / f"{code}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{code}: {len(negative)} negative, {len(positive)} positive → {out / f'{code}.tsv'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a folder holding <source>/<lang>.tsv")
    parser.add_argument("--sample-xed", type=Path, help="XED's Projections/ folder to sample")
    parser.add_argument("--out", type=Path, help="where --sample-xed writes xed/<lang>.tsv")
    args = parser.parse_args()
    if args.sample_xed:
        if not args.out:
            parser.error("--sample-xed needs --out")
        sample_xed(args.sample_xed, args.out / "xed")
        return
    # The lexicons are imported on first use (TextBlob brings NLTK): not inside a timing.
    for code in sorted(languages.TONED):
        languages.tone("warm", language_code=code)
    rows = []
    for source in SOURCES:
        folder = find_source(source, args.data)
        if folder is None:
            where = ", ".join(str(d / source) for d in ([args.data] if args.data else []))
            print(
                f"{source}: no data found (looked in {where or ''}"
                f"{', ' if where else ''}{', '.join(str(d / source) for d in DATA_DIRS)}); skipped"
            )
            continue
        print(f"{source}: reading {folder}\n")
        for code in LANGUAGES:
            path = folder / f"{code}.tsv"
            if not path.exists():
                print(f"{source}/{code}: no file; skipped\n")
                continue
            items = read_sample(path)
            figures = report(source, code, items)
            share, _ = told_as(items, code)
            rows.append((source, code, len(items), share, figures))
    if rows:
        summary(rows)


if __name__ == "__main__":
    main()
