"""Skip the patterns a text cannot match. The detector's cue and no-problem patterns are some
hundred regular expressions; Python's `re` tries each alternative at every position of a
text, which made searching them most of the detector's time. Nearly every alternative needs
some plain words to match ("made", "food pois", "rash"): a text holding none of them cannot
match it, so it is left out of the search. Which words each alternative needs is read off the
pattern itself (`needles`), so a pattern edited later is filtered by what it now says.

The filter never changes a result: a match contains the needles it was read to need, and an
alternative left out of an alternation is one that cannot match anywhere in the text, so the
leftmost match at every position is the one the whole pattern finds. `every_pattern()` turns
the filter off (the benchmark's baseline and the tests that prove that claim on every labelled
sentence in the repository).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from itertools import product
from typing import Any

import ahocorasick

# The regular-expression parser `re` itself uses (Python 3.11+: `re._parser`); on a Python
# without it nothing is filtered and every pattern is searched.
try:
    _sre: Any = importlib.import_module("re._constants")
    _sre_parse: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover
    _sre = _sre_parse = None

# The most strings a run of exact text may stand for ("(?:made|makes) (?:me|us)" is four) and
# the shortest needle worth its check: a two-letter one is in most texts anyway.
_MOST_EXACT = 64
_SHORTEST_NEEDLE = 3
# A character class of this many letters or fewer is read as exact text ("pois[oe]ning").
_SMALL_CLASS = 4
# Past this many alternatives called for, one pass of the whole alternation is cheaper than a
# pass of each: a text can be written to call for most of them (an attack found one that
# made the no-problem pass 40 times slower searched one by one).
_MOST_ONE_BY_ONE = 8

_filtering = True


@contextmanager
def every_pattern() -> Iterator[None]:
    """Search every alternative, as before the filter (a baseline to measure it against)."""
    global _filtering  # noqa: PLW0603 - one switch for the benchmark and the equality tests
    was, _filtering = _filtering, False
    try:
        yield
    finally:
        _filtering = was


def needles(pattern: str) -> frozenset[str] | None:
    """Strings one of which every match of `pattern` contains, or None when no such set of
    strings of at least `_SHORTEST_NEEDLE` characters can be read off it."""
    if _sre_parse is None:  # pragma: no cover
        return None
    try:
        parsed = _sre_parse.parse(pattern)
    except (re.error, RecursionError):  # pragma: no cover - compiled (and so parsed) before
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    found = _needed(list(parsed))
    if found is None or min(map(len, found)) < _SHORTEST_NEEDLE:
        return None
    return frozenset(found)


def _exact(item: tuple[Any, Any]) -> set[str] | None:
    """Every string `item` can match, when they are few; None otherwise."""
    op, av = item
    if op is _sre.LITERAL:
        return {chr(av)}
    if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
        return {""}  # takes no characters: the text either side of it is next to each other
    if op is _sre.IN:
        small = len(av) <= _SMALL_CLASS and all(o is _sre.LITERAL for o, _ in av)
        return {chr(code) for _, code in av} if small else None
    if op in (_sre.SUBPATTERN, _sre.BRANCH):
        return _exact_group(op, av)
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        return _exact_repeat(*av)
    return None


def _exact_group(op: Any, av: Any) -> set[str] | None:
    if op is _sre.SUBPATTERN:
        _, add_flags, _, sub = av
        return None if add_flags else _exact_sequence(list(sub))
    each = [_exact_sequence(list(alternative)) for alternative in av[1]]
    return _few(set().union(*each)) if None not in each else None  # type: ignore[arg-type]


def _exact_repeat(low: int, high: int, sub: Any) -> set[str] | None:
    once = _exact_sequence(list(sub))
    if once is None or high > 2:
        return None
    return _few({"".join(p) for times in range(low, high + 1) for p in product(once, repeat=times)})


def _few(strings: set[str]) -> set[str] | None:
    return strings if len(strings) <= _MOST_EXACT else None


def _exact_sequence(items: list[tuple[Any, Any]]) -> set[str] | None:
    run = {""}
    for item in items:
        each = _exact(item)
        if each is None or len(run) * len(each) > _MOST_EXACT:
            return None
        run = {a + b for a, b in product(run, each)}
    return run


def _needed(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The best set of needles of a sequence: one of its runs of exact text, or what one of its
    parts needs."""
    candidates: list[set[str]] = []
    run = {""}
    for item in items:
        each = _exact(item)
        if each is not None and len(run) * len(each) <= _MOST_EXACT:
            run = {a + b for a, b in product(run, each)}
            continue
        candidates.append(run)
        run = {""} if each is None else each
        if each is None:
            own = _needed_by(item)
            if own is not None:
                candidates.append(own)
    candidates.append(run)
    useful = [c for c in candidates if c and min(map(len, c)) > 0]
    if not useful:
        return None
    # The longest shortest needle is the rarest in a text; then the fewest to look for.
    return max(useful, key=lambda c: (min(*map(len, c), 8), -len(c)))


def _needed_by(item: tuple[Any, Any]) -> set[str] | None:
    op, av = item
    if op is _sre.SUBPATTERN:
        _, add_flags, _, sub = av
        return None if add_flags else _needed(list(sub))
    if op is _sre.BRANCH:
        union: set[str] = set()
        for alternative in av[1]:
            each = _needed(list(alternative))
            if each is None:
                return None
            union |= each
        return union
    if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
        low, _, sub = av
        return _needed(list(sub)) if low >= 1 else None
    return None


class Finder:
    """Which needles of many patterns a text holds, found in one pass (Aho-Corasick)."""

    def __init__(self, needles: Iterable[str]) -> None:
        self.needles = frozenset(needles)
        self._automaton = ahocorasick.Automaton()
        for needle in self.needles:
            self._automaton.add_word(needle, needle)
        if self.needles:
            self._automaton.make_automaton()

    def present(self, text: str) -> frozenset[str]:
        """The needles `text` holds (every needle, with the filter off)."""
        if not _filtering:
            return self.needles
        if not self.needles:
            return frozenset()
        return frozenset(needle for _, needle in self._automaton.iter(text))


class Alternatives:
    """A pattern made of alternatives ("a|b|c"), searched only with those whose needles are
    in the text at hand, each on its own. Answers as `re.compile("|".join(alternatives))`
    would. No pattern is compiled per text: a text that called for a new mix of alternatives
    would otherwise pay for compiling it (up to tens of milliseconds for the no-problem
    phrases), and a sender could write texts that each call for a new mix."""

    def __init__(self, alternatives: Sequence[str]) -> None:
        self.alternatives = tuple(f"(?:{a})" for a in alternatives)
        self.whole = re.compile("|".join(self.alternatives))

    # Read at the first search, not at import: a process that reads no text (most commands)
    # should not pay for parsing every pattern a second time.
    @cached_property
    def needles(self) -> tuple[frozenset[str] | None, ...]:
        """Each alternative's needles (None: searched in every text)."""
        return tuple(needles(a[3:-1]) for a in self.alternatives)

    @cached_property
    def always_searched(self) -> bool:
        """Whether some alternative has no needles, and so is searched in every text."""
        return any(need is None for need in self.needles)

    @cached_property
    def finder(self) -> Finder:
        return Finder(n for each in self.needles if each is not None for n in each)

    @cached_property
    def _each(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(a) for a in self.alternatives)

    @cached_property
    def _index(self) -> tuple[tuple[int, ...], dict[str, tuple[int, ...]]]:
        """The alternatives searched in every text, and those each needle calls for."""
        always = tuple(i for i, need in enumerate(self.needles) if need is None)
        by_needle: dict[str, list[int]] = {}
        for i, need in enumerate(self.needles):
            for needle in need or ():
                by_needle.setdefault(needle, []).append(i)
        return always, {needle: tuple(kept) for needle, kept in by_needle.items()}

    def prepare(self) -> None:
        """Read the needles and compile each alternative now, not at the first text."""
        _ = self.finder, self._index, self._each

    def _kept(self, text: str, present: frozenset[str] | None) -> list[int]:
        """The alternatives that could match `text`, in the pattern's order."""
        if present is None:
            present = self.finder.present(text)
        always, by_needle = self._index
        if not present:
            return list(always)  # most short texts: nothing to gather or sort
        kept = set(always)
        for needle in present:
            kept.update(by_needle.get(needle, ()))
        return sorted(kept)

    def found(self, text: str, *, present: frozenset[str] | None = None) -> bool:
        """Whether the pattern matches anywhere in `text`. `present`: the needles `text` holds,
        when a `Finder` of many patterns' needles has already looked (`Finder.present`)."""
        if not _filtering:
            return self.whole.search(text) is not None
        kept = self._kept(text, present)
        if len(kept) > _MOST_ONE_BY_ONE:
            return self.whole.search(text) is not None
        each = self._each
        return any(each[i].search(text) for i in kept)

    def sub(self, replacement: str, text: str) -> str:
        """`re.sub` with a plain replacement: each leftmost match, the first alternative to match
        there winning, as the alternation would pick it."""
        if not _filtering or "\\" in replacement:
            return self.whole.sub(replacement, text)
        kept = self._kept(text, None)
        if not kept:
            return text
        if len(kept) > _MOST_ONE_BY_ONE or any(self.needles[i] is None for i in kept):
            # Many called for: one pass is cheaper. One may match nothing: `re`'s own rules.
            return self.whole.sub(replacement, text)
        each = [self._each[i] for i in kept]
        # Every kept alternative matches at least a needle's characters, so no match is empty.
        upcoming = [pattern.search(text) for pattern in each]
        pieces, at = [], 0
        while True:
            first = None
            for match in upcoming:  # in order: at a tie the earlier alternative wins
                if match is not None and (first is None or match.start() < first.start()):
                    first = match
            if first is None:
                break
            pieces += [text[at : first.start()], replacement]
            at = first.end()
            upcoming = [
                m if m is None or m.start() >= at else pattern.search(text, at)
                for pattern, m in zip(each, upcoming, strict=True)
            ]
        pieces.append(text[at:])
        return "".join(pieces)
