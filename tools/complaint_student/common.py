"""What the student scripts share: the training script's seeded split, Tang et al.'s augmented
copies, the student's tokens and vocabulary, and the cache files under /tmp.

No torch here: `reader.py` and `evaluate.py` import this module at run time.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tools"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import train_complaint_model as trainer  # noqa: E402

from service.signals import complaint_model  # noqa: E402

CACHE = Path("/tmp/h18c_student")  # noqa: S108 (scratch, one user: the cache of a run)
TEACHER_DIR = CACHE / "teacher"
TEACHER_READINGS = CACHE / "teacher_readings.json.gz"
HUTTO = Path("/work/shared/datasets/hutto2014")
MASK = "<mask>"  # the student's masked word; the teacher reads it as "[MASK]"
MIN_COUNT = 2  # a word is in the student's vocabulary when the training split holds it twice

Item = tuple[str, bool]


def load_split(hutto: Path = HUTTO) -> tuple[list[Item], list[Item], list[tuple[str, bool]]]:
    """The training script's split, seed 18, 15 % validation, drawn in the same order: the
    training sentences, the whole validation split (for the epoch's log-loss) and the part the
    cut-offs are chosen on (review-like validation sentences, then Clout's e-commerce set)."""
    rng = random.Random(trainer.SEED)
    train: list[Item] = []
    validation: list[Item] = []
    review_validation: list[Item] = []
    for name in trainer.HUTTO_SETS:
        a, b = trainer.split(trainer.read_hutto(hutto, name), rng)
        train += a
        validation += b
        if name in trainer.REVIEW_LIKE:
            review_validation += b
    shop = [(s, y) for s, y, _ in trainer.read_ecommerce()]
    return train, validation, review_validation + shop


def augment(train: list[Item], *, copies: int = 3, seed: int = 18) -> list[list[str]]:
    """Tang et al. (2019): each copy masks each word with p 0.1, and with p 0.25 keeps only an
    n-gram of 1–5 of its words. Copies equal to their sentence or to one another are dropped.
    Returned as token lists (`complaint_model.tokens`), MASK for a masked word."""
    rng = random.Random(seed)
    out: list[list[str]] = []
    for sentence, _ in train:
        words = complaint_model.tokens(sentence)
        if not words:
            continue
        seen = {tuple(words)}
        for _ in range(copies):
            copy = [MASK if rng.random() < 0.1 else w for w in words]
            if rng.random() < 0.25:
                n = rng.randint(1, 5)
                start = rng.randint(0, max(0, len(copy) - n))
                copy = copy[start : start + n]
            key = tuple(copy)
            if key in seen:
                continue
            seen.add(key)
            out.append(copy)
    return out


def teacher_text(words: list[str]) -> str:
    return " ".join("[MASK]" if w == MASK else w for w in words)


def vocabulary(train: list[Item]) -> list[str]:
    """Words seen MIN_COUNT times in the training split, most frequent first."""
    counts = Counter(w for s, _ in train for w in complaint_model.tokens(s))
    return [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= MIN_COUNT]
