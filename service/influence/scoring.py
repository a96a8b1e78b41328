"""Influence as the attention policy reads it: two scores, each unknown until known.

The profile (clout from what the shop knows, Klout from what the customer shared) is built in
`profiles`; this is the small, pure vocabulary the rest of Clout agrees on.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.core.vocabulary import InfluenceBand

HIGH_SCORE = 80.0  # a score at or above this is "high" (scores are percentile-like, 0–100)
LOW_SCORE = 30.0


@dataclass(frozen=True)
class Influence:
    """What is known of the customer's influence. None means unknown, never zero."""

    clout: float | None = None
    klout: float | None = None
    contagion: int = 0  # connected customers who are unhappy now
    opted_out: bool = False
    reasons: tuple[str, ...] = ()

    @property
    def band(self) -> InfluenceBand:
        if self.opted_out:
            return InfluenceBand.OPTED_OUT
        known = [s for s in (self.clout, self.klout) if s is not None]
        if not known:
            return InfluenceBand.UNKNOWN
        top = max(known)
        if top >= HIGH_SCORE:
            return InfluenceBand.HIGH
        return InfluenceBand.MEDIUM if top >= LOW_SCORE else InfluenceBand.LOW


UNKNOWN = Influence()
