"""`clout incidents`: the open cases and whether their tag has reached Shopify (`list`), and
the support desk's actions, the same functions the agents' page calls (`resolve`, `reopen`,
`assign`, `snooze`): each recorded in the case's trail as `cli:<who>`."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agents.accounts import agents_named
from service.agents.desk import (
    MAX_SNOOZE,
    DeskRefused,
    Done,
    assign_case,
    close_case,
    reopen_case,
    snooze_case,
)
from service.agents.queue import case_in_full, customer_name
from service.attention.health import tags_not_in_shopify
from service.attention.pending import pending_ids
from service.commands.common import (
    RECORD_ID,
    connected_shop,
    load,
    plain,
    ring_attendance,
    session_for,
)
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
        rows = session.execute(query).all()
        agents = agents_named(session=session, recorded=(row[0].assigned_to for row in rows))
        refusals: dict[int, set[int]] = {}

        def refused_by_shop(shop: int) -> set[int]:
            if shop not in refusals:
                found = tags_not_in_shopify(session=session, shop_id=shop)
                refusals[shop] = set(found.refused) if found else set()
            return refusals[shop]

        for incident, shop_domain, customer in rows:
            if not shown:
                click.echo(
                    "id\tshop\tpriority\tseverity\tdeadline\tin Shopify\tcustomer\t"
                    "assigned to\tsnoozed until"
                )
            if incident.tagged_at is not None:
                tag = f"tagged {incident.tagged_at:%Y-%m-%d %H:%M}Z"
            elif incident.id in refused_by_shop(incident.shop_id):
                tag = "REFUSED by Shopify"  # waiting will not help: `clout doctor` says why
            elif incident.id in waiting:
                tag = f"PENDING {_age((now - incident.opened_at).total_seconds())}"
            else:
                tag = "no Shopify record to tag"
            who = customer_name(customer)
            deadline = f"{incident.deadline_at:%Y-%m-%d %H:%M}Z" if incident.deadline_at else "-"
            # Past its deadline, or escalated past an earlier one: overdue, as on the page.
            if incident.overdue_at is not None or (
                incident.deadline_at is not None and incident.deadline_at < now
            ):
                deadline += " (overdue)"
            click.echo(
                f"{incident.id}\t{shop_domain}\t{incident.priority or 'deciding'}\t"
                f"{incident.severity}\tdue {deadline}\t{tag}\t{plain(who)}\t"
                f"{_desk_columns(incident, now=now, agents=agents)}"
            )
            shown += 1
    if not shown:
        click.echo("no open cases" + (" waiting for Shopify" if pending else ""))
    elif waiting:
        click.echo(
            f"{len(waiting)} case(s) not tagged in Shopify yet; `clout doctor` says why",
            err=True,
        )


def _desk_columns(incident: Incident, *, now: datetime, agents: dict[str, str]) -> str:
    """Who has the case, and until when it is snoozed (a snooze hides it from the agents'
    default view, so an operator should see it here): two columns, "-" for none, so that no
    name can pass for a snooze. An agent of the agents' page is named by their login, as the
    page records them by number ("agent-3")."""
    snoozed = incident.snoozed_until is not None and incident.snoozed_until > now
    until = f"{incident.snoozed_until:%Y-%m-%d %H:%M}Z" if snoozed else "-"
    who = incident.assigned_to
    return f"{plain(agents.get(who, who)) if who else '-'}\t{until}"


# --- the desk -------------------------------------------------------------------------------

DeskAction = Callable[[Session, Shop, int, str], Done | None]

by_option = click.option(
    "--by", "who", help="Who is acting, for the case's trail (default: your login name)."
)
shop_option = click.option(
    "--shop",
    "domain",
    help="The store the cases belong to (SHOP.myshopify.com); needed when several are connected.",
)


def _said(done: Done) -> str:
    """What a line says after the case's id: the outcome, and what it means where the word
    alone would leave the operator guessing."""
    if done.outcome == "already_closed":
        return f"{done.outcome}\tclosed already: nothing changed"
    return done.outcome


def _desk(
    domain: str | None,
    ids: tuple[int, ...],
    who: str | None,
    action: DeskAction,
    said: Callable[[Done], str] = _said,
) -> None:
    """Run one desk action per case, each in its own transaction, one line each (`said`); exit
    1 if any was refused or is not this store's. Closing and reopening ring the workers, which
    bring Shopify in step (or the sweeper does, when no broker answers)."""
    settings = load()
    named = domain is not None
    with session_for(settings) as session:
        domain = connected_shop(session, domain).domain  # the one Clout knows, when not named
    if not named:
        click.echo(f"store: {domain}", err=True)  # the one assumed, said (stdout keeps its lines)
    by = "cli:" + (who or getpass.getuser() or "operator")[:60]
    failed = False
    rung: list[int] = []
    for incident_id in ids:
        try:
            with session_for(settings) as session:
                shop = connected_shop(session, domain)
                done = action(session, shop, incident_id, by)
        except DeskRefused as error:
            click.echo(f"{incident_id}\trefused\t{error}")
            failed = True
            continue
        if done is None:
            click.echo(f"{incident_id}\tnot found\tno such case in {domain}")
            failed = True
            continue
        click.echo(f"{incident_id}\t{said(done)}")
        if done.changes_shopify:
            rung.append(incident_id)
    if rung and not ring_attendance(settings, rung, shop=domain):
        click.echo("no worker answered: the sweeper brings Shopify in step shortly", err=True)
    if failed:
        raise SystemExit(1)


@incidents_group.command("show")
@click.argument("incident_id", type=RECORD_ID)
@shop_option
@click.option("--json", "as_json", is_flag=True, help="The case as the agents' page reads it.")
def incidents_show(incident_id: int, domain: str | None, as_json: bool) -> None:
    """One case in full: the customer, what they said or did, the orders, and the trail."""
    settings = load()
    with session_for(settings) as session:
        shop = connected_shop(session, domain)
        case = case_in_full(
            session=session, shop=shop, incident_id=incident_id, now=utcnow(), timeline_most=None
        )
        domain = shop.domain
    if case is None:
        click.echo(f"no case {incident_id} in {domain}", err=True)
        raise SystemExit(1)
    if as_json:
        # ASCII escapes: a bidi override or a C1 control in a name is shown, never obeyed.
        click.echo(json.dumps(case, indent=2, ensure_ascii=True))
        return
    for line in _case_lines(case):
        click.echo(line)


def _case_lines(case: dict[str, Any]) -> list[str]:
    customer = case["customer"]
    due = case["deadline_at"] or "-"
    overdue = " (overdue)" if case["overdue"] else ""
    lines = [
        (
            f"case {case['id']}\t{case['status']}\t{case['priority'] or 'deciding'}\t"
            f"{case['severity']}\tdue {due}{overdue}"
        ),
        (
            f"customer\t{plain(customer['name'] or '-')}\t{plain(customer['email'] or '')}\t"
            f"{customer['admin_url'] or ''}"
        ),
        f"influence\t{case['band']}\tin Shopify: {'tagged' if case['tagged'] else 'not yet'}",
    ]
    # Both scores side by side, each with its reasons, as the agents' page shows them.
    profile = case.get("influence") or {}
    for score, label in (("clout", "real-world"), ("klout", "online reach")):
        value = profile.get(score)
        said = "; ".join(plain(r) for r in profile.get(f"{score}_reasons") or [])
        shown = "unknown" if value is None else f"{value:.1f}"
        lines.append(f"{score}\t{shown}\t{label}\t{said}")
    if profile.get("unknown"):
        lines.append("unknown\t" + "; ".join(plain(u) for u in profile["unknown"]))
    lines += [f"order\t{plain(o['name'])}\t{o['admin_url'] or ''}" for o in case["orders"]]
    for item in case["timeline"]:
        # What Clout read, then what the customer wrote or Shopify said, as it came.
        words = item.get("words") or {}
        said = " / ".join(
            [plain(s) for s in item.get("sentences") or []]
            + [f"{k}: {plain(v)}" for k, v in words.items() if k != "source" and v is not None]
        )
        lines.append(f"signal\t{item['occurred_at']}\t{item['kind']}\t{item['severity']}\t{said}")
    for event in case["trail"]:
        detail = json.dumps(event["detail"], ensure_ascii=True, sort_keys=True)
        lines.append(f"trail\t{event['at']}\t{event['what']}\t{plain(event['by'])}\t{detail}")
    if case["status"] != IncidentStatus.OPEN:
        note = plain(case["resolution_note"] or "")
        lines.append(f"closed\t{case['resolved_at']}\t{plain(case['resolved_by'] or '')}\t{note}")
    return lines


@incidents_group.command("resolve")
@click.argument("ids", nargs=-1, type=RECORD_ID, required=True)
@shop_option
@click.option("--note", default=None, help="A note for the record (at most 2,000 characters).")
@click.option("--not-a-complaint", is_flag=True, help="It never was one (kept as a label).")
@by_option
def incidents_resolve(
    ids: tuple[int, ...],
    domain: str | None,
    note: str | None,
    not_a_complaint: bool,
    who: str | None,
) -> None:
    """Close cases, as the agents' page and the resolved tag do."""
    _desk(
        domain,
        ids,
        who,
        lambda session, shop, incident_id, by: close_case(
            session=session,
            shop=shop,
            incident_id=incident_id,
            by=by,
            now=utcnow(),
            note=note,
            not_a_complaint=not_a_complaint,
        ),
    )


@incidents_group.command("reopen")
@click.argument("ids", nargs=-1, type=RECORD_ID, required=True)
@shop_option
@by_option
def incidents_reopen(ids: tuple[int, ...], domain: str | None, who: str | None) -> None:
    """Undo a close: the case opens again with its priority and deadline, and the workers take
    the resolved tag off before putting Clout's tags back."""
    _desk(
        domain,
        ids,
        who,
        lambda session, shop, incident_id, by: reopen_case(
            session=session, shop=shop, incident_id=incident_id, by=by, now=utcnow()
        ),
    )


@incidents_group.command("assign")
@click.argument("ids", nargs=-1, type=RECORD_ID, required=True)
@shop_option
@click.option("--to", "to", default=None, help="Who takes the cases (omit for nobody).")
@by_option
def incidents_assign(
    ids: tuple[int, ...], domain: str | None, to: str | None, who: str | None
) -> None:
    """Give open cases to a person, or to nobody."""
    kept: dict[int, str | None] = {}  # the name as the case keeps it (trimmed, cut to size)

    def assign(session: Session, shop: Shop, incident_id: int, by: str) -> Done | None:
        done = assign_case(
            session=session, shop=shop, incident_id=incident_id, to=to, by=by, now=utcnow()
        )
        case = session.get(Incident, incident_id)
        kept[incident_id] = case.assigned_to if case is not None else None
        return done

    _desk(
        domain,
        ids,
        who,
        assign,
        said=lambda done: (
            f"{done.outcome}\tto {plain(kept.get(done.incident_id) or 'nobody')}"
            if done.outcome == "assigned"
            else _said(done)
        ),
    )


@incidents_group.command("snooze")
@click.argument("ids", nargs=-1, type=RECORD_ID, required=True)
@shop_option
@click.option(
    "--hours",
    type=float,
    required=True,
    help="Out of the queue's default view for this long (0 wakes it); never moves a deadline.",
)
@by_option
def incidents_snooze(
    ids: tuple[int, ...], domain: str | None, hours: float, who: str | None
) -> None:
    """Snooze open cases: their deadline, priority and tags stay, and escalation still runs."""
    asked: dict[int, datetime | None] = {}  # each case's end of snooze, as set

    def snooze(session: Session, shop: Shop, incident_id: int, by: str) -> Done | None:
        if not 0 <= hours <= MAX_SNOOZE / timedelta(hours=1):  # NaN too; no overflow below
            raise DeskRefused("snooze_out_of_range", "snooze for 0 to 336 hours (14 days)")
        now = utcnow()
        until = asked[incident_id] = now + timedelta(hours=hours) if hours else None
        return snooze_case(
            session=session, shop=shop, incident_id=incident_id, until=until, by=by, now=now
        )

    def said(done: Done) -> str:
        until = asked.get(done.incident_id)
        if done.outcome == "not_snoozed":
            return "not snoozed\tnothing changed"
        if done.outcome != "snoozed":
            return _said(done)
        if until is None:
            return "woken\tback in the queue's default view"
        return f"snoozed\tuntil {until:%Y-%m-%d %H:%M}Z"

    _desk(domain, ids, who, snooze, said)
