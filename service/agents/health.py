"""What stands between the attention floor and the store's own people, said on the agents'
page in their words: attention tags Shopify refused or has not taken for a while, and
notification channels whose notices are not arriving. The same facts as `clout doctor`'s
(`attention.health`); the doctor tells the operator the commands, the page tells the store
what it can do itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.attention import health
from service.attention.pending import REFUSED_ADVICE
from service.core.models import Shop


@dataclass(frozen=True)
class Problem:
    about: str  # "tags" or "notifications"
    says: str
    to_do: str


def _waited(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def store_problems(
    *, session: Session, shop: Shop, now: datetime, pending_alert_minutes: float
) -> list[dict[str, Any]]:
    """The problems to show above the queue; none when the floor reaches everyone."""
    found: list[Problem] = []
    tags = health.tags_not_in_shopify(session=session, shop_id=shop.id)
    if tags is not None and tags.refused:
        cases = len(tags.refused)
        found.append(
            Problem(
                "tags",
                f"Shopify refused the attention tag of {cases} open case"
                f"{'s' if cases > 1 else ''}: {tags.refused_why}",
                REFUSED_ADVICE[0].upper() + REFUSED_ADVICE[1:] + " The cases stay open here; "
                "resolve them once they are handled.",
            )
        )
    elif tags is not None and now - tags.oldest >= timedelta(minutes=pending_alert_minutes):
        found.append(
            Problem(
                "tags",
                f"{tags.count} attention tag{'s' if tags.count > 1 else ''} not in Shopify yet, "
                f"the oldest waiting {_waited(now - tags.oldest)}",
                "Clout keeps trying. The cases are here meanwhile; if it lasts, tell whoever runs "
                "Clout for this store (`clout doctor` says why).",
            )
        )
    notices = health.notices_not_delivered(session=session, shop_id=shop.id, now=now)
    for kind, why in (notices.silent if notices else {}).items():
        channel = health.CHANNELS.get(kind, kind)
        said = f"{channel} notices are not arriving" + (f": {why}" if why else "")
        to_do = (
            f"Check the {channel} address in Clout's Settings (in the Shopify admin); "
            "escalations and alerts go nowhere until it works."
        )
        if kind == "flow":
            said = "Shopify Flow is not taking Clout's trigger" + (f": {why}" if why else "")
            to_do = "Check that the store's Flow workflow for Clout is turned on in Shopify."
        found.append(Problem("notifications", said, to_do))
    return [asdict(problem) for problem in found]
