"""What every command needs: the settings, refused with a usage error, and a session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import create_app
from service.core import db
from service.core.config import ConfigError, Settings, load_settings
from service.core.embedded_redis import REGISTRY
from service.core.models import Shop
from service.deliveries.lifecycle import enqueue_attention
from service.shopify.shops import find_shop, normalise_shop_domain

# A record's id as the database holds it (64-bit, from 1): a larger number is a usage error,
# not an overflow deep in the driver.
RECORD_ID = click.IntRange(1, 2**63 - 1)


def plain(value: object) -> str:
    """Text that came from outside (a customer's name, a review's event, an error Shopify sent)
    as an operator's terminal may show it: a control character, which a terminal would obey
    (an escape sequence that clears the screen or retitles the window) or which would forge a
    row (a line break, a tab), is written out as its escape, never sent."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def json_line(value: object) -> str:
    """`value` as one line of JSON for an operator's terminal: other languages' letters as
    they are, but whatever a terminal would obey or a reader be fooled by (a C1 control, a
    right-to-left override, a line separator) as its JSON escape. Read back, it is the same."""
    text = json.dumps(value, ensure_ascii=False)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else json.dumps(c)[1:-1] for c in text)


def load(**overrides: object) -> Settings:
    try:
        return load_settings(overrides)
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


@contextmanager
def session_for(settings: Settings) -> Iterator[Session]:
    engine = db.make_engine(settings.database_url)
    try:
        with db.session_scope(db.make_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def redis_url_for(settings: Settings) -> str | None:
    """CLOUT_REDIS_URL, or the socket of the Redis `clout serve` started if it is running."""
    if settings.redis_url is not None:
        return settings.redis_url
    registry = settings.data_dir / REGISTRY  # where `clout serve` notes its Redis's socket
    try:
        found = json.loads(registry.read_text())
    except (OSError, ValueError):
        return None
    if not Path(str(found.get("pidfile", ""))).exists():
        return None
    return f"unix://{found['unixsocket']}"


# The most stores named when an operator must choose one.
_STORES_NAMED = 10


def connected_shop(session: Session, domain: str | None) -> Shop:
    """The store `domain` names; with none named, the one store Clout knows (a merchant running
    Clout for their own store should not have to name it on every command). A store that was
    uninstalled still counts: its cases are still listed, and must be reachable."""
    if domain is None:
        known = session.scalars(select(Shop).order_by(Shop.domain).limit(_STORES_NAMED + 1)).all()
        if len(known) == 1:
            return known[0]
        if not known:
            raise click.UsageError("no store is connected (see `clout shops add`)")
        many = len(known) > _STORES_NAMED
        named = ", ".join(
            s.domain + (" (uninstalled)" if s.uninstalled_at else "") for s in known[:_STORES_NAMED]
        ) + (", …" if many else "")
        count = f"more than {_STORES_NAMED}" if many else str(len(known))
        raise click.UsageError(f"Clout knows {count} stores: name one with --shop ({named})")
    hint = _shop_hint()
    try:
        domain = normalise_shop_domain(domain)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=hint) from None
    shop = find_shop(session=session, domain=domain)
    if shop is None:
        raise click.BadParameter(
            f"{domain} is not connected (see `clout shops list`)", param_hint=hint
        )
    return shop


def _shop_hint() -> str:
    """How the running command takes its store: `'SHOP'` as an argument, `'--shop'` as an
    option, so an error names what the operator typed."""
    context = click.get_current_context(silent=True)
    for param in context.command.params if context else []:
        if param.name in {"shop", "domain"}:
            if isinstance(param, click.Argument):
                return f"'{param.human_readable_name}'"
            return f"'{param.opts[0]}'"
    return "'--shop'"


def celery_for(settings: Settings) -> Any | None:
    """The workers' Celery app — on CLOUT_REDIS_URL, or on the embedded Redis of a running
    `clout serve` — to ring them from a command; None when there is no Redis to ring through
    (the database still records the work, and the sweeper rings for it)."""
    url = redis_url_for(settings)
    if url is None:
        return None
    try:
        return create_app({"CLOUT_REDIS_URL": url}).extensions["celery"]
    except ConfigError:
        return None


def ring_attendance(settings: Settings, incident_ids: list[int], *, shop: str) -> bool:
    """Ask the workers to attend to these incidents now; False when no broker is configured or
    reachable (they are marked, so the sweeper gets to them anyway)."""
    celery = celery_for(settings) if incident_ids else None
    if celery is None:
        return False
    return all(enqueue_attention(celery=celery, incident_id=i, shop=shop) for i in incident_ids)
