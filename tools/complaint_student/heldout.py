"""Step 5, only once the validation split says so: the held-out UCI sets read once.

    .venv/bin/python tools/complaint_student/heldout.py --seed 18 --cuts S,T,CUE [--bits 8]

Run only when the candidate's validation mean over three seeds beats the shipped detector by
≥ +0.01 F1 with recall not lower and the pinned texts hold (see complaint_model.md, session 18):
the UCI "Sentiment Labelled Sentences" (bench/data/uci_sentiment/, git-ignored) are the
benchmark's held-out sets, and nothing may be changed after reading them. Text only: VADER,
the shipped detector (`text.analyse`), and the candidate (the student where the rules read
nothing, `evaluate.silent`; elsewhere the words at the candidate's cut-offs), P / R each.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import common
import evaluate
import reader as student_reader
from train_complaint_model import prf

from service.signals import complaint_model, languages, text

UCI = common.ROOT / "bench" / "data" / "uci_sentiment"


def read_uci(name: str) -> list[tuple[str, bool]]:
    items = []
    path = UCI / f"{name}_labelled.txt"
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        words, _, label = line.rpartition("\t")
        if words.strip() and label.strip() in {"0", "1"}:
            items.append((words.strip(), label.strip() == "0"))
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", default="18")
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--cuts", required=True, help="student, words alone, cue: S,T,CUE")
    args = parser.parse_args()
    s, t, cue = (float(x) for x in args.cuts.split(","))
    student = student_reader.Reader(Path(student_reader.pack(args.seed, args.bits)))
    words_model = dataclasses.replace(complaint_model.model(), threshold=t, cue_threshold=cue)

    def candidate(words: str) -> bool:
        if languages.language(words) != languages.ENGLISH:
            return text.analyse(words).complaint
        if evaluate.silent(words):
            return student.strongest(words, stands_alone=text._names_a_problem) >= s
        rules = text.rule_reading(words)
        probability, _, unhedged = text.model_reading(words_model, words)
        return text.combine(
            probability=probability,
            rules=rules.complaint,
            threshold=t,
            cue_threshold=cue,
            strong=rules.strong,
            unhedged=unhedged,
        )

    for name in ("amazon_cells", "yelp", "imdb"):
        items = read_uci(name)
        truth = [y for _, y in items]
        line = f"UCI {name:<12} ({len(items)}, {sum(truth)} complaints)"
        for label, detect in (
            ("VADER", lambda w: text.sentiment(w) <= -0.05),
            ("shipped", lambda w: text.analyse(w).complaint),
            ("candidate", candidate),
        ):
            p, r, f = prf(truth, [detect(w) for w, _ in items])
            line += f"  {label} P {p:.3f} R {r:.3f} F1 {f:.3f}"
        print(line)


if __name__ == "__main__":
    main()
