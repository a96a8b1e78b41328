"""Step 4: the validation figures — shipped (rules + words) against rules + words + the student
where the rules read nothing.

    .venv/bin/python tools/complaint_student/evaluate.py --seeds 18 19 20 [--bits 8]

Reads the part of the validation split the cut-offs are chosen on (Hutto & Gilbert's Amazon
sentences and tweets, then Clout's e-commerce set: 1,496 texts, text only) as run time reads
it (`text.rule_reading`, `text.model_reading`), as `tools/train_complaint_model.py` does.

The candidate: where the rules read nothing at all in a text — no cue (firm or weak, before the
tone filters them), no phrase `text.NEGATED` takes out (a negated cue, a hedge, a no-problem
idiom), and no complaint by tone — the student's reading of the text (its surest sentence)
decides alone, at its own cut-off. Everywhere else the shipped words' model keeps its role
(`text.combine`, the cue veto included). Its three cut-offs (student, words alone, cue) are
chosen as the training script chooses its two: best F1 at precision ≥ 0.85 on the same grids,
the student's on the words' grid (0.40 … 0.95). Also printed: "or" (where the rules are silent,
the words or the student alone), "plain" (the student only where the rules are silent and the
text holds no negation), and the pinned happy texts' readings. "where" is the candidate; the
other two were declared before any student was read.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Sequence

import common
import reader as student_reader
from sklearn.metrics import roc_auc_score
from train_complaint_model import PRECISION_FLOOR, choose_thresholds, prf

from service.signals import complaint_model, text

STUDENT_GRID = [x / 100 for x in range(40, 96, 5)]
PINNED = [
    "Not a single one arrived late.",
    "The only problem is that I want one in every colour!",
]


def silent(words: str) -> bool:
    """The rules read nothing at all: no cue, no no-problem phrase, no complaining tone."""
    said = text._SPACES.sub(" ", words.lower().replace("’", "'"))
    return (
        not text.cues(words)
        and text.without_no_problem(words) == said
        and not text.rule_reading(words).complaint
    )


def negated(words: str) -> bool:
    """A negation anywhere in the text (the words' model's negators, or "n't"): the student has
    no negation features and misreads negated praise (session 17: "Nothing broken, I can't
    fault it." 0.983)."""
    return any(
        w in complaint_model._NEGATORS or w.endswith("n't") for w in complaint_model.tokens(words)
    )


@dataclasses.dataclass
class Row:
    truth: bool
    probability: float
    unhedged: float
    rules: bool
    strong: bool
    silent: bool
    negated: bool
    student: float = 0.0


def read_validation() -> list[Row]:
    _, _, cutset = common.load_split()
    unsure = dataclasses.replace(complaint_model.model(), threshold=0.0)
    rows = []
    for words, truth in cutset:
        rules = text.rule_reading(words)
        probability, _, unhedged = text.model_reading(unsure, words)
        rows.append(
            Row(
                truth,
                probability,
                unhedged,
                rules.complaint,
                rules.strong,
                silent(words),
                negated(words),
            )
        )
    return rows


def shipped_decide(rows: Sequence[Row]) -> Callable[[float, float], list[bool]]:
    def decide(t: float, cue: float) -> list[bool]:
        return [
            text.combine(
                probability=r.probability,
                unhedged=r.unhedged,
                rules=r.rules,
                strong=r.strong,
                threshold=t,
                cue_threshold=cue,
            )
            for r in rows
        ]

    return decide


def candidate_decide(
    rows: Sequence[Row], s: float, *, either: bool = False, plain: bool = False
) -> Callable[[float, float], list[bool]]:
    words = shipped_decide(rows)

    def decide(t: float, cue: float) -> list[bool]:
        return [
            (r.student >= s or (either and w)) if r.silent and not (plain and r.negated) else w
            for r, w in zip(rows, words(t, cue), strict=True)
        ]

    return decide


def choose_candidate(
    rows: Sequence[Row], *, either: bool = False, plain: bool = False
) -> tuple[float, float, float, tuple[float, float, float]]:
    truth = [r.truth for r in rows]
    best = None
    for s in STUDENT_GRID:
        decide = candidate_decide(rows, s, either=either, plain=plain)
        t, cue, (p, r, f) = choose_thresholds(truth, decide)
        key = (p >= PRECISION_FLOOR, f)
        if best is None or key > best[0]:
            best = (key, s, t, cue, (p, r, f))
    assert best is not None
    return best[1], best[2], best[3], best[4]


def most_recall(truth: Sequence[bool], decisions: list[list[bool]]) -> float:
    return max(
        (prf(truth, d)[1] for d in decisions if prf(truth, d)[0] >= PRECISION_FLOOR), default=0.0
    )


def grid() -> list[tuple[float, float]]:
    pairs = []
    for t in [x / 100 for x in range(40, 96, 5)]:
        for cue in [0.0, 0.01, 0.02, 0.03] + [x / 100 for x in range(5, 61, 5)]:
            if cue <= t:
                pairs.append((t, cue))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", nargs="+", default=["18", "19", "20"], help="or labels_<seed>")
    parser.add_argument("--bits", type=int, default=8)
    parser.add_argument("--variants", nargs="+", default=["where", "or", "plain"])
    args = parser.parse_args()
    rows = read_validation()
    truth = [r.truth for r in rows]
    quiet = [r for r in rows if r.silent]
    print(
        f"{len(rows)} texts, {len(quiet)} where the rules read nothing ({sum(r.truth for r in quiet)} complaints)"
    )
    print(f"words alone: ROC AUC {roc_auc_score(truth, [r.probability for r in rows]):.4f}")
    t, cue, prf_shipped = choose_thresholds(truth, shipped_decide(rows))
    decide = shipped_decide(rows)
    print(
        "shipped  P {:.3f} R {:.3f} F1 {:.3f}".format(*prf_shipped)
        + f"  (words ≥ {t}, cue ≥ {cue}); most recall at P ≥ 0.85"
        f" {most_recall(truth, [decide(a, b) for a, b in grid()]):.3f}"
    )
    results = {"shipped": {"prf": prf_shipped, "t": t, "cue": cue}}
    for seed in args.seeds:
        path = student_reader.pack(seed, args.bits)
        model = student_reader.Reader(path)
        _, _, cutset = common.load_split()
        for row, (words, _) in zip(rows, cutset, strict=True):
            row.student = model.strongest(words, stands_alone=text._names_a_problem)
        auc = roc_auc_score(truth, [r.student for r in rows])
        auc_quiet = roc_auc_score([r.truth for r in quiet], [r.student for r in quiet])
        auc_words_quiet = roc_auc_score([r.truth for r in quiet], [r.probability for r in quiet])
        line = f"seed {seed} int{args.bits} ({path.stat().st_size:,} B): student AUC {auc:.4f}; where silent student {auc_quiet:.4f} words {auc_words_quiet:.4f}"
        print(line)
        for name, either, plain in (
            ("where", False, False),
            ("or", True, False),
            ("plain", False, True),
        ):
            if name not in args.variants:
                continue
            s, t2, cue2, (p, r, f) = choose_candidate(rows, either=either, plain=plain)
            decisions = [
                candidate_decide(rows, s2, either=either, plain=plain)(a, b)
                for s2 in STUDENT_GRID
                for a, b in grid()
            ]
            print(
                f"  {name} P {p:.3f} R {r:.3f} F1 {f:.3f}  (student ≥ {s}, words ≥ {t2}, cue ≥ {cue2});"
                f" most recall at P ≥ 0.85 {most_recall(truth, decisions):.3f}"
            )
            results[f"{seed}-{name}"] = {"prf": (p, r, f), "s": s, "t": t2, "cue": cue2, "auc": auc}
        for words in PINNED:
            print(
                f"  pinned {words!r}: silent {silent(words)}, negated {negated(words)}, student {model.strongest(words, stands_alone=text._names_a_problem):.3f}"
            )
    out = common.CACHE / f"validation_{'_'.join(args.seeds)}_int{args.bits}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
