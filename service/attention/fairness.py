"""Are low-influence customers waiting longer? Time to the attention tag and to resolution, by
influence band — the attention floor, checked against what actually happened."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.core.models import Incident

BANDS = ("unknown", "opted-out", "low", "medium", "high")
WARN_RATIO = 1.25  # a band waiting 25% longer than the high band is worth a warning
# A median of fewer cases than this, on either side, is chance, not a pattern to warn about.
MIN_CASES = 3


@dataclass(frozen=True)
class BandFigures:
    band: str
    incidents: int
    resolved: int
    median_to_tag_seconds: float | None
    median_to_resolve_hours: float | None
    tagged: int = 0  # cases whose time to the tag is known (the median's sample)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def fairness(
    *, session: Session, since: datetime | None = None, shop_id: int | None = None
) -> list[BandFigures]:
    query = select(Incident)
    if since is not None:
        query = query.where(Incident.opened_at >= since)
    if shop_id is not None:
        query = query.where(Incident.shop_id == shop_id)
    to_tag: dict[str, list[float]] = defaultdict(list)
    to_resolve: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    resolved: dict[str, int] = defaultdict(int)
    for incident in session.scalars(query.execution_options(yield_per=1000)):
        band = (incident.influence or {}).get("band", "unknown")
        counts[band] += 1
        start = incident.first_seen_at or incident.opened_at
        if incident.tagged_at is not None:
            to_tag[band].append((incident.tagged_at - start).total_seconds())
        if incident.resolved_at is not None:
            resolved[band] += 1
            to_resolve[band].append(
                (incident.resolved_at - incident.opened_at) / timedelta(hours=1)
            )
    return [
        BandFigures(
            band,
            counts[band],
            resolved[band],
            _median(to_tag[band]),
            _median(to_resolve[band]),
            tagged=len(to_tag[band]),
        )
        for band in BANDS
        if counts[band]
    ]


def warnings(figures: list[BandFigures]) -> list[str]:
    """Plain sentences where lower-influence customers wait longer than high-influence ones."""
    by_band = {f.band: f for f in figures}
    high = by_band.get("high")
    found: list[str] = []
    if high is None:
        return found
    for band in ("unknown", "low", "medium", "opted-out"):
        figure = by_band.get(band)
        if figure is None:
            continue
        for label, mine, theirs, sample in (
            (
                "the attention tag",
                figure.median_to_tag_seconds,
                high.median_to_tag_seconds,
                min(figure.tagged, high.tagged),
            ),
            (
                "a resolution",
                figure.median_to_resolve_hours,
                high.median_to_resolve_hours,
                min(figure.resolved, high.resolved),
            ),
        ):
            if sample < MIN_CASES:
                continue
            if mine is not None and theirs and mine > theirs * WARN_RATIO:
                found.append(
                    f"customers with {band} influence wait {mine / theirs:.1f}× as long "
                    f"for {label} as high-influence ones"
                )
    return found


def too_few(figures: list[BandFigures]) -> bool:
    """Whether some band has cases but too few beside the high band's for a comparison."""
    by_band = {f.band: f for f in figures}
    high = by_band.get("high")
    if high is None:
        return False
    return any(
        min(f.resolved, high.resolved) < MIN_CASES or min(f.tagged, high.tagged) < MIN_CASES
        for f in figures
        if f.band != "high"
    )
