"""The complaint detector beside VADER alone, on the same sentences, in the same run.

(a) Amazon review sentences of Hutto & Gilbert 2014 (bench/data/hutto2014/, MIT): a sentence is
    negative when its ten raters' mean is below 0; VADER alone calls it negative when its
    compound score is ≤ -0.05 (VADER's own threshold).
(b) Clout's labelled e-commerce set (bench/data/ecommerce_reviews.tsv, 310 sentences: delivery,
    refund, quality, service and wrong-item complaints, hidden complaints, sarcasm, positives,
    neutrals), with stars where a shopper would have given them.

    python bench/complaint_detector.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.signals.text import analyse, sentiment

DATA = Path(__file__).with_name("data")


def scores(truth: list[bool], predicted: list[bool]) -> tuple[float, float, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def row(name: str, truth: list[bool], predicted: list[bool]) -> str:
    p, r, f = scores(truth, predicted)
    return f"  {name:<26} precision {p:.3f}   recall {r:.3f}   F1 {f:.3f}"


def amazon() -> None:
    lines = (
        (DATA / "hutto2014" / "amazonReviewSnippets_GroundTruth.txt")
        .read_text(encoding="utf-8", errors="replace")
        .splitlines()
    )
    items = [
        (float(parts[1]), parts[2])
        for parts in (line.split("\t") for line in lines)
        if len(parts) >= 3
    ]
    truth = [mean < 0 for mean, _ in items]
    vader = [sentiment(text) <= -0.05 for _, text in items]
    clout = [analyse(text).complaint for _, text in items]
    print(
        f"(a) Amazon review sentences, Hutto & Gilbert 2014: {len(items)} sentences, "
        f"{sum(truth)} negative"
    )
    print(row("VADER alone", truth, vader))
    print(row("Clout complaint detector", truth, clout))


def ecommerce() -> None:
    items = []
    for line in (DATA / "ecommerce_reviews.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, stars, category, text = line.split("\t", 3)
        items.append((label == "1", float(stars) if stars else None, category, text))
    truth = [label for label, *_ in items]
    vader = [sentiment(text) <= -0.05 for *_, text in items]
    vader_stars = [
        (stars <= 2) if stars is not None and stars <= 2 else sentiment(text) <= -0.05
        for _, stars, _, text in items
    ]
    clout = [analyse(text, stars=stars).complaint for _, stars, _, text in items]
    print(f"(b) Clout's labelled e-commerce set: {len(items)} sentences, {sum(truth)} complaints")
    print(row("VADER alone", truth, vader))
    print(row("VADER + stars ≤ 2", truth, vader_stars))
    print(row("Clout complaint detector", truth, clout))
    by_category: dict[str, list[tuple[bool, bool, bool]]] = defaultdict(list)
    for (label, _, category, _), v, c in zip(items, vader, clout, strict=True):
        by_category[category].append((label, v, c))
    print("  right answers by category        VADER   Clout")
    for category, results in sorted(by_category.items()):
        n = len(results)
        vader_right = sum(label == v for label, v, _ in results) / n
        clout_right = sum(label == c for label, _, c in results) / n
        print(f"    {category:<28} {vader_right:6.0%}  {clout_right:6.0%}   (n={n})")


if __name__ == "__main__":
    amazon()
    print()
    ecommerce()
