"""What one long text costs the complaint detector, beside VADER reading the same text whole.

Adversarial texts (one cue word repeated: the shapes that made the detector's time grow with the
square of the length) at two sizes; the figure that matters is the ratio between them: about 10
for a cost that grows with the length, about 100 for one that grows with its square, and about 1
once only a bounded part is read (the detector reads at most `text.MAX_READ` characters).

    python bench/text_cost.py [--sizes 10000,100000] [--baseline-up-to 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from service.signals import text

WORDS = ["problem ", "fixed ", "not bad ", "the shit ", "great, just ", "but the ", "refund "]


def timed(call: object, arg: str) -> float:
    start = time.perf_counter()
    call(arg)  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument(
        "--baseline-up-to",
        type=int,
        default=20_000,
        help="VADER on a whole text grows with its square: it is timed up to this size only",
    )
    args = parser.parse_args()
    small, large = (int(n) for n in args.sizes.split(","))
    vader = SentimentIntensityAnalyzer()
    base_small, base_large = small // 10, min(large // 10, args.baseline_up_to)
    print(
        f"text cost: the detector at {small:,} and {large:,} characters "
        f"(reads at most {text.MAX_READ:,}); VADER whole at {base_small:,} and {base_large:,}"
    )
    print(
        f"{'text':<16}{'detector small':>16}{'large':>10}{'ratio':>8}"
        f"{'VADER small':>14}{'large':>10}{'ratio':>8}"
    )
    for word in WORDS:

        def make(n: int, w: str = word) -> str:
            return (w * (n // len(w) + 1))[:n]

        text.forget_readings()
        a = timed(text.analyse, make(small))
        text.forget_readings()
        b = timed(text.analyse, make(large))
        c = timed(vader.polarity_scores, make(base_small))
        d = timed(vader.polarity_scores, make(base_large))
        print(
            f"{word.strip():<16}{a:>15.3f}s{b:>9.3f}s{b / a:>8.1f}"
            f"{c:>13.3f}s{d:>9.3f}s{d / c:>8.1f}"
        )


if __name__ == "__main__":
    main()
