"""The agents' page in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
installs) driven by Playwright, against Clout served over HTTP with seeded incidents."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)
from sqlalchemy import select
from werkzeug.serving import make_server

from service.agents.desk import assign_case, close_case
from service.core.db import session_scope
from service.core.models import Customer, Incident, OutboundEffect, Shop, utcnow
from service.core.vocabulary import IncidentStatus
from service.dev.devstore.store import Customer as DevCustomer
from service.dev.devstore.store import Order as DevOrder
from tests.support.agents_page import (
    BUSY_DAY,
    PASSWORD,
    Case,
    add_agent,
    complains_again,
    connect_shop,
    keeps_reviewing,
    log_in,
    open_case,
)
from tests.support.clout import RunningDevStore, state
from tests.support.helpers import CLIENT_ID, SHOP, session_token, wait_for
from tests.support.pipeline import ATTENTION, Pipeline, running_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start, and this machine's network refuses it.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
# The queue and the charts load side by side; keys pressed before the queue is drawn find no
# card, so a test starts only once both are on the page.
LOADED = "body[data-charts-drawn][data-queue-loaded]"


def chromium_path() -> str:
    for candidate in (
        os.environ.get("CLOUT_TEST_CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        shutil.which("google-chrome"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip(
        "no Chromium on this machine: install Debian's `chromium` (apt-get install chromium; "
        ".ci/run does it where it can) or set CLOUT_TEST_CHROMIUM to a Chromium binary"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@dataclass
class Served:
    app: Flask
    base: str
    incidents: dict[str, int]


@pytest.fixture
def served(make_app: Callable[..., Flask]) -> Iterator[Served]:
    """Clout on a real HTTP server (an embedded app too) with a busy day's queue and an agent."""
    app = make_app(SHOPIFY_API_KEY=CLIENT_ID)
    connect_shop(app, SHOP)
    cases = (
        *BUSY_DAY,
        Case("Noor Haddad", "return", "high", "high", 30, clout=64, klout=71, band="medium"),
        Case("Leo Brandt", "cancellation", "normal", "normal", 60, clout=35, klout=None),
    )
    incidents = {case.name: open_case(app, SHOP, case, number=n) for n, case in enumerate(cases)}
    add_agent(app, "agent@example.org", SHOP)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(app=app, base=f"http://127.0.0.1:{server.server_port}", incidents=incidents)
    finally:
        server.shutdown()
        thread.join()


@dataclass
class Watched:
    page: Page
    requests: list[str]
    problems: list[str]


def watch(page: Page) -> Watched:
    watched = Watched(page=page, requests=[], problems=[])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.problems.append(message.text)

    def on_request(request: Request) -> None:
        watched.requests.append(request.url)

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.problems.append(str(error)))
    page.on("request", on_request)
    return watched


def card_names(page: Page) -> list[str]:
    return page.locator("#queue .card .name").all_inner_texts()


def drawn_pixels(page: Page, canvas: str) -> int:
    """How many pixels of a chart's canvas are painted: a chart that failed draws none."""
    count: int = page.evaluate(
        """(id) => {
            const canvas = document.getElementById(id);
            const context = canvas.getContext("2d");
            const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }""",
        canvas,
    )
    return count


def test_an_agent_works_the_queue_in_a_real_browser(
    browser: Browser, served: Served, tmp_path: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watched = watch(page)

    # given an agent who signs in
    page.goto(f"{served.base}/agents")
    assert page.url.endswith("/agents/login")
    page.fill("input[name=email]", "agent@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(LOADED)

    # then the queue is in deadline order, the overdue customer first and marked so
    assert card_names(page) == [
        "Maya Ortiz",
        "Ada Park",
        "Ivy Chen",
        "Noor Haddad",
        "Sam Lee",
        "Leo Brandt",
    ]
    first = page.locator("#queue .card").first
    assert "overdue by 1 h" in first.locator(".left").inner_text()
    assert "clout 98 · Klout unknown" in first.locator(".scores").inner_text()
    first.locator("summary").click()
    assert "brought 5 new customers through referrals" in first.inner_text()
    # and the case's trail says what happened, one line each
    expect(first.locator(".trail li").first).to_contain_text("refund signal arrived")
    assert first.locator(".timeline .sentences li").count() == 1

    # and both charts are drawn, with the quadrants named
    assert drawn_pixels(page, "influence-chart") > 5000
    assert drawn_pixels(page, "fairness-chart") > 500
    points = page.evaluate(
        "() => Chart.getChart('influence-chart').data.datasets.flatMap(d => d.data).length"
    )
    assert points == 5  # all but Ada, whose influence is not known yet
    quadrants = page.locator("#quadrants").inner_text()
    assert "Word-of-mouth influencers" in quadrants
    assert "1 not placed" in quadrants

    # when the agent filters to urgent cases
    page.select_option("select[name=priority]", "urgent")
    expect(page.locator("#queue .card")).to_have_count(2)
    assert card_names(page) == ["Maya Ortiz", "Ada Park"]

    # and resolves Ada's case from the page
    page.select_option("select[name=priority]", "")
    expect(page.locator("#queue .card")).to_have_count(6)
    ada = page.locator("#queue .card", has_text="Ada Park")
    ada.locator("button.resolve").click()
    ada.locator("textarea[name=note]").fill("Called her; refund on its way.")
    ada.locator("button.confirm-close").click()
    expect(page.locator("#queue .card")).to_have_count(5)

    # then Ada has left the queue and her incident is resolved, by this agent
    assert "Ada Park" not in card_names(page)
    with state(served.app).sessions() as session:
        incident = session.get(Incident, served.incidents["Ada Park"])
        assert incident is not None
        assert incident.status == "resolved"
        assert incident.resolved_by == "page:agent-1"
        assert incident.resolution_note == "Called her; refund on its way."

    # and nothing came from anywhere but Clout itself, and the page raised no error
    assert all(url.startswith(served.base) for url in watched.requests), watched.requests
    assert watched.problems == []
    page.screenshot(path=str(os.environ.get("CLOUT_SCREENSHOT_TO") or tmp_path / "agents.png"))
    context.close()


def test_a_case_with_many_signals_shows_the_worst_and_latest_with_their_words(
    browser: Browser, served: Served
) -> None:
    # given Maya (a critical refund) who left 30 bad reviews on the same case, the last five 2★
    keeps_reviewing(served.app, SHOP, "Maya", times=30)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watched = watch(page)
    page.goto(f"{served.base}/agents/login")
    page.fill("input[name=email]", "agent@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(LOADED)

    # when the agent opens her card
    maya = page.locator("#queue .card", has_text="Maya Ortiz")
    maya.locator("summary").click()

    # then it shows ten signals, says how many more there are, and puts each review's stars
    # beside that review
    items = maya.locator(".timeline > li")
    expect(items).to_have_count(10)
    expect(maya).to_contain_text("21 more signals, older or less severe")
    expect(items.first).to_contain_text("Arrived broken.")
    expect(items.last.locator(".words")).to_have_text("2★")
    expect(items.nth(1).locator(".words")).to_have_text("1★")
    assert watched.problems == []
    context.close()


def test_inside_the_shopify_admin_the_page_uses_app_bridge_session_tokens(
    browser: Browser, served: Served
) -> None:
    # given Clout as an embedded app, and the admin's App Bridge (Shopify's edge, stood in for
    # here) handing the page a session token for the shop
    context = browser.new_context()
    page = context.new_page()
    watched = watch(page)
    minted: list[str] = []

    def shopify_cdn(route: Route) -> None:
        if route.request.url != APP_BRIDGE:
            # Shopify's helper also preloads Polaris; the page does not use it.
            route.fulfill(content_type="text/javascript", body="")
            return
        token = session_token()
        minted.append(token)
        route.fulfill(
            content_type="text/javascript",
            body=f"window.shopify = {{ idToken: async () => {token!r} }};",
        )

    page.route("https://cdn.shopify.com/**", shopify_cdn)

    # when the admin opens the app
    page.goto(f"{served.base}/app?shop={SHOP}&host=aG9zdA&embedded=1&id_token={session_token()}")
    page.wait_for_selector(LOADED)

    # then the queue loads over session tokens, with no login
    assert minted, "the page did not load App Bridge"
    assert card_names(page)[0] == "Maya Ortiz"
    assert watched.problems == []
    context.close()


def app_bridge_stand_in(page: Page) -> None:
    """Shopify's App Bridge (its edge, stood in for): hands the page a session token."""

    def shopify_cdn(route: Route) -> None:
        if route.request.url != APP_BRIDGE:
            route.fulfill(content_type="text/javascript", body="")
            return
        route.fulfill(
            content_type="text/javascript",
            body=f"window.shopify = {{ idToken: async () => {session_token()!r} }};",
        )

    page.route("https://cdn.shopify.com/**", shopify_cdn)


def test_a_merchant_changes_settings_and_connects_a_review_app_in_the_admin(
    browser: Browser, served: Served
) -> None:
    # given the merchant opening Clout's settings inside the Shopify admin
    context = browser.new_context()
    page = context.new_page()
    watched = watch(page)
    app_bridge_stand_in(page)
    page.goto(
        f"{served.base}/app/settings?shop={SHOP}&host=aG9zdA&embedded=1&id_token={session_token()}"
    )
    page.wait_for_selector("#fields input[name='deadline.high']")

    # when they shorten the high deadline and give an invalid Slack address
    page.fill("input[name='deadline.high']", "12")
    page.fill("input[name='notify.slack_url']", "slack please")
    page.click("#settings-form button[type=submit]")

    # then nothing is saved and they are told why
    expect(page.locator("#form-status")).to_contain_text("notify.slack_url")

    # when they clear the bad address and save again
    page.fill("input[name='notify.slack_url']", "")
    page.click("#settings-form button[type=submit]")

    # then the change is saved and recorded with who made it
    expect(page.locator("#form-status")).to_contain_text("deadline.high")
    expect(page.locator("#history tr")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("admin:staff-42")

    # when they connect Trustpilot
    trustpilot = page.locator(".review-app", has_text="Trustpilot")
    trustpilot.locator("summary").click()
    trustpilot.locator("button[type=submit]").click()

    # then it shows as connected, with its keyed URL to paste
    expect(trustpilot).to_have_class("review-app connected")
    trustpilot = page.locator(".review-app", has_text="Trustpilot")
    trustpilot.locator("summary").click()
    expect(trustpilot.locator("code.url")).to_contain_text(
        f"/webhooks/reviews/trustpilot/{SHOP}?key="
    )
    # (the refused save is the one 400 the browser saw)
    assert [p for p in watched.problems if "status of 400" not in p] == []
    context.close()


# --- the desk by keyboard, pages, the resolved view, the picture, accessibility --------------

REPO = Path(__file__).resolve().parents[3]
AXE_INSTALL = "npm install --prefix .cache/axe axe-core@4.10.3"


def axe_path() -> Path:
    """axe-core's browser build: CLOUT_TEST_AXE, or where `.ci/run` installs it with npm."""
    for candidate in (
        os.environ.get("CLOUT_TEST_AXE"),
        REPO / ".cache/axe/node_modules/axe-core/axe.min.js",
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.skip(
        f"axe-core is not installed: run `{AXE_INSTALL}` (.ci/run does where npm is), or set "
        "CLOUT_TEST_AXE to an axe.min.js"
    )


def axe_violations(page: Page, axe: Path) -> list[str]:
    """What axe-core finds wrong with the page as it stands (WCAG 2.1 AA and best practice)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe))
    found: list[str] = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            const where = (v) => v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ");
            return result.violations.map((v) => `${v.id} (${v.impact}): ${where(v)}`);
        }"""
    )
    return found


def signed_in(browser: Browser, served: Served, *, width: int, **context: object) -> Page:
    page = browser.new_context(viewport={"width": width, "height": 900}, **context).new_page()
    page.goto(f"{served.base}/agents/login")
    page.fill("input[name=email]", "agent@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(LOADED)
    return page


def status_of(served: Served, name: str) -> str:
    with state(served.app).sessions() as session:
        incident = session.get(Incident, served.incidents[name])
        assert incident is not None
        return str(incident.status)


@pytest.mark.parametrize("width", [1400, 390])
def test_the_page_has_no_accessibility_violations_on_a_desktop_or_a_phone(
    browser: Browser, served: Served, width: int
) -> None:
    axe = axe_path()
    # given an agent on the page (the CSP set aside for this context only, so axe can run)
    page = signed_in(browser, served, width=width, bypass_csp=True)
    watched = watch(page)
    problems: dict[str, list[str]] = {}

    # then nothing is wider than the screen, and Sign out is on it
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    box = page.locator("button", has_text="Sign out").bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width

    # when axe-core checks each state the page can be in
    problems["queue"] = axe_violations(page, axe)
    page.locator("#queue .card").first.locator("summary").click()
    expect(page.locator("#queue .card").first.locator(".trail li").first).not_to_contain_text(
        "Loading"
    )
    page.locator("#picture-table-box summary").click()
    problems["case details and the table"] = axe_violations(page, axe)
    page.locator("#picture-table button", has_text="Maya Ortiz").click()
    expect(page.locator("#case-dialog")).to_be_visible()
    problems["a case opened from the picture"] = axe_violations(page, axe)
    page.locator("#case-dialog button", has_text="Close").click()
    page.click("#show-resolved")
    expect(page.locator("#resolved-status")).to_contain_text("No case closed yet")
    problems["the resolved view"] = axe_violations(page, axe)
    page.click("#show-waiting")
    page.fill("input[name=q]", "nobody-like-this")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#queue-status")).to_contain_text("No case matches")
    problems["no case matching"] = axe_violations(page, axe)

    # then none of them has a violation
    assert {state: found for state, found in problems.items() if found} == {}
    assert watched.problems == []
    page.context.close()


def test_an_agent_resolves_by_keyboard_and_undoes_it(browser: Browser, served: Served) -> None:
    # given an agent on the page
    page = signed_in(browser, served, width=1400)

    # when they move to the second case with j, press r, type a note and Enter
    page.keyboard.press("j")
    page.keyboard.press("j")
    ada = page.locator("#queue .card", has_text="Ada Park")
    expect(ada).to_be_focused()
    page.keyboard.press("r")
    expect(ada.locator("textarea[name=note]")).to_be_focused()
    page.keyboard.type("Refund on its way.")
    page.keyboard.press("Enter")

    # then Ada's case is resolved, and the page says so where a screen reader hears it
    expect(page.locator("#queue .card", has_text="Ada Park")).to_have_count(0)
    expect(page.locator("#announce")).to_contain_text("Resolved Ada Park.")
    assert status_of(served, "Ada Park") == "resolved"

    # when they press u (undo)
    page.keyboard.press("u")

    # then the case is back in the queue, open, and its trail says it was reopened
    expect(page.locator("#announce")).to_contain_text("Reopened Ada Park.")
    expect(page.locator("#queue .card", has_text="Ada Park")).to_have_count(1)
    assert status_of(served, "Ada Park") == "open"
    ada = page.locator("#queue .card", has_text="Ada Park")
    ada.locator("summary").click()
    expect(ada.locator(".trail")).to_contain_text("reopened")


def test_a_late_close_says_it_was_closed_already_and_offers_no_undo(
    browser: Browser, served: Served
) -> None:
    # given an agent on the page, and Ada's case closed meanwhile from the order's admin block
    page = signed_in(browser, served, width=1400)
    with session_scope(state(served.app).sessions) as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert shop is not None
        closed = close_case(
            session=session,
            shop=shop,
            incident_id=served.incidents["Ada Park"],
            by="admin:staff-7",
            now=utcnow(),
            note="Refunded by phone.",
        )
        assert closed is not None

    # when the agent, whose page still shows the case, resolves it with a note of her own
    ada = page.locator("#queue .card", has_text="Ada Park")
    ada.locator(".resolve").click()
    ada.locator("textarea[name=note]").fill("Sent a replacement.")
    ada.locator("textarea[name=note]").press("Enter")

    # then the page says it was closed already and her note was not saved, with no Undo that
    # would reopen the other close
    announced = page.locator("#announce")
    expect(announced).to_contain_text("Ada Park was closed already by admin:staff-7")
    expect(announced).to_contain_text("your note was not saved")
    expect(announced.locator("button.undo")).to_have_count(0)
    with state(served.app).sessions() as session:
        incident = session.get(Incident, served.incidents["Ada Park"])
        assert incident is not None
        assert (incident.status, incident.resolved_by, incident.resolution_note) == (
            IncidentStatus.RESOLVED,
            "admin:staff-7",
            "Refunded by phone.",
        )


def test_a_review_that_arrives_while_the_agent_reads_stays_open_after_her_close(
    browser: Browser, served: Served
) -> None:
    # given an agent on the page, and Ada leaving another bad review while she reads
    page = signed_in(browser, served, width=1400)
    assert (
        complains_again(served.app, SHOP, "Ada", ref="review:while-open")
        == (served.incidents["Ada Park"])
    )

    # when the agent resolves Ada's case as she read it
    ada = page.locator("#queue .card", has_text="Ada Park")
    ada.locator(".resolve").click()
    ada.locator("textarea[name=note]").fill("Refund on its way.")
    ada.locator("textarea[name=note]").press("Enter")

    # then the case she read is resolved, and the page says the review she had not seen is
    # open as a new case, back in the queue
    announced = page.locator("#announce")
    expect(announced).to_contain_text("Resolved Ada Park.")
    expect(announced).to_contain_text("open as a new case")
    assert status_of(served, "Ada Park") == "resolved"
    ada = page.locator("#queue .card", has_text="Ada Park")
    expect(ada).to_have_count(1)
    expect(ada).to_contain_text("Still broken.")


def test_bulk_selection_pages_and_the_resolved_view(browser: Browser, served: Served) -> None:
    # given a long queue: 26 more customers waiting than the busy day's six
    for n in range(26):
        extra = Case(f"Extra {n:02d}", "review", "normal", "normal", 90)
        open_case(served.app, SHOP, extra, number=50 + n)
    page = signed_in(browser, served, width=1400)

    # then the queue comes a page at a time
    expect(page.locator("#page-of")).to_have_text("page 1 of 2")
    expect(page.locator("#queue .card")).to_have_count(25)
    page.click("#next")
    expect(page.locator("#queue .card")).to_have_count(7)
    page.click("#prev")
    expect(page.locator("#queue .card")).to_have_count(25)

    # when the agent ticks two cases and resolves them together
    for name in ("Ivy Chen", "Sam Lee"):
        page.locator("#queue .card", has_text=name).locator(".pick").check()
    expect(page.locator("#bulk-count")).to_have_text("2 cases selected")
    page.click("#bulk-resolve")

    # then both are closed and listed as resolved, and one can be reopened from there
    expect(page.locator("#announce")).to_contain_text("Resolved 2 cases.")
    assert {status_of(served, "Ivy Chen"), status_of(served, "Sam Lee")} == {"resolved"}
    page.click("#show-resolved")
    expect(page.locator("#resolved .card")).to_have_count(2)
    # by the agent, named as colleagues know them (not by the page's number for them)
    expect(page.locator("#resolved .card", has_text="Ivy Chen")).to_contain_text(
        "by agent@example.org"
    )
    page.locator("#resolved .card", has_text="Sam Lee").locator("button.reopen").click()
    expect(page.locator("#resolved .card")).to_have_count(1)
    assert status_of(served, "Sam Lee") == "open"


def test_a_bulk_assign_says_which_cases_were_closed_meanwhile(
    browser: Browser, served: Served
) -> None:
    # given an agent who ticks two cases, one of which a colleague closes meanwhile
    page = signed_in(browser, served, width=1400)
    for name in ("Ivy Chen", "Sam Lee"):
        page.locator("#queue .card", has_text=name).locator(".pick").check()
    with session_scope(state(served.app).sessions) as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert shop is not None
        closed = close_case(
            session=session,
            shop=shop,
            incident_id=served.incidents["Sam Lee"],
            by="admin:staff-7",
            now=utcnow(),
        )
        assert closed is not None

    # when she assigns the two to herself
    page.click("#bulk-assign")

    # then the page says she took one, not two: the closed one is nobody's to work
    expect(page.locator("#announce")).to_contain_text(
        "Assigned 1 case to you; 1 closed already, not assigned."
    )


def test_taking_over_a_colleagues_case_is_said_and_ones_own_can_be_let_go(
    browser: Browser, served: Served
) -> None:
    # given a colleague who has taken Ivy's case
    add_agent(served.app, "second@example.org", SHOP)
    colleague = served.app.test_client()
    assert log_in(colleague, "second@example.org").status_code == 302
    colleague_id = colleague.get("/agents/api/queue").json["me"]
    with session_scope(state(served.app).sessions) as session:
        shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
        assert shop is not None
        taken = assign_case(
            session=session,
            shop=shop,
            incident_id=served.incidents["Ivy Chen"],
            to=colleague_id,
            by=f"page:{colleague_id}",
            now=utcnow(),
        )
        assert taken is not None
    page = signed_in(browser, served, width=1400)

    # when the agent looks at Ivy's card, then its button says whose case she would take
    ivy = page.locator("#queue .card", has_text="Ivy Chen")
    expect(ivy.locator("button.assign")).to_have_text("Take over from second@example.org")

    # when she takes it over
    ivy.locator("button.assign").click()

    # then the page says from whom, and the case is hers, with a button to let it go
    expect(page.locator("#announce")).to_contain_text(
        "Took over from second@example.org: Ivy Chen."
    )
    ivy = page.locator("#queue .card", has_text="Ivy Chen")
    expect(ivy.locator("button.assign")).to_have_text("Unassign")
    ivy.locator("button.assign").click()
    expect(page.locator("#announce")).to_contain_text("Unassigned: Ivy Chen.")
    with state(served.app).sessions() as session:
        incident = session.get(Incident, served.incidents["Ivy Chen"])
        assert incident is not None
        assert incident.assigned_to is None


def test_the_picture_follows_the_filters_and_a_point_opens_its_case(
    browser: Browser, served: Served
) -> None:
    # given an agent on the page: five customers placed (Ada's clout is not known yet)
    page = signed_in(browser, served, width=1400)
    count = "() => Chart.getChart('influence-chart').data.datasets.flatMap(d => d.data).length"
    assert page.evaluate(count) == 5
    # and the line between real pull and not is stated: the top quarter of these customers
    expect(page.locator("#split-note")).to_contain_text("clout 98 or more")
    expect(page.locator("#split-note")).to_contain_text("top quarter")

    # when they filter the queue to urgent cases
    page.select_option("select[name=priority]", "urgent")

    # then the picture shows the urgent customers only: Maya (Ada is not placed)
    expect(page.locator("#picture-table tbody tr")).to_have_count(1)
    assert page.evaluate(count) == 1

    # when they click Maya's point on the chart
    x, y = page.evaluate(
        """() => {
            const chart = Chart.getChart('influence-chart');
            const metas = chart.data.datasets.map((_, i) => chart.getDatasetMeta(i));
            const meta = metas.find((m) => m.data.length);
            const box = chart.canvas.getBoundingClientRect();
            return [box.left + meta.data[0].x, box.top + meta.data[0].y];
        }"""
    )
    page.mouse.click(x, y)

    # then her case opens, with what she said and what was done
    dialog = page.locator("#case-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#case-dialog-title")).to_have_text("Maya Ortiz")
    expect(dialog.locator("#case-dialog-trail")).to_contain_text("refund signal arrived")


def test_a_failed_load_says_so_offers_a_retry_and_keeps_no_stale_cards(
    browser: Browser, served: Served
) -> None:
    axe = axe_path()
    # given an agent on the page
    page = signed_in(browser, served, width=1400, bypass_csp=True)
    expect(page.locator("#queue .card")).to_have_count(6)

    # when Clout stops answering and the agent changes a filter
    page.route("**/agents/api/**", lambda route: route.fulfill(status=503, body="{}"))
    page.select_option("select[name=priority]", "urgent")

    # then the page says the queue could not be loaded, shows no stale cards, offers a retry,
    # and that state too has no accessibility violation
    status = page.locator("#queue-status")
    expect(status).to_contain_text("Could not load the queue")
    expect(page.locator("#queue .card")).to_have_count(0)
    assert axe_violations(page, axe) == []

    # when Clout is back and the agent retries, the filtered queue is there
    page.unroute("**/agents/api/**")
    status.locator("button", has_text="Retry").click()
    expect(page.locator("#queue .card")).to_have_count(2)

    # when the device goes offline, it says so at once
    page.context.set_offline(True)
    expect(status).to_contain_text("offline")
    page.context.set_offline(False)
    expect(page.locator("#queue .card")).to_have_count(2)
    page.context.close()


def test_a_channel_whose_notices_do_not_arrive_is_said_above_the_queue(
    browser: Browser, served: Served
) -> None:
    axe = axe_path()
    # given an agent on the page of a store whose floor reaches everyone: no warning
    page = signed_in(browser, served, width=1400, bypass_csp=True)
    page.wait_for_selector("body[data-health-loaded]")
    expect(page.locator("#health")).to_be_hidden()

    # when the store's Slack URL is deleted (its last escalation answered 404) and the page
    # loads again
    with session_scope(state(served.app).sessions) as session:
        shop = session.scalars(select(Shop).where(Shop.domain == SHOP)).one()
        session.add(
            OutboundEffect(
                shop_id=shop.id,
                kind="slack",
                key="escalation:1:1:slack",
                payload={},
                status="failed",
                error="the channel answered 404 Not Found",
                attempts=1,
                staged_at=utcnow(),
                settled_at=utcnow(),
            )
        )
    page.reload()
    page.wait_for_selector(LOADED)

    # then above the queue it says the Slack notices are not arriving, why, and where to mend
    # it, and the page with the warning has no accessibility violation
    health = page.locator("#health")
    expect(health).to_be_visible()
    expect(health).to_contain_text(
        "Slack notices are not arriving: the channel answered 404 Not Found"
    )
    expect(health).to_contain_text("Check the Slack address in Clout's Settings")
    expect(page.locator("#queue .card")).to_have_count(6)
    assert axe_violations(page, axe) == []
    page.context.close()


# --- each action end to end: the page, a real worker, and the Shopify emulator ---------------

RESOLVED = "clout-resolved"
URGENT = "clout-priority-urgent"


def clouts_tags(tags: list[str]) -> list[str]:
    """The tags Clout manages on an order or customer (the resolved tag is the merchant's)."""
    return [t for t in tags if t.startswith("clout-") and t != RESOLVED]


@dataclass
class Desk:
    """An agent's page on a Clout with a real worker, wired to the Shopify emulator."""

    pipeline: Pipeline
    page: Page
    base: str
    people: dict[str, DevCustomer]
    orders: dict[str, DevOrder]
    ids: dict[str, int]

    def card(self, name: str) -> Locator:
        return self.page.locator("#queue .card", has_text=name)

    def announced(self, message: str) -> None:
        expect(self.page.locator("#announce")).to_contain_text(message)

    def incident(self, name: str) -> Incident:
        with state(self.pipeline.app).sessions() as session:
            found = session.get(Incident, self.ids[name])
            assert found is not None
            return found

    def settled(self) -> None:
        wait_for(self.pipeline.settled, timeout=30)


@pytest.mark.e2e
def test_each_desk_action_on_the_page_lands_in_shopify(
    browser: Browser, make_app: Callable[..., Flask], devstore: RunningDevStore
) -> None:
    with running_pipeline(make_app, devstore) as pipeline:
        desk = three_chargebacks_on_the_page(browser, pipeline)
        watched = watch(desk.page)
        resolve_with_a_note_then_undo(desk)
        close_as_not_a_complaint(desk)
        assign_and_snooze(desk)
        # and the page raised no error along the way
        assert watched.problems == []
        desk.page.context.close()


def three_chargebacks_on_the_page(browser: Browser, pipeline: Pipeline) -> Desk:
    """Three chargebacks sent as the store's webhooks, tagged in Shopify by the worker, and an
    agent signed in to the page Clout serves."""
    people = {
        name: pipeline.dev.store.add_person(f"{name.split()[0].lower()}@example.org", *name.split())
        for name in ("Maya Ortiz", "Ada Park", "Ivy Chen")
    }
    orders = {name: pipeline.order(person) for name, person in people.items()}
    for n, order in enumerate(orders.values()):
        pipeline.sender.send(
            "disputes/create", {"id": 40 + n, "order_id": order.id, "type": "chargeback"}
        )
    for order in orders.values():
        pipeline.tagged(order, URGENT, timeout=30)
    wait_for(pipeline.settled, timeout=30)
    with state(pipeline.app).sessions() as session:
        names = {c.id: f"{c.first_name} {c.last_name}" for c in session.query(Customer)}
    ids = {names[i.customer_id]: i.id for i in pipeline.incidents()}
    add_agent(pipeline.app, "agent@example.org", SHOP)
    base = pipeline.intake.removesuffix("/webhooks/shopify")
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.goto(f"{base}/agents/login")
    page.fill("input[name=email]", "agent@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(LOADED)
    expect(page.locator("#queue .card")).to_have_count(3)
    return Desk(pipeline, page, base, people, orders, ids)


def resolve_with_a_note_then_undo(desk: Desk) -> None:
    maya, order = desk.people["Maya Ortiz"], desk.orders["Maya Ortiz"]

    # when the agent resolves Maya's case with a note
    card = desk.card("Maya Ortiz")
    card.locator("button.resolve").click()
    card.locator("textarea[name=note]").fill("Called her; refund on its way.")
    card.locator("button.confirm-close").click()
    desk.announced("Resolved Maya Ortiz.")

    # then her order in Shopify carries the resolved tag and none of Clout's, nor does she
    wait_for(lambda: RESOLVED in order.tags and not clouts_tags(order.tags), timeout=30)
    wait_for(lambda: not clouts_tags(maya.tags), timeout=30)
    desk.settled()
    assert ATTENTION not in order.tags
    assert desk.incident("Maya Ortiz").resolution_note == "Called her; refund on its way."

    # when they undo it
    desk.page.locator("#announce button.undo").click()
    desk.announced("Reopened Maya Ortiz.")

    # then the attention tag is back on the order, the resolved tag gone, the case waiting
    wait_for(lambda: ATTENTION in order.tags and RESOLVED not in order.tags, timeout=30)
    desk.settled()
    assert URGENT in order.tags
    assert desk.incident("Maya Ortiz").status == "open"
    expect(desk.card("Maya Ortiz")).to_have_count(1)


def close_as_not_a_complaint(desk: Desk) -> None:
    ada, order = desk.people["Ada Park"], desk.orders["Ada Park"]

    # when the agent closes Ada's case as not a complaint
    card = desk.card("Ada Park")
    card.locator("button.not-complaint").click()
    card.locator("textarea[name=note]").fill("A bank error, she says; not about us.")
    card.locator("button.confirm-close").click()
    desk.announced("Closed as not a complaint: Ada Park.")

    # then Clout's tags come off her order and her, and no resolved tag is added
    wait_for(lambda: not clouts_tags(order.tags), timeout=30)
    wait_for(lambda: not clouts_tags(ada.tags), timeout=30)
    desk.settled()
    assert RESOLVED not in order.tags
    closed = desk.incident("Ada Park")
    assert (closed.status, closed.resolution) == ("resolved", "not_a_complaint")


def assign_and_snooze(desk: Desk) -> None:
    ivy, order = desk.people["Ivy Chen"], desk.orders["Ivy Chen"]
    tags_before = sorted(order.tags)
    deadline_before = ivy.metafields[("clout", "attention_deadline")].value
    due_before = desk.incident("Ivy Chen").deadline_at

    # when the agent assigns Ivy's case to themselves and snoozes it
    desk.card("Ivy Chen").locator("button.assign").click()
    desk.announced("Assigned to you: Ivy Chen.")
    desk.card("Ivy Chen").locator("button.snooze").click()
    desk.announced("Snoozed for 4 hours: Ivy Chen.")

    # then the case leaves the waiting queue, and among the snoozed its trail shows both
    expect(desk.card("Ivy Chen")).to_have_count(0)
    desk.page.check("input[name=snoozed]")
    card = desk.card("Ivy Chen")
    expect(card).to_have_count(1)
    expect(card.locator(".reasons")).to_contain_text("assigned to agent@example.org")
    card.locator("summary").click()
    expect(card.locator(".trail")).to_contain_text("assigned to agent@example.org")
    expect(card.locator(".trail")).to_contain_text("snoozed until")
    # and so does the case's JSON
    answer = desk.page.request.get(f"{desk.base}/agents/api/incidents/{desk.ids['Ivy Chen']}")
    assert answer.ok
    found = answer.json()
    assert found["assigned_to"] == "agent-1"
    assert found["snoozed_until"] is not None
    assert [e["what"] for e in found["trail"]][-2:] == ["assigned", "snoozed"]

    # and in Shopify its attention tag, priority and deadline all stay as they were
    desk.settled()
    wait_for(desk.pipeline.sender.idle, timeout=30)
    assert sorted(order.tags) == tags_before
    assert ATTENTION in order.tags
    assert URGENT in order.tags
    assert ivy.metafields[("clout", "attention_deadline")].value == deadline_before
    incident = desk.incident("Ivy Chen")
    assert incident.status == "open"
    assert incident.deadline_at == due_before


def test_the_fairness_note_compares_no_band_on_too_few_cases(
    browser: Browser, served: Served
) -> None:
    # given one high-influence case resolved in an hour and one low-influence case resolved
    # in ten: one case a band, too few for `clout report fairness`, which says so and
    # compares nothing under three
    now = utcnow()
    with session_scope(state(served.app).sessions) as session:
        for name, hours in (("Ivy Chen", 1), ("Sam Lee", 10)):
            incident = session.get(Incident, served.incidents[name])
            assert incident is not None
            incident.status = IncidentStatus.RESOLVED
            incident.resolution = "resolved"
            incident.resolved_by = "page:agent-1"
            incident.opened_at = incident.first_seen_at = now - timedelta(hours=hours)
            incident.resolved_at = now

    # when an agent opens the page
    page = signed_in(browser, served, width=1400)
    note = page.locator("#fairness-note").inner_text()

    # then the page does not tell the merchant that low-influence customers wait longer on
    # one case each: the report the README points to refuses that comparison, and the page
    # is where a merchant would act on it
    assert "Waiting longer than" not in note, note


def test_the_fairness_note_names_a_band_waiting_longer_on_enough_cases(
    browser: Browser, served: Served
) -> None:
    # given three high-influence cases resolved in an hour and three low-influence ones in ten:
    # as many as `clout report fairness` needs to compare them
    cases = {
        open_case(
            served.app,
            SHOP,
            Case(f"High {n}", "refund", "high", "high", 20, band="high"),
            number=100 + n,
        ): 1
        for n in range(3)
    } | {
        open_case(
            served.app,
            SHOP,
            Case(f"Low {n}", "refund", "high", "high", 20, band="low"),
            number=200 + n,
        ): 10
        for n in range(3)
    }
    now = utcnow()
    with session_scope(state(served.app).sessions) as session:
        for incident_id, hours in cases.items():
            incident = session.get(Incident, incident_id)
            assert incident is not None
            incident.status = IncidentStatus.RESOLVED
            incident.resolution = "resolved"
            incident.resolved_by = "page:agent-1"
            incident.opened_at = incident.first_seen_at = now - timedelta(hours=hours)
            incident.resolved_at = now

    # when an agent opens the page
    page = signed_in(browser, served, width=1400)

    # then the note says the low band waits longer, as the report would
    expect(page.locator("#fairness-note")).to_contain_text(
        "Waiting longer than high-influence customers: low."
    )
