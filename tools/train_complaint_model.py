"""Train the complaint detector's second signal and choose how it combines with the rules.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/python tools/train_complaint_model.py [--hutto ../shared/datasets/hutto2014]
        [--labels desk_labels.jsonl]   # from `clout text export-labels`: a store's own cases
        [--train-labels a.jsonl] [--validation-labels b.jsonl]   # already split by hand

Data (every source's licence allows shipping the weights; see service/signals/complaint_model.md):
  the four sets of Hutto & Gilbert 2014 (MIT): Amazon review sentences, tweets, movie-review
  snippets and New York Times editorial snippets, ~23,700 sentences rated −4…+4 by ten or more
  people; a sentence is a complaint when the raters' mean is below 0. 15 % of each set (seeded)
  is the validation split, never trained on; Clout's own e-commerce set
  (bench/data/ecommerce_reviews.tsv) joins the validation split, so the thresholds are chosen on
  shop-like sentences too. The UCI sets in bench/data/uci_sentiment/ are the benchmark's
  held-out sets: this script never opens them.
  --labels: what a store's support desk labelled (`clout text export-labels`): cases closed as
  "not a complaint" and cases resolved as real ones, the customers' words. Split like the rest
  (15 % joins the validation split the thresholds are chosen on). They are the store's own
  customers' words: a model trained on them is that store's, not one to ship with Clout.
  --train-labels / --validation-labels: labelled texts in the same format, already split (e.g. by
  review, bench/data/fine_food_sentences/rebuild.py): the first all train, the second all join
  the validation split the thresholds are chosen on.

Writes service/signals/complaint_model.json.gz (weights and the two thresholds) and prints the
validation figures for the model card. One core, about a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scipy.sparse import csr_matrix, diags  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from service.signals import complaint_model, text  # noqa: E402

HUTTO_SETS = {
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "tweets": "tweets_GroundTruth.txt",
    "movies": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}
SEED = 18
VALIDATION_SHARE = 0.15
# A weight this small moves no verdict; dropping it keeps the shipped file small.
PRUNE = 0.02
PRECISION_FLOOR = 0.85
# The thresholds are chosen on what the detector reads: reviews and customers' messages. Movie
# plots and editorials teach the model words, but their "negative" is not a complaint.
REVIEW_LIKE = ("amazon", "tweets")

Item = tuple[str, bool]  # sentence, is a complaint


def read_hutto(folder: Path, name: str) -> list[Item]:
    items: list[Item] = []
    path = folder / HUTTO_SETS[name]
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[2].strip():
            items.append((parts[2].strip(), float(parts[1]) < 0))
    return items


def read_ecommerce() -> list[tuple[str, bool, float | None]]:
    items = []
    path = ROOT / "bench" / "data" / "ecommerce_reviews.tsv"
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, stars, _, words = line.split("\t", 3)
        items.append((words, label == "1", float(stars) if stars else None))
    return items


def read_desk_labels(path: Path) -> list[Item]:
    """`clout text export-labels` output: one JSON object a line, `text` and `complaint`."""
    items: list[Item] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        words = str(row.get("text") or "").strip()
        if words and isinstance(row.get("complaint"), bool):
            items.append((words, row["complaint"]))
    return items


def split(items: list[Item], rng: random.Random) -> tuple[list[Item], list[Item]]:
    """Seeded, stratified: the same share of complaints in both halves."""
    train: list[Item] = []
    validation: list[Item] = []
    for label in (True, False):
        group = [item for item in items if item[1] is label]
        rng.shuffle(group)
        cut = round(len(group) * VALIDATION_SHARE)
        validation += group[:cut]
        train += group[cut:]
    return train, validation


def design(sentences: Sequence[str], vectorizer: CountVectorizer, *, fit: bool) -> csr_matrix:
    counts = vectorizer.fit_transform(sentences) if fit else vectorizer.transform(sentences)
    counts.data[:] = 1.0
    # Scaled by the number of features the sentence has, known or not, as at run time.
    scale = [1 / math.sqrt(max(1, len(complaint_model.features(s)))) for s in sentences]
    return diags(scale) @ counts


def prf(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def choose_thresholds(
    truth: Sequence[bool], decide: Callable[[float, float], list[bool]]
) -> tuple[float, float, tuple[float, float, float]]:
    """The model-alone and cue-backed cut-offs with the best F1 at precision ≥ the floor (the
    best F1 overall when no pair reaches it)."""
    best: tuple[float, float, float, float, float, float] | None = None
    for t in [x / 100 for x in range(40, 96, 5)]:
        for cue in [0.0, 0.01, 0.02, 0.03] + [x / 100 for x in range(5, 61, 5)]:
            if cue > t:
                continue
            p, r, f = prf(truth, decide(t, cue))
            key = (p >= PRECISION_FLOOR, f)
            if best is None or key > (best[3] >= PRECISION_FLOOR, best[5]):
                best = (t, cue, 0.0, p, r, f)
    assert best is not None
    return best[0], best[1], (best[3], best[4], best[5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hutto", type=Path, default=ROOT.parent / "shared/datasets/hutto2014")
    parser.add_argument("--out", type=Path, default=complaint_model.MODEL_FILE)
    parser.add_argument(
        "--labels", type=Path, default=None, help="clout text export-labels output (JSON lines)"
    )
    parser.add_argument(
        "--train-labels",
        type=Path,
        default=None,
        help="labelled texts (JSON lines, as --labels) that all train: none joins the validation split",
    )
    parser.add_argument(
        "--validation-labels",
        type=Path,
        default=None,
        help="labelled texts (JSON lines) that all join the validation split the cut-offs are chosen on",
    )
    args = parser.parse_args()
    rng = random.Random(SEED)

    train: list[Item] = []
    validation: list[Item] = []
    review_validation: list[Item] = []
    for name in HUTTO_SETS:
        a, b = split(read_hutto(args.hutto, name), rng)
        train += a
        validation += b
        if name in REVIEW_LIKE:
            review_validation += b
        print(f"{name:<8} train {len(a):>6}  validation {len(b):>5}")
    if args.labels is not None:
        a, b = split(read_desk_labels(args.labels), rng)
        train += a
        validation += b
        review_validation += b
        print(f"{'desk':<8} train {len(a):>6}  validation {len(b):>5}")
    if args.train_labels is not None:
        extra = read_desk_labels(args.train_labels)
        train += extra
        print(f"{'labels':<8} train {len(extra):>6}")
    if args.validation_labels is not None:
        extra = read_desk_labels(args.validation_labels)
        validation += extra
        review_validation += extra
        print(f"{'labels':<8} validation {len(extra):>5}")
    shop = read_ecommerce()
    print(f"train {len(train)} sentences ({sum(y for _, y in train)} complaints)")

    vectorizer = CountVectorizer(analyzer=complaint_model.features, min_df=2, binary=True)
    x_train = design([s for s, _ in train], vectorizer, fit=True)
    y_train = [y for _, y in train]
    x_val = design([s for s, _ in validation], vectorizer, fit=False)
    y_val = [y for _, y in validation]

    best_c, best_loss, classifier = 0.0, math.inf, None
    for c in (4.0, 8.0, 16.0, 32.0):
        candidate = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
        candidate.fit(x_train, y_train)
        probabilities = candidate.predict_proba(x_val)[:, 1]
        loss = -sum(
            math.log(max(1e-9, p if y else 1 - p))
            for p, y in zip(probabilities, y_val, strict=True)
        ) / len(y_val)
        print(f"C={c:<4} validation log-loss {loss:.4f}")
        if loss < best_loss:
            best_c, best_loss, classifier = c, loss, candidate
    assert classifier is not None
    names = vectorizer.get_feature_names_out()
    weights = {
        str(name): round(float(w), 4)
        for name, w in zip(names, classifier.coef_[0], strict=True)
        if abs(w) >= PRUNE
    }
    shipped = complaint_model.ComplaintModel(
        bias=round(float(classifier.intercept_[0]), 4),
        weights=weights,
        threshold=0.5,
        cue_threshold=0.5,
        trained_on="",
    )

    # The thresholds: chosen on the validation split and the shop set, text only (no stars).
    val_texts = [s for s, _ in review_validation] + [s for s, _, _ in shop]
    val_truth = [y for _, y in review_validation] + [y for _, y, _ in shop]
    # Read as at run time (`text.model_reading`): the model's surest sentence, and that
    # sentence without the phrases the rules read as no problem. With the cut-offs not yet
    # chosen, every sentence is read both ways.
    readings = []
    unsure = dataclasses.replace(shipped, threshold=0.0)
    for sentence in val_texts:
        rules = text.rule_reading(sentence)
        probability, _, unhedged = text.model_reading(unsure, sentence)
        readings.append((probability, unhedged, rules.complaint, rules.strong))

    def decide(t: float, cue: float) -> list[bool]:
        return [
            text.combine(
                probability=p, unhedged=u, rules=r, strong=s, threshold=t, cue_threshold=cue
            )
            for p, u, r, s in readings
        ]

    threshold, cue_threshold, (p, r, f) = choose_thresholds(val_truth, decide)
    model_alone = prf(val_truth, [prob >= 0.5 for prob, _, _, _ in readings])
    rules_alone = prf(val_truth, [text.rule_reading(s).complaint for s in val_texts])
    print(f"chose C={best_c}, {len(weights)} of {len(names)} weights kept")
    print(f"validation ({len(val_texts)} sentences), text only:")
    print("  rules alone       P {:.3f} R {:.3f} F1 {:.3f}".format(*rules_alone))
    print("  model alone @0.5  P {:.3f} R {:.3f} F1 {:.3f}".format(*model_alone))
    print(
        f"  combined          P {p:.3f} R {r:.3f} F1 {f:.3f}  (model ≥ {threshold}, cue and model ≥ {cue_threshold})"
    )

    stored = {
        "bias": shipped.bias,
        "weights": dict(sorted(weights.items())),
        "threshold": threshold,
        "cue_threshold": cue_threshold,
        "trained_on": (
            f"Hutto & Gilbert 2014 (MIT): {len(train)} sentences"
            + (f" with {args.train_labels.name}" if args.train_labels else "")
            + "; "
            "word tones from VADER's lexicon (MIT); "
            f"trained {dt.date.today().isoformat()} by tools/train_complaint_model.py, seed {SEED}"
        ),
    }
    with gzip.GzipFile(args.out, "wb", mtime=0) as raw:
        raw.write(json.dumps(stored, ensure_ascii=False, separators=(",", ":")).encode())
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
