"""Rebuild the labelled food-shop sentences from `Reviews.csv` (not kept in this repository).

    python bench/data/fine_food_sentences/rebuild.py draw     # the seeded draw, no labels
    python bench/data/fine_food_sentences/rebuild.py jsonl --out DIR   # labels → JSONL

`draw` prints the drawn (review id, sentence index, stars, half, sentence) rows: how the sample
in labels.tsv was made. `jsonl` writes `train.jsonl` and `validation.jsonl` (the format of
`clout text export-labels`: `text`, `complaint`, plus `id`, `stars`) in `--out`, a folder
outside the repository: the customers' words stay out of it.

Reviews: SNAP's Amazon Fine Food Reviews (CC0), the first 7,567 rows (see
bench/data/fine_food_reviews/README.md), only the benchmark's food "dev" half
(`complaint_detector.fine_food_titles()[0::2]`) and, for 3★ (in neither half), the same recipe's
even positions; never a review whose words are also a test-half review's.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import complaint_detector  # noqa: E402

from service.signals import complaint_model, text  # noqa: E402

HERE = Path(__file__).parent
LABELS = HERE / "labels.tsv"
SEED = 2026
DRAW = {"1-2": 480, "3": 240, "4-5": 480}


def words(raw: str) -> str:
    return html.unescape(raw.replace("<br />", "\n").replace("<br/>", "\n")).strip()


def split(review: str) -> list[str]:
    """As the detector reads a text at run time (`text.model_reading`)."""
    return complaint_model.sentences(review, stands_alone=text._names_a_problem)


def group(stars: int) -> str:
    return "1-2" if stars <= 2 else "3" if stars == 3 else "4-5"


def reviews() -> dict[str, tuple[int, str]]:
    """Id → (stars, words) of every review this set may use."""
    path = complaint_detector.held_out("fine_food_reviews", "Reviews.csv")
    if path is None:
        sys.exit("Reviews.csv not found (see bench/data/fine_food_reviews/README.md)")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    titles = complaint_detector.fine_food_titles() or []
    dev = {row_id for row_id, _ in titles[0::2]}
    test = {row_id for row_id, _ in titles[1::2]}
    seen: set[str] = set()
    neutral: list[str] = []
    for row in rows:  # 3★: the benchmark's recipe (each summary once, file order), even positions
        summary = (row["Summary"] or "").strip().lower()
        if row["Score"] == "3" and summary and summary not in seen:
            seen.add(summary)
            neutral.append(row["Id"])
    dev |= set(neutral[0::2])
    test_words = {words(row["Text"]) for row in rows if row["Id"] in test}
    chosen: dict[str, tuple[int, str]] = {}
    taken: set[str] = set()
    for row in rows:
        said = words(row["Text"])
        if row["Id"] in dev and said and said not in test_words and said not in taken:
            taken.add(said)
            chosen[row["Id"]] = (int(row["Score"]), said)
    return chosen


def draw() -> list[tuple[str, int, int, str, str]]:
    """(id, sentence index, stars, half, sentence), seeded: one sentence a review."""
    rng = random.Random(SEED)
    pool = reviews()
    drawn = []
    for name, wanted in DRAW.items():
        ids = sorted((i for i, (s, _) in pool.items() if group(s) == name), key=int)
        rng.shuffle(ids)
        picked = ids[:wanted]
        halves = ["train", "validation"] * (len(picked) // 2 + 1)
        rng.shuffle(halves)
        for row_id, half in zip(picked, halves, strict=False):
            stars, said = pool[row_id]
            parts = split(said)
            index = rng.randrange(len(parts))
            drawn.append((row_id, index, stars, half, parts[index]))
    return drawn


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("draw", "jsonl"))
    parser.add_argument("--out", type=Path, help="where jsonl writes (outside the repository)")
    args = parser.parse_args()
    if args.what == "draw":
        for row_id, index, stars, half, sentence in draw():
            shown = sentence.replace("\n", " / ")  # a line break inside a sentence
            print(f"{row_id}\t{index}\t{stars}\t{half}\t{shown}")
        return
    if args.out is None:
        sys.exit("jsonl needs --out (a folder outside the repository)")
    pool = reviews()
    args.out.mkdir(parents=True, exist_ok=True)
    out = {
        h: (args.out / f"{h}.jsonl").open("w", encoding="utf-8") for h in ("train", "validation")
    }
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith(("#", "id\t")):
            continue
        row_id, index, stars, half, label = line.split("\t")[:5]
        sentence = split(pool[row_id][1])[int(index)]
        record = {"id": row_id, "stars": int(stars), "text": sentence, "complaint": label == "1"}
        out[half].write(json.dumps(record, ensure_ascii=False) + "\n")
    for handle in out.values():
        handle.close()
    print(f"wrote {args.out}/train.jsonl and validation.jsonl")


if __name__ == "__main__":
    main()
