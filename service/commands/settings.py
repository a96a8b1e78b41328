"""`clout settings show|set|history SHOP`: a store's own settings over the install defaults."""

from __future__ import annotations

import getpass

import click

from service.attention.retag import change_settings
from service.attention.workspace import WORKSPACE_KEYS
from service.commands.common import connected_shop, load, plain, ring_attendance, session_for
from service.commands.subscriptions import check_workspace
from service.core.crypto import vault_for
from service.core.models import utcnow
from service.core.shop_settings import KNOBS, SettingsError, describe, history


@click.group("settings")
def settings_group() -> None:
    """A store's own settings: deadlines, tag names, notifications, Klout (see `show`)."""


@settings_group.command("show")
@click.argument("shop")
def settings_show(shop: str) -> None:
    """Every setting with its value; * marks the store's own, the rest are the defaults."""
    settings = load()
    with session_for(settings) as session:
        found = connected_shop(session, shop)
        rows = describe(
            session=session, shop_id=found.id, defaults=settings, vault=vault_for(settings)
        )
    width = max(len(r.key) for r in rows)
    for row in rows:
        mark = "*" if row.own else " "
        click.echo(f"{mark} {row.key:<{width}}  {plain(row.value):<24}  {row.meaning}")


@settings_group.command("set")
@click.argument("shop")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--by", default=None, help="Who is changing it (recorded); default: this user.")
def settings_set(shop: str, assignments: tuple[str, ...], by: str | None) -> None:
    """Change settings (KEY= with nothing after it goes back to the default). All or none:
    a refused value changes nothing."""
    changes: dict[str, str] = {}
    for assignment in assignments:
        key, sign, value = assignment.partition("=")
        if not sign:
            raise click.BadParameter(
                f"{assignment!r} is not KEY=VALUE (keys: {', '.join(KNOBS)})",
                param_hint="KEY=VALUE",
            )
        changes[key.strip()] = value
    settings = load()
    # As the desk records it: the person at the terminal, not the program's name.
    who = by or "cli:" + (getpass.getuser() or "operator")[:60]
    with session_for(settings) as session:
        found = connected_shop(session, shop)
        domain = found.domain
        try:
            done, retagged = change_settings(
                session=session,
                shop_id=found.id,
                changes=changes,
                by=who,
                defaults=settings,
                vault=vault_for(settings),
                now=utcnow(),
            )
        except SettingsError as error:
            raise click.BadParameter(str(error), param_hint="KEY=VALUE") from None
    for item in done:
        click.echo(f"{item.key}: {item.old} → {item.new}")
    if not done:
        click.echo("nothing changed")
    if changes.get("klout", "").strip().lower() == "on" and not settings.klout_provider_url:
        # On, but nothing to look handles up with: Klout would stay unknown for everyone.
        click.echo(
            "note: no social-data provider is configured (CLOUT_KLOUT_PROVIDER_URL, set where "
            "the workers read it), so Klout stays unknown until one is",
            err=True,
        )
    if retagged:
        rung = ring_attendance(settings, retagged, shop=domain)
        click.echo(
            f"{len(retagged)} open case(s) are being brought up to date in Shopify"
            + ("" if rung else " (the sweeper will pick them up within a minute or two)")
        )
    if any(item.key in WORKSPACE_KEYS for item in done):
        # The saved views and the segment name the tags: rewritten now, in the new names.
        plan, lines = check_workspace(settings=settings, domain=domain, fix=True)
        rewritten = [line.strip() for line in lines if line.lstrip().startswith("rewrote")]
        for line in rewritten:
            click.echo(line)
        if plan is None or not plan.in_order:
            click.echo(f"the saved views are not all up to date: run `clout shops check {domain}`")


@settings_group.command("history")
@click.argument("shop")
@click.option("--limit", default=50, show_default=True)
def settings_history(shop: str, limit: int) -> None:
    """Who changed what, when (newest first)."""
    settings = load()
    with session_for(settings) as session:
        found = connected_shop(session, shop)
        for row in history(session=session, shop_id=found.id, limit=limit):
            click.echo(
                # Values stored before control characters were refused: written out.
                f"{row.changed_at:%Y-%m-%d %H:%M}Z\t{plain(row.changed_by)}\t{row.key}\t"
                f"{plain(row.old)} → {plain(row.new)}"
            )
