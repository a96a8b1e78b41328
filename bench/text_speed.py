"""How many short reviews a second the complaint detector reads on one core, beside its own
baseline in the same process: the same detector searching every cue pattern in every text
(`prefilter.every_pattern`, as before the filter) and VADER alone.

Short reviews: the UCI sentences (restaurant, product and movie reviews) when their files are in
`bench/data/uci_sentiment/` (only their words are read here, not their labels), else the Hutto
& Gilbert Amazon snippets that ship in the repository. The two readings alternate, round after
round, each from a cold start (no verdict remembered), and the best round of each is reported:
the machine's other work slows a round, never speeds one up.

    python bench/text_speed.py [--rounds 5] [--set yelp]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.complaint_detector import DATA, held_out
from service.signals import complaint_model, prefilter, text


def short_reviews(name: str) -> tuple[str, list[str]]:
    if name != "hutto":
        path = held_out("uci_sentiment", f"{name}_labelled.txt")
        if path is not None:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            return f"UCI {name}", [line.rpartition("\t")[0].strip() for line in lines if line]
        print(f"(bench/data/uci_sentiment/{name}_labelled.txt not found: the Hutto snippets)")
    lines = (
        (DATA / "hutto2014" / "amazonReviewSnippets_GroundTruth.txt")
        .read_text(encoding="utf-8", errors="replace")
        .splitlines()
    )
    return "Hutto & Gilbert Amazon snippets", [
        line.split("\t")[2] for line in lines if line.count("\t") >= 2
    ]


def rate(read: Callable[[str], object], reviews: list[str]) -> float:
    text.forget_readings()
    start = time.perf_counter()
    for words in reviews:
        read(words)
    return len(reviews) / (time.perf_counter() - start)


def detector(words: str) -> object:
    return text.analyse(words, stars=None)


def every_pattern(words: str) -> object:
    with prefilter.every_pattern():
        return text.analyse(words, stars=None)


FIRST_TEXT = """
import sys, time
sys.path.insert(0, {root!r})
from service.signals import complaint_model, text
complaint_model.model()
start = time.perf_counter()
if {prepared}:
    text.prepare()
ready = time.perf_counter()
text.analyse("Where is my order?? It's been three weeks.")
print(ready - start, time.perf_counter() - ready)
"""


def first_text(*, prepared: bool) -> tuple[float, float]:
    """A fresh process's first reading (after the model is read, as a worker has it), with and
    without `text.prepare()` before it: the seconds preparing took, and the first text."""
    root = str(Path(__file__).resolve().parents[1])
    code = FIRST_TEXT.format(root=root, prepared=prepared)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--set", default="yelp", choices=["yelp", "amazon_cells", "imdb", "hutto"])
    args = parser.parse_args()
    title, reviews = short_reviews(args.set)
    complaint_model.model()  # read once per process, as a worker does, before any timing
    text.analyse("warm up: the patterns compiled, VADER's lexicon read")
    readings: dict[str, Callable[[str], object]] = {
        "every pattern searched (baseline)": every_pattern,
        "patterns filtered (shipped)": detector,
        "VADER alone": text.sentiment,
    }
    best = dict.fromkeys(readings, 0.0)
    for _ in range(args.rounds):
        for name, read in readings.items():
            best[name] = max(best[name], rate(read, reviews))
    words = sum(len(r.split()) for r in reviews) / len(reviews)
    print(
        f"text speed: {title}, {len(reviews):,} texts of {words:.1f} words on average;"
        f" best of {args.rounds} rounds, the readings alternating"
    )
    baseline = best["every pattern searched (baseline)"]
    for name, figure in best.items():
        print(f"  {name:<36}{figure:>10,.0f} texts/s{figure / baseline:>8.2f}× the baseline")
    cold = min(first_text(prepared=False)[1] for _ in range(3))
    prepared = min(first_text(prepared=True) for _ in range(3))
    print(
        f"first text in a fresh process: {cold * 1000:,.0f} ms; after text.prepare() (as a"
        f" worker does at start, {prepared[0] * 1000:,.0f} ms): {prepared[1] * 1000:,.1f} ms"
    )


if __name__ == "__main__":
    main()
