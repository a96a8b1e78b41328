"""`clout incidents resolve / reopen / assign / snooze`: the desk's actions from the command
line, with the same effect and the same trail as on the agents' page."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask

from service.attention.escalation import escalate_overdue
from service.attention.notify import Notifier
from service.cli import main
from service.core.audit import case_events
from service.core.db import session_scope
from service.core.models import Incident, Shop, utcnow
from service.core.vocabulary import DEFAULT_FLOORS
from tests.support.agents_page import (
    BUSY_DAY,
    Case,
    add_agent,
    connect_shop,
    keeps_reviewing,
    log_in,
    open_case,
    page_csrf,
)
from tests.support.clout import record_delivery_now, state
from tests.support.helpers import SHOP


@pytest.fixture
def busy(app: Flask, shop: Shop) -> dict[str, int]:
    return {case.name: open_case(app, SHOP, case, number=n) for n, case in enumerate(BUSY_DAY)}


@pytest.fixture
def clout(settings: dict[str, Any]) -> Any:
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, ["incidents", *args], env=env)

    return run


def case_of(app: Flask, incident_id: int) -> tuple[Incident, list[tuple[str, str, dict[str, Any]]]]:
    with session_scope(state(app).sessions) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        session.expunge(incident)
        events = case_events(session=session, incident_ids=[incident_id])[incident_id]
        return incident, [(e.kind, e.by, e.detail or {}) for e in events]


# --- bad input first -------------------------------------------------------------------------


def test_a_case_of_another_store_is_not_found_and_left_alone(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given a case of another connected store
    connect_shop(app, "other-shop.myshopify.com")
    theirs = open_case(
        app, "other-shop.myshopify.com", Case("Zoe Other", "refund", "high", "high", 5), number=9
    )

    # when an operator resolves it naming this store
    answer = clout("resolve", str(theirs), "--shop", SHOP, "--by", "ops")

    # then it is not found there, the exit code says so, and the case is still open
    assert answer.exit_code == 1
    assert f"{theirs}\tnot found" in answer.output
    assert case_of(app, theirs)[0].status == "open"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("snooze", "--hours", "1e9"), "0 to 336 hours"),
        (("snooze", "--hours", "nan"), "0 to 336 hours"),
        (("snooze", "--hours", "-2"), "0 to 336 hours"),
        (("reopen",), "open already"),
    ],
)
def test_an_action_the_desk_cannot_take_is_refused_with_its_reason(
    app: Flask, clout: Any, busy: dict[str, int], args: tuple[str, ...], said: str
) -> None:
    # given Sam's open case
    sam = busy["Sam Lee"]

    # when the operator asks for something the desk cannot do
    answer = clout(args[0], str(sam), "--shop", SHOP, *args[1:])

    # then it is refused with the reason, exit 1, and nothing is added to the case's trail
    assert answer.exit_code == 1
    assert said in answer.output
    incident, trail = case_of(app, sam)
    assert (incident.status, incident.snoozed_until) == ("open", None)
    assert [kind for kind, _, _ in trail] == ["signal"]


# --- the desk's actions ------------------------------------------------------------------


def test_resolve_reopen_assign_and_snooze_from_the_command_line(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    maya, sam = busy["Maya Ortiz"], busy["Sam Lee"]

    # when an operator resolves two cases with a note
    resolved = clout(
        "resolve", str(maya), str(sam), "--shop", SHOP, "--note", "Refunded.", "--by", "ops"
    )

    # then each is closed, by cli:ops with the note, and the workers are to clear Shopify
    assert resolved.exit_code == 0, resolved.output
    assert resolved.output.splitlines()[:2] == [f"{maya}\tresolved", f"{sam}\tresolved"]
    incident, trail = case_of(app, maya)
    assert (incident.status, incident.resolved_by, incident.needs_attention) == (
        "resolved",
        "cli:ops",
        True,
    )
    assert trail[-1] == ("resolved", "cli:ops", {"note": "Refunded."})

    # when they undo Maya's, give it to Sam the agent and snooze it for two hours
    reopened = clout("reopen", str(maya), "--shop", SHOP, "--by", "ops")
    assigned = clout("assign", str(maya), "--shop", SHOP, "--to", "sam", "--by", "ops")
    snoozed = clout("snooze", str(maya), "--shop", SHOP, "--hours", "2", "--by", "ops")

    # then the case is open again with its deadline, assigned and snoozed, all in its trail
    assert [r.exit_code for r in (reopened, assigned, snoozed)] == [0, 0, 0]
    incident, trail = case_of(app, maya)
    assert (incident.status, incident.assigned_to) == ("open", "sam")
    assert incident.deadline_at is not None
    assert incident.snoozed_until is not None
    assert [kind for kind, _, _ in trail][-4:] == ["resolved", "reopened", "assigned", "snoozed"]
    assert {by for _, by, _ in trail[-3:]} == {"cli:ops"}


def test_waking_a_case_that_is_not_snoozed_changes_nothing_and_says_so(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given a case nobody snoozed
    maya = busy["Maya Ortiz"]
    _, before = case_of(app, maya)

    # when the operator "wakes" it
    woken = clout("snooze", str(maya), "--shop", SHOP, "--hours", "0", "--by", "ops")

    # then it says nothing changed, and the trail gains no "woken" line
    assert woken.exit_code == 0, woken.output
    assert woken.output.splitlines()[0] == f"{maya}\tnot snoozed\tnothing changed"
    _, after = case_of(app, maya)
    assert after == before


def test_each_desk_line_says_what_changed(app: Flask, clout: Any, busy: dict[str, int]) -> None:
    maya, sam = busy["Maya Ortiz"], busy["Sam Lee"]

    # when an operator gives Maya's case to Sam, then to nobody, snoozes it and wakes it
    given = clout("assign", str(maya), "--shop", SHOP, "--to", "sam")
    taken_back = clout("assign", str(maya), "--shop", SHOP)
    snoozed = clout("snooze", str(maya), "--shop", SHOP, "--hours", "2")
    woken = clout("snooze", str(maya), "--shop", SHOP, "--hours", "0")

    # then each line says what the case is now, not only that the action ran
    assert given.output == f"{maya}\tassigned\tto sam\n"
    assert taken_back.output == f"{maya}\tassigned\tto nobody\n"
    assert snoozed.output.startswith(f"{maya}\tsnoozed\tuntil 20")
    assert woken.output == f"{maya}\twoken\tback in the queue's default view\n"
    assert case_of(app, maya)[0].snoozed_until is None

    # and closing a case closed already says nothing changed (still exit 0: it is closed)
    clout("resolve", str(sam), "--shop", SHOP)
    again = clout("resolve", str(sam), "--shop", SHOP)
    assert again.exit_code == 0
    assert again.output == f"{sam}\talready_closed\tclosed already: nothing changed\n"


def test_the_list_shows_who_has_a_case_and_until_when_it_sleeps(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given Maya's case given to Sam and snoozed, Sam's given to someone whose name reads like
    # a snooze, and the others untouched
    maya, sam = busy["Maya Ortiz"], busy["Sam Lee"]
    clout("assign", str(maya), "--shop", SHOP, "--to", "sam")
    clout("snooze", str(maya), "--shop", SHOP, "--hours", "2")
    clout("assign", str(sam), "--shop", SHOP, "--to", "pat, snoozed until 2099-01-01 00:00Z")

    # when the operator lists the open cases
    rows = [row.split("\t") for row in clout("list").output.splitlines()]

    # then a column says who has each case, another until when it is snoozed
    header, cases = rows[0], {int(row[0]): row for row in rows[1:]}
    assert header[-2:] == ["assigned to", "snoozed until"]
    assert cases[maya][-2] == "sam"
    assert cases[maya][-1].startswith("20"), cases[maya]
    assert cases[sam][-2:] == ["pat, snoozed until 2099-01-01 00:00Z", "-"]
    others = {tuple(row[-2:]) for case_id, row in cases.items() if case_id not in (maya, sam)}
    assert others == {("-", "-")}
    assert {len(row) for row in rows} == {len(header)}


def test_an_assignment_says_the_name_as_it_was_kept(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    maya = busy["Maya Ortiz"]

    padded = clout("assign", str(maya), "--shop", SHOP, "--to", "  sam  ")
    blank = clout("assign", str(maya), "--shop", SHOP, "--to", "   ")

    assert padded.output == f"{maya}\tassigned\tto sam\n"
    assert blank.output == f"{maya}\tassigned\tto nobody\n"
    assert case_of(app, maya)[0].assigned_to is None


def test_what_customers_and_senders_wrote_cannot_steer_the_operators_terminal(
    app: Flask, settings: dict[str, Any], shop: Shop
) -> None:
    # given a customer whose name carries terminal escapes and a line break, and a review
    # delivery whose event forges a row of the deliveries list
    hostile = Case("Eve\x1b]0;PWNED\x07\x1b[2J Evil\r\nFAKE\tROW", "refund", "high", "high", 5)
    open_case(app, SHOP, hostile, number=7)
    record_delivery_now(app, topic="review\n999\tshopify\tfake/topic", source="yotpo")
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}

    # when an operator lists cases and deliveries
    cases = CliRunner().invoke(main, ["incidents", "list"], env=env)
    deliveries = CliRunner().invoke(main, ["deliveries", "list"], env=env)

    # then every record is one line, and no control character reaches the terminal
    assert cases.exit_code == deliveries.exit_code == 0, cases.output + deliveries.output
    case_rows = cases.output.splitlines()
    delivery_rows = deliveries.output.splitlines()
    assert len(case_rows) == 2  # the header and the one case
    assert len(delivery_rows) == 2  # the header and the one delivery
    for row in case_rows + delivery_rows:
        assert all(c == "\t" or c.isprintable() for c in row), repr(row)
    assert "Eve\\x1b]0;PWNED\\x07" in case_rows[1]
    assert case_rows[1].count("\t") == case_rows[0].count("\t")
    # and each value sits under its column's name, as a script reading the columns expects
    delivery = dict(zip(delivery_rows[0].split("\t"), delivery_rows[1].split("\t"), strict=True))
    assert delivery["source"] == "yotpo"
    assert delivery["attempts"].isdigit(), delivery


def test_the_deliveries_list_names_its_columns_and_refuses_a_state_it_does_not_know(
    settings: dict[str, Any], shop: Shop
) -> None:
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}

    # given no deliveries yet: the list says so, and a state it does not know is a usage error
    empty = CliRunner().invoke(main, ["deliveries", "list"], env=env)
    bogus = CliRunner().invoke(main, ["deliveries", "list", "--status", "bogus"], env=env)

    assert (empty.exit_code, empty.output) == (0, "no deliveries recorded\n")
    assert bogus.exit_code == 2
    assert "'bogus' is not one of" in bogus.output
    assert "Traceback" not in bogus.output


def test_show_tells_one_case_in_full_and_only_this_stores(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given Maya's case, resolved from the command line with a note
    maya = busy["Maya Ortiz"]
    clout("resolve", str(maya), "--shop", SHOP, "--note", "Refund sent.", "--by", "ops")

    # when an operator shows it, and a case number that is not this store's
    shown = clout("show", str(maya), "--shop", SHOP)
    as_json = clout("show", str(maya), "--shop", SHOP, "--json")
    connect_shop(app, "other-shop.myshopify.com")
    elsewhere = clout("show", str(maya), "--shop", "other-shop.myshopify.com")

    # then it reads as the agents' page does: who, what they did, the order, the trail
    assert shown.exit_code == 0, shown.output
    rows = shown.output.splitlines()
    assert rows[0].startswith(f"case {maya}\tresolved\t")
    assert rows[1].startswith("customer\tMaya Ortiz\t")
    assert any(r.startswith("order\t#1001\t") for r in rows)
    # both scores side by side, each with its reasons (the profile's, or "unknown")
    profile = json.loads(as_json.output)["influence"]
    for score in ("clout", "klout"):
        [row] = [r for r in rows if r.startswith(f"{score}\t")]
        value = profile[score]
        assert row.split("\t")[1] == ("unknown" if value is None else f"{value:.1f}")
        assert all(reason in row for reason in profile[f"{score}_reasons"])
    assert any(r.startswith("signal\t") and "\trefund\t" in r for r in rows)
    assert any(r.startswith("trail\t") and "\tresolved\tcli:ops\t" in r for r in rows)
    assert rows[-1].endswith("\tcli:ops\tRefund sent.")
    assert json.loads(as_json.output)["resolution_note"] == "Refund sent."
    assert (elsewhere.exit_code, elsewhere.output) == (
        1,
        f"no case {maya} in other-shop.myshopify.com\n",
    )


def test_show_lists_every_signal_however_many_the_page_shows(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given Maya, who left 300 bad reviews on her open case
    keeps_reviewing(app, SHOP, "Maya", times=300)

    # when an operator shows the case
    shown = clout("show", str(busy["Maya Ortiz"]), "--shop", SHOP)

    # then every signal is there, oldest first (the page shows a selection; the record is whole)
    assert shown.exit_code == 0, shown.output
    signals = [r for r in shown.output.splitlines() if r.startswith("signal\t")]
    assert len(signals) == 301
    assert "Arrived broken." in signals[0]
    assert "Bad review number 299." in signals[-1]


def test_an_id_or_a_limit_out_of_range_is_a_usage_error_not_a_traceback(
    settings: dict[str, Any], clout: Any, shop: Shop
) -> None:
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}
    huge = "99999999999999999999999"

    answers = [
        clout("show", huge, "--shop", SHOP),
        clout("resolve", huge, "--shop", SHOP),
        CliRunner().invoke(main, ["deliveries", "list", "--limit", "0"], env=env),
        CliRunner().invoke(main, ["deliveries", "retry", huge], env=env),
    ]

    assert [a.exit_code for a in answers] == [2, 2, 2, 2]
    assert not any("Traceback" in a.output for a in answers)


def test_show_as_json_escapes_what_a_terminal_would_obey(
    app: Flask, clout: Any, shop: Shop
) -> None:
    # given a customer whose name carries a right-to-left override and a C1 control
    hostile = Case("Eve\u202eliveE \u009bX", "refund", "high", "high", 5)
    case = open_case(app, SHOP, hostile, number=8)

    shown = clout("show", str(case), "--shop", SHOP, "--json")

    assert shown.exit_code == 0, shown.output
    assert all(c == "\n" or c.isprintable() for c in shown.output)
    assert json.loads(shown.output)["customer"]["name"].startswith("Eve\u202e")


def test_with_one_store_connected_the_desk_needs_no_shop_and_with_two_it_asks(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given one store, the one a new merchant has just connected
    maya = busy["Maya Ortiz"]

    # when an operator shows and resolves a case without naming the store
    shown = clout("show", str(maya))
    resolved = clout("resolve", str(maya), "--by", "ops")

    # then the one store is meant
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith(f"case {maya}\topen\t")
    assert resolved.exit_code == 0
    assert resolved.stdout == f"{maya}\tresolved\n"
    assert resolved.stderr == f"store: {SHOP}\n"  # the store assumed is said

    # given a second store
    connect_shop(app, "other-shop.myshopify.com")

    # when the store is left out again
    asked = clout("reopen", str(maya), "--by", "ops")

    # then nothing is done, and the operator is told which stores there are
    assert asked.exit_code == 2
    assert "Clout knows 2 stores" in asked.output
    assert SHOP in asked.output
    assert "other-shop.myshopify.com" in asked.output
    assert case_of(app, maya)[0].status == "resolved"


def test_with_no_store_connected_the_desk_says_how_to_connect_one(app: Flask, clout: Any) -> None:
    answer = clout("show", "1")

    assert answer.exit_code == 2  # click's usage error
    assert "no store is connected (see `clout shops add`)" in answer.output


def test_a_store_that_was_uninstalled_still_counts_when_none_is_named(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given the one store's case, and a second store that has since uninstalled Clout
    maya = busy["Maya Ortiz"]
    connect_shop(app, "gone-shop.myshopify.com")
    with session_scope(state(app).sessions) as session:
        gone = session.query(Shop).filter_by(domain="gone-shop.myshopify.com").one()
        gone.uninstalled_at = utcnow()

    # when an operator leaves the store out
    asked = clout("show", str(maya))

    # then Clout does not guess: it names both, and which one is gone
    assert asked.exit_code == 2
    assert "gone-shop.myshopify.com (uninstalled)" in asked.output
    assert SHOP in asked.output


def test_a_case_taken_on_the_agents_page_is_listed_under_the_agents_login(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given an agent who took Maya's case on the agents' page ("assign to me")
    maya = busy["Maya Ortiz"]
    add_agent(app, "ana@example.org", SHOP)
    page = app.test_client()
    assert log_in(page, "ana@example.org").status_code == 302
    taken = page.post(
        f"/agents/api/incidents/{maya}/assign",
        json={"to": "me"},
        headers={"X-CSRF-Token": page_csrf(page)},
    )
    assert taken.status_code == 200, taken.json

    # when the operator lists the cases
    rows = [row.split("\t") for row in clout("list").output.splitlines()]

    # then it shows who that is, not the page's number for them
    [row] = [r for r in rows[1:] if int(r[0]) == maya]
    assert row[-2] == "ana@example.org"


def test_the_list_marks_overdue_cases_escalated_ones_too(
    app: Flask, clout: Any, busy: dict[str, int]
) -> None:
    # given Maya's case past its deadline: overdue in the list
    def maya_row() -> str:
        listed = clout("list", "--shop", SHOP)
        assert listed.exit_code == 0, listed.output
        return next(row for row in listed.output.splitlines() if "Maya Ortiz" in row)

    assert "(overdue)" in maya_row()

    # when the worker escalates it: a new, shorter deadline still ahead
    with session_scope(state(app).sessions) as session:
        escalate_overdue(
            session=session,
            now=utcnow(),
            floors=lambda _shop_id: DEFAULT_FLOORS,
            notifier=lambda _shop_id: Notifier(),
        )

    # then it is still overdue there, as on the page and by the tag in Shopify; others not
    assert "(overdue)" in maya_row()
    listed = clout("list", "--shop", SHOP).output.splitlines()
    assert [row for row in listed if "(overdue)" in row and "Maya Ortiz" not in row] == []


def test_the_deliveries_list_takes_one_store(
    app: Flask, settings: dict[str, Any], shop: Shop
) -> None:
    # given a delivery for this store and one for another on the same install
    connect_shop(app, "other-shop.myshopify.com")
    record_delivery_now(app, topic="orders/create", payload={"id": 1})
    record_delivery_now(
        app, topic="orders/create", payload={"id": 2}, shop_domain="other-shop.myshopify.com"
    )
    env = {k: str(v) for k, v in settings.items() if k.startswith(("CLOUT_", "SHOPIFY_"))}

    # when the operator lists one store's deliveries
    listed = CliRunner().invoke(main, ["deliveries", "list", "--shop", SHOP], env=env)

    # then only that store's are there
    assert listed.exit_code == 0, listed.output
    rows = listed.output.splitlines()[1:]
    assert len(rows) == 1
    assert SHOP in rows[0]
    assert "other-shop" not in listed.output
