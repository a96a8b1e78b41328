"""`clout incidents list`: the open cases, and whether their tag has reached Shopify."""

from __future__ import annotations

import click
from sqlalchemy import select

from service.attention.pending import pending_ids
from service.commands.common import connected_shop, load, session_for
from service.core.models import Customer, Incident, Shop, utcnow
from service.core.vocabulary import IncidentStatus


@click.group("incidents")
def incidents_group() -> None:
    """Unhappy customers' cases."""


def _age(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"


@incidents_group.command("list")
@click.option("--shop", "domain", help="Only this store.")
@click.option("--pending", is_flag=True, help="Only cases whose tag has not reached Shopify.")
@click.option("--limit", default=100, show_default=True)
def incidents_list(domain: str | None, pending: bool, limit: int) -> None:
    """Open cases, soonest deadline first: priority, deadline, and the tag's state in Shopify
    (tagged, PENDING with how long, or no Shopify record to tag)."""
    settings = load()
    now = utcnow()
    with session_for(settings) as session:
        shop_id = connected_shop(session, domain).id if domain else None
        waiting = pending_ids(session=session, shop_id=shop_id)
        query = (
            select(Incident, Shop.domain, Customer)
            .join(Shop, Shop.id == Incident.shop_id)
            .join(Customer, Customer.id == Incident.customer_id)
            .where(Incident.status == IncidentStatus.OPEN)
            .order_by(Incident.deadline_at.is_(None).desc(), Incident.deadline_at)
            .limit(limit)
        )
        if shop_id is not None:
            query = query.where(Incident.shop_id == shop_id)
        if pending:
            query = query.where(Incident.id.in_(waiting) if waiting else Incident.id.is_(None))
        shown = 0
        for incident, shop_domain, customer in session.execute(query):
            if not shown:
                click.echo("id\tshop\tpriority\tseverity\tdeadline\tin Shopify\tcustomer")
            if incident.tagged_at is not None:
                tag = f"tagged {incident.tagged_at:%Y-%m-%d %H:%M}Z"
            elif incident.id in waiting:
                tag = f"PENDING {_age((now - incident.opened_at).total_seconds())}"
            else:
                tag = "no Shopify record to tag"
            who = " ".join(filter(None, (customer.first_name, customer.last_name))) or (
                customer.email or customer.shopify_id
            )
            deadline = f"{incident.deadline_at:%Y-%m-%d %H:%M}Z" if incident.deadline_at else "-"
            click.echo(
                f"{incident.id}\t{shop_domain}\t{incident.priority or 'deciding'}\t"
                f"{incident.severity}\tdue {deadline}\t{tag}\t{who}"
            )
            shown += 1
    if not shown:
        click.echo("no open cases" + (" waiting for Shopify" if pending else ""))
    elif waiting:
        click.echo(
            f"{len(waiting)} case(s) not tagged in Shopify yet; `clout doctor` says why",
            err=True,
        )
