"""Influence profiles: Klout and clout side by side, each with its reasons."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Customer, InfluenceProfile
from service.policy import Influence


def stored_influence(*, session: Session, customer: Customer) -> Influence | None:
    """The customer's last computed influence; None when Clout knows nothing yet (unknown,
    never zero: the attention floor is decided without it)."""
    profile = session.scalar(
        select(InfluenceProfile).where(InfluenceProfile.customer_id == customer.id)
    )
    if profile is None:
        return None
    reasons = profile.reasons or {}
    return Influence(
        clout=profile.clout_score,
        klout=profile.klout_score,
        contagion=profile.contagion,
        opted_out=profile.opted_out,
        reasons=tuple(reasons.get("clout", [])) + tuple(reasons.get("klout", [])),
    )
