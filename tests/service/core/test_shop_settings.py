"""A store's own settings over the install-wide defaults: shown, changed all or none,
recorded, kept apart per store, and applied without a restart."""

from __future__ import annotations

import getpass
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from service.attention.attend import TagSettings, shop_tag_settings
from service.cli import main
from service.core.db import session_scope
from service.core.models import Incident, SettingChange, ShopSettings, utcnow
from service.core.shop_settings import SettingsError, change, shop_config
from service.core.vocabulary import DEFAULT_FLOORS, IncidentStatus, Severity
from tests.support.clout import connect_test_shop, state
from tests.support.helpers import SHOP

OTHER = "other-shop.myshopify.com"


def run(settings: dict[str, Any], *args: str) -> Any:
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    return CliRunner(env=env).invoke(main, list(args))


def test_show_lists_every_setting_with_the_defaults(app: Flask, settings: dict[str, Any]) -> None:
    connect_test_shop(app)

    shown = run(settings, "settings", "show", SHOP)

    assert shown.exit_code == 0, shown.output
    assert "deadline.critical" in shown.output
    assert "clout-attention" in shown.output
    assert "*" not in shown.output  # nothing is the store's own yet


def test_set_changes_only_that_store_and_records_who_and_what(
    app: Flask, settings: dict[str, Any]
) -> None:
    connect_test_shop(app)
    connect_test_shop(app, domain=OTHER)

    done = run(
        settings,
        "settings",
        "set",
        SHOP,
        "deadline.high=8",
        "attention_tag=needs-care",
        "--by",
        "maya",
    )

    assert done.exit_code == 0, done.output
    assert "deadline.high: 24 → 8" in done.output
    clout = state(app)
    with clout.sessions() as session:
        mine = shop_config(session=session, shop_id=1, defaults=clout.settings, vault=clout.vault)
        theirs = shop_config(session=session, shop_id=2, defaults=clout.settings, vault=clout.vault)
        assert (mine.deadline_hours[Severity.HIGH], mine.attention_tag) == (8.0, "needs-care")
        assert (theirs.deadline_hours[Severity.HIGH], theirs.attention_tag) == (
            24.0,
            "clout-attention",
        )
        changes = session.scalars(select(SettingChange).order_by(SettingChange.key)).all()
        assert [(c.key, c.old, c.new, c.changed_by) for c in changes] == [
            ("attention_tag", "clout-attention", "needs-care", "maya"),
            ("deadline.high", "24", "8", "maya"),
        ]
    history = run(settings, "settings", "history", SHOP)
    assert "needs-care" in history.output


@pytest.mark.parametrize(
    ("assignment", "complaint"),
    [
        ("deadline.high=soon", "hours"),
        ("deadline.high=-1", "hours between"),
        ("attention_tag=a,b", "without a comma"),
        ("attention_tag=" + "x" * 41, "1 to 40 characters"),
        ("notify.email=nobody", "email"),
        ("notify.webhook_url=http://evil.example.com/hook", "https://"),
        # this machine or a private network: no store's address may reach the operator's
        ("notify.webhook_url=http://127.0.0.1:2375/containers/create", "public internet"),
        # and how an install serving one store allows it
        ("notify.slack_url=http://127.0.0.1:8080/hook", "CLOUT_NOTIFY_PRIVATE_TARGETS=on"),
        ("notify.slack_url=https://169.254.169.254/latest/meta-data", "public internet"),
        ("notify.webhook_url=https://10.0.0.1/hook", "public internet"),
        ("notify.webhook_url=https://[::1]/hook", "public internet"),
        ("notify.webhook_url=https://localhost./hook", "public internet"),
        # an address the sender could never use: a typo, refused when it is made
        ("notify.webhook_url=https://example.com:8o/hook", "usable host"),
        ("notify.slack_url=https://hooks..slack.com/services/x", "usable host"),
        ("klout=maybe", "on or off"),
        ("colour=blue", "no setting called colour"),
        ("resolved_tag=clout-attention", "must all differ"),
        # a chargeback must not be promised a later answer than a high case
        ("deadline.critical=100", "a worse case never waits longer"),
        # Shopify's tags ignore case: this is the attention tag to its search and to Flow
        ("resolved_tag=CLOUT-ATTENTION", "Shopify ignores case"),
    ],
)
def test_a_refused_value_changes_nothing_and_says_why(
    app: Flask, settings: dict[str, Any], assignment: str, complaint: str
) -> None:
    connect_test_shop(app)

    refused = run(settings, "settings", "set", SHOP, "deadline.low=100", assignment)

    assert refused.exit_code != 0
    assert complaint in refused.output
    with state(app).sessions() as session:
        assert session.scalars(select(ShopSettings)).all() == []  # all or none
        assert session.scalars(select(SettingChange)).all() == []


def test_a_secret_is_stored_encrypted_and_shown_only_as_set(
    app: Flask, settings: dict[str, Any]
) -> None:
    connect_test_shop(app)
    secret = "hook-secret-0123456789abcdef"

    run(settings, "settings", "set", SHOP, f"notify.webhook_secret={secret}")

    clout = state(app)
    with clout.sessions() as session:
        row = session.scalars(select(ShopSettings)).one()
        assert secret not in str(row.values)
        assert row.secrets is not None
        assert secret.encode() not in row.secrets
        config = shop_config(session=session, shop_id=1, defaults=clout.settings, vault=clout.vault)
        assert config.notify_webhook_secret == secret
        [recorded] = session.scalars(select(SettingChange)).all()
        assert (recorded.old, recorded.new) == ("(not set)", "(set)")
    shown = run(settings, "settings", "show", SHOP)
    assert secret not in shown.output


def test_an_empty_value_goes_back_to_the_default(app: Flask, settings: dict[str, Any]) -> None:
    connect_test_shop(app)
    run(settings, "settings", "set", SHOP, "deadline.normal=30")

    back = run(settings, "settings", "set", SHOP, "deadline.normal=")

    assert "deadline.normal: 30 → 48" in back.output
    clout = state(app)
    with clout.sessions() as session:
        config = shop_config(session=session, shop_id=1, defaults=clout.settings, vault=clout.vault)
        assert config.deadline_hours[Severity.NORMAL] == 48.0


def test_renaming_the_attention_tag_retires_the_old_name_and_reopens_open_cases(
    app: Flask, settings: dict[str, Any]
) -> None:
    shop = connect_test_shop(app)
    clout = state(app)
    with session_scope(clout.sessions) as session:
        from service.core.models import Customer

        customer = Customer(shop_id=shop.id, shopify_id="gid://shopify/Customer/1")
        session.add(customer)
        session.flush()
        session.add(
            Incident(
                shop_id=shop.id,
                customer_id=customer.id,
                status=IncidentStatus.OPEN,
                severity=Severity.HIGH,
                opened_at=utcnow(),
                needs_attention=False,
            )
        )

    renamed = run(settings, "settings", "set", SHOP, "attention_tag=needs-care")

    assert "1 open case(s) are being brought up to date in Shopify" in renamed.output
    base = TagSettings(
        attention_tag="clout-attention", resolved_tag="clout-resolved", floors=DEFAULT_FLOORS
    )
    with clout.sessions() as session:
        assert session.scalars(select(Incident)).one().needs_attention
        tags = shop_tag_settings(base=base, defaults=clout.settings, vault=clout.vault)(
            session, shop.id
        )
        assert tags.attention_tag == "needs-care"
        assert tags.retired_tags == {"clout-attention"}


def test_change_refuses_an_unknown_key_in_code_too(app: Flask) -> None:
    shop = connect_test_shop(app)
    clout = state(app)
    with session_scope(clout.sessions) as session, pytest.raises(SettingsError):
        change(
            session=session,
            shop_id=shop.id,
            changes={"nope": "1"},
            by="test",
            defaults=clout.settings,
            vault=clout.vault,
            now=utcnow(),
        )


def test_an_operator_who_allows_private_addresses_may_set_one(
    make_app: Any, settings: dict[str, Any]
) -> None:
    # given an install that serves the operator's own store, private addresses allowed
    app = make_app(CLOUT_NOTIFY_PRIVATE_TARGETS="on")
    connect_test_shop(app)

    done = run(
        {**settings, "CLOUT_NOTIFY_PRIVATE_TARGETS": "on"},
        "settings",
        "set",
        SHOP,
        "notify.webhook_url=http://127.0.0.1:8080/hook",
    )

    assert done.exit_code == 0, done.output
    assert "notify.webhook_url" in done.output


def test_the_operators_own_notification_addresses_are_not_shown_to_a_store(
    app: Flask, settings: dict[str, Any]
) -> None:
    # given the operator's Slack URL for the whole install (a credential: it posts into their
    # Slack), and a store that has not set its own
    connect_test_shop(app)
    operators = "https://hooks.slack.com/services/T000/B000/operators-own-secret"

    shown = run({**settings, "CLOUT_NOTIFY_SLACK_URL": operators}, "settings", "show", SHOP)

    # then the store's settings say one is set for the install, not what it is
    assert shown.exit_code == 0, shown.output
    assert "operators-own-secret" not in shown.output
    assert "set for the whole install" in shown.output


def test_a_change_is_recorded_as_the_person_at_the_terminal(
    app: Flask, settings: dict[str, Any]
) -> None:
    connect_test_shop(app)

    run(settings, "settings", "set", SHOP, "deadline.high=8")

    with session_scope(state(app).sessions) as session:
        [change] = session.scalars(select(SettingChange)).all()
        assert change.changed_by == f"cli:{getpass.getuser()}"


@pytest.mark.parametrize(
    "assignment",
    [
        # Shopify reads tags in any case of letters: these are the resolved and attention tags
        "attention_tag=Clout-Resolved",
        "resolved_tag=CLOUT-ATTENTION",
        # tags Clout itself writes and takes off as a case's priority or lateness changes
        "attention_tag=clout-priority-urgent",
        "attention_tag=clout-overdue",
    ],
)
def test_a_tag_name_shopify_reads_as_another_of_clouts_tags_is_refused(
    app: Flask, settings: dict[str, Any], assignment: str
) -> None:
    connect_test_shop(app)

    refused = run(settings, "settings", "set", SHOP, assignment)

    assert refused.exit_code != 0, refused.output
    with state(app).sessions() as session:
        assert session.scalars(select(ShopSettings)).all() == []


def test_switching_klout_on_without_a_provider_says_it_will_stay_unknown(
    app: Flask, settings: dict[str, Any]
) -> None:
    # given an install with no social-data provider configured
    connect_test_shop(app)
    run(settings, "settings", "set", SHOP, "klout=off")

    # when the merchant switches Klout on for their store
    switched = run(settings, "settings", "set", SHOP, "klout=on")

    # then it is done, and they are told why Klout will still be unknown
    assert switched.exit_code == 0, switched.output
    assert "klout: off → on" in switched.output
    assert "no social-data provider is configured (CLOUT_KLOUT_PROVIDER_URL" in switched.output
