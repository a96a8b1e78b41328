"""The agents' page: the attention queue and the Klout-versus-clout picture.

Two ways in, one page. Inside the Shopify admin (`/app`, embedded) every request carries an App
Bridge session token, verified with `shopifyapp`, which names the shop. Standalone
(`/agents`), an agent created with `clout agents add` logs in and sees only the shops their
account names. Either way the JSON under `/agents/api/` is scoped to one shop, and an incident
of another shop is answered 404, exactly like one that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from shopify_app.verify.app_home_req import verify_app_home_req
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from service.agents.accounts import agents_named, end_session, session_agent, sign_in
from service.agents.assets import YEAR, accepts_gzip, asset
from service.agents.desk import (
    MAX_SNOOZE,
    CaseStateRefused,
    DeskRefused,
    Done,
    assign_case,
    assign_cases,
    close_case,
    close_cases,
    reopen_case,
    snooze_case,
)
from service.agents.health import store_problems
from service.agents.limits import give_back, take_attempt
from service.agents.queue import (
    PAGE,
    QUADRANT_SPLIT,
    QUADRANTS,
    REASONS,
    FilterError,
    QueueFilters,
    case_in_full,
    influence_picture,
    queue_page,
    resolved_cases,
)
from service.attention.fairness import BANDS, MIN_CASES, WARN_RATIO
from service.core.crypto import same_secret
from service.core.db import session_scope
from service.core.logs import get_logger
from service.core.models import Incident, Shop, utcnow
from service.core.shop_settings import shop_config
from service.core.state import Clout, clout_state
from service.core.vocabulary import Priority, ShopStatus
from service.deliveries.lifecycle import enqueue_attention
from service.shopify.embedded import (
    PATCH_ID_TOKEN_PATH,
    app_config,
    ensure_offline_token,
    frame_ancestors,
    verified_shop,
)
from service.shopify.shops import find_shop

log = get_logger(__name__)
blueprint = Blueprint(
    "dashboard",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/agents/static",
)
APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
APP_BRIDGE_PRELOAD = (
    f'<https://cdn.shopify.com>; rel="preconnect", <{APP_BRIDGE}>; rel="preload"; as="script"'
)


@dataclass(frozen=True)
class Viewer:
    shop: Shop
    who: str  # "agent-3" or "staff-<Shopify user id>": what a resolution is recorded as
    by_login: bool  # a cookie login (needs the CSRF token on every change)


class Refused(Exception):
    """A request answered with an error: `outcome` for programs (a code such as `not_found`,
    or for a request Clout cannot read, the sentence saying what is wrong with it), `detail`
    the sentence for a person when `outcome` is a code."""

    def __init__(
        self,
        status: int,
        outcome: str,
        headers: dict[str, str] | None = None,
        *,
        detail: str | None = None,
    ) -> None:
        super().__init__(outcome)
        self.status = status
        self.outcome = outcome
        self.headers = headers or {}
        self.detail = detail


@blueprint.errorhandler(Refused)
def refused(error: Refused) -> tuple[Response, int, dict[str, str]]:
    """Every refusal of the page's API and of the admin blocks' (registered there too), in
    one shape."""
    said = {"outcome": error.outcome}
    if error.detail is not None:
        said["detail"] = error.detail
    return no_store(jsonify(said)), error.status, error.headers


def no_store(response: Response) -> Response:
    # Customers' names and complaints: never kept by a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def page_headers(response: Response, *, embedded_for: str | None) -> Response:
    """A page's security headers; `embedded_for` is the checked shop domain whose admin may
    frame it (the embedded app), None for Clout's own pages (framed by nobody)."""
    scripts = "'self'" + (" https://cdn.shopify.com" if embedded_for is not None else "")
    ancestors = "'none'"
    if embedded_for is not None:
        ancestors = frame_ancestors(embedded_for).removeprefix("frame-ancestors ").rstrip(";")
        response.headers["Link"] = APP_BRIDGE_PRELOAD
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return no_store(response)


@blueprint.app_template_global()
def asset_url(filename: str) -> str:
    """A static file's fingerprinted URL (kept a year by browsers; a new release, a new URL)."""
    found = asset(filename)
    if found is None:
        return url_for("dashboard.static", filename=filename)
    return url_for("dashboard.fingerprinted", digest=found.digest, filename=filename)


@blueprint.get("/agents/assets/<digest>/<path:filename>")
def fingerprinted(digest: str, filename: str) -> Response:
    found = asset(filename)
    if found is None or digest != found.digest:
        # An old release's URL, or none at all: not these bytes, and not to be kept.
        return no_store(Response("not found\n", status=404, mimetype="text/plain"))
    gzipped = found.gzipped is not None and accepts_gzip(request.headers.get("Accept-Encoding", ""))
    response = Response(found.gzipped if gzipped else found.raw, mimetype=found.mimetype)
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def page_refused(result: Any) -> BaseResponse | tuple[BaseResponse, int]:
    """An embedded page load Shopify's check did not pass: its redirect to the patch-id-token
    page as it is (to fetch a fresh token), any other refusal as Clout's JSON."""
    log.info("session_token_refused", code=result.log.code)
    answer = result.response
    if answer.status == 302:
        return Response("", status=302, headers=dict(answer.headers))
    if answer.status >= 500:  # the helper's configuration errors: Clout's own, not the sender's
        return jsonify(outcome="unavailable", detail=result.log.code), 503
    refusal = jsonify(outcome="unauthorized")
    refusal.headers.update(answer.headers)  # X-Shopify-Retry-Invalid-Session-Request
    return refusal, 401


def _choices() -> dict[str, Any]:
    return {
        "priorities": tuple(Priority),
        "reasons": REASONS,
        "bands": BANDS,
        "quadrants": QUADRANTS,
        # The page's fairness note compares bands as `clout report fairness` does.
        "fairness": {"min_cases": MIN_CASES, "warn_ratio": WARN_RATIO},
    }


# --- who is asking --------------------------------------------------------------------------


def app_home_check(state: Clout) -> Any:
    """Shopify's own check of an App Home request: the page load (id_token in the query) or
    the page's fetches (a Bearer session token)."""
    return verify_app_home_req(
        {
            "method": request.method,
            "url": request.url,
            "headers": dict(request.headers),
            "body": "",
        },
        app_config(state),
        PATCH_ID_TOKEN_PATH,
    )


def session_token_viewer() -> Viewer:
    state = clout_state()
    result = app_home_check(state)
    if not result.ok or not result.shop:
        log.info("session_token_refused", code=result.log.code)
        raise Refused(401, "unauthorized", dict(result.response.headers))
    domain = verified_shop(result.shop)
    if domain is None:
        raise Refused(401, "unauthorized")
    with session_scope(state.sessions) as db:
        shop = find_shop(session=db, domain=domain)
        if shop is None or shop.status != ShopStatus.ACTIVE:
            raise Refused(403, "shop_not_installed")
        db.expunge(shop)
    return Viewer(shop=shop, who=f"staff-{result.user_id or 'unknown'}", by_login=False)


def _login_viewer() -> Viewer:
    state = clout_state()
    with session_scope(state.sessions) as db:
        agent = session_agent(session=db, token=session.get("sid"), now=utcnow())
        if agent is None:
            raise Refused(401, "login_required")
        wanted = request.args.get("shop")
        shops = list(agent.shops)
        shop = next((s for s in shops if s.domain == wanted), None) if wanted else None
        if wanted and shop is None:
            raise Refused(403, "not_your_shop")
        # Their first shop still installed, unless they asked for one.
        active = [s for s in shops if s.status == ShopStatus.ACTIVE]
        shop = shop or next(iter(active or shops), None)
        if shop is None:
            raise Refused(403, "no_shop")
        if shop.status != ShopStatus.ACTIVE:
            # The merchant uninstalled Clout: its customers' cases are kept until Shopify's
            # shop/redact, for the operator (`clout incidents`), not for the page, as a
            # session token, an admin block or Flow is refused for it.
            raise Refused(403, "shop_not_installed")
        db.expunge(shop)
        return Viewer(shop=shop, who=f"agent-{agent.id}", by_login=True)


def current_viewer() -> Viewer:
    if "Authorization" in request.headers:
        return session_token_viewer()
    return _login_viewer()


def _check_csrf(viewer: Viewer) -> None:
    if not viewer.by_login:
        return  # a session token in a header is not something another site can make a browser send
    expected = session.get("csrf")
    given = request.headers.get("X-CSRF-Token", "")
    if not isinstance(expected, str) or not same_secret(given, expected):
        raise Refused(403, "csrf_token_missing_or_wrong")


# --- pages ----------------------------------------------------------------------------------


@blueprint.get("/agents")
def standalone_page() -> BaseResponse:
    state = clout_state()
    with session_scope(state.sessions) as db:
        agent = session_agent(session=db, token=session.get("sid"), now=utcnow())
        if agent is None:
            return redirect(url_for("dashboard.login"))
        shops = [s.domain for s in agent.shops]
        email = agent.email
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    page = render_template(
        "agents.html",
        mode="standalone",
        shops=shops,
        agent_email=email,
        csrf=session["csrf"],
        api_key="",
        app_bridge=None,
        choices=_choices(),
    )
    return page_headers(Response(page, mimetype="text/html"), embedded_for=None)


@blueprint.get("/app")
def embedded_page() -> BaseResponse | tuple[BaseResponse, int]:
    """The app's home inside the Shopify admin. The first visit also installs the shop (token
    exchange for an offline token)."""
    state = clout_state()
    result = app_home_check(state)
    shop = verified_shop(result.shop) if result.ok else None
    if shop is None:
        return page_refused(result)
    if not ensure_offline_token(state, shop, result.id_token):
        return jsonify(outcome="unavailable", detail="Shopify did not grant a token; retry"), 503
    page = render_template(
        "agents.html",
        mode="embedded",
        shops=[shop],
        agent_email=None,
        csrf="",
        api_key=state.settings.shopify_api_key or "",
        app_bridge=APP_BRIDGE,
        choices=_choices(),
    )
    return page_headers(Response(page, mimetype="text/html"), embedded_for=shop)


def _client_address() -> str:
    # The peer, or with CLOUT_TRUSTED_PROXIES the client the proxies name (ProxyFix).
    return request.remote_addr or "unknown"


def _login_form(*, error: str | None) -> Response:
    session["login_csrf"] = secrets.token_urlsafe(32)
    page = render_template("login.html", csrf=session["login_csrf"], error=error)
    return page_headers(Response(page, mimetype="text/html"), embedded_for=None)


@blueprint.route("/agents/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[BaseResponse, int]:
    if request.method == "GET":
        return _login_form(error=None)
    expected = session.pop("login_csrf", None)
    given = request.form.get("csrf", "")
    if not isinstance(expected, str) or not same_secret(given, expected):
        return redirect(url_for("dashboard.login"))
    state = clout_state()
    email = request.form.get("email", "")
    # A place is taken before the password is checked, so parallel guesses cannot overrun it.
    attempt = take_attempt(client=state.redis, address=_client_address(), email=email)
    if not attempt.allowed:
        log.info("agent_login_limited", retry_after=attempt.retry_after)
        minutes = -(-attempt.retry_after // 60)
        answer = _login_form(
            error=f"Too many failed attempts. Try again in {minutes} minute"
            + ("s." if minutes != 1 else ".")
        )
        answer.headers["Retry-After"] = str(attempt.retry_after)
        return answer, 429
    signed_in = sign_in(
        sessions=state.sessions,
        email=email,
        password=request.form.get("password", ""),
        now=utcnow(),
    )
    if signed_in is None:
        log.info("agent_login_refused")
        return _login_form(error="Wrong email or password."), 401
    give_back(client=state.redis, attempt=attempt)
    agent_id, token = signed_in
    session.clear()  # a fresh session on login: no fixation
    session.permanent = True
    session["sid"] = token  # the cookie holds the server session's token, nothing else of it
    session["csrf"] = secrets.token_urlsafe(32)
    log.info("agent_logged_in", agent_id=agent_id)
    return redirect(url_for("dashboard.standalone_page"))


@blueprint.post("/agents/logout")
def logout() -> BaseResponse:
    expected = session.get("csrf")
    given = request.form.get("csrf", "")
    if isinstance(expected, str) and same_secret(given, expected):
        with session_scope(clout_state().sessions) as db:
            end_session(session=db, token=session.get("sid"))  # copies of the cookie too
        session.clear()
    return redirect(url_for("dashboard.login"))


# --- the JSON the page reads ----------------------------------------------------------------


def _flag(name: str) -> bool | None:
    value = request.args.get(name, "")
    if value == "":
        return None
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise Refused(400, f"{name} must be true or false")


def _number(name: str, default: int) -> int:
    value = request.args.get(name, "")
    if value == "":
        return default
    if not (value.isascii() and value.isdigit()) or len(value) > 6:
        raise Refused(400, f"{name} must be a whole number")
    return int(value)


def _queue_filters(viewer: Viewer) -> QueueFilters:
    """The queue's filters from the query (the picture reads the same ones)."""
    return QueueFilters(
        priority=request.args.get("priority") or None,
        reason=request.args.get("reason") or None,
        overdue=_flag("overdue"),
        band=request.args.get("band") or None,
        search=request.args.get("q") or None,
        snoozed=_flag("snoozed"),
        assigned=request.args.get("assigned") or None,
        me=viewer.who,
    )


@blueprint.get("/agents/api/queue")
def queue() -> Response:
    viewer = current_viewer()
    try:
        filters = _queue_filters(viewer)
        now = utcnow()
        with session_scope(clout_state().sessions) as db:
            found = queue_page(
                session=db,
                shop=viewer.shop,
                now=now,
                filters=filters,
                page=_number("page", 1),
                per_page=_number("per_page", 25),
            )
            people = agents_named(
                session=db,
                recorded=[viewer.who, *(e["assigned_to"] for e in found.entries)],
                shop_id=viewer.shop.id,
            )
    except FilterError as error:
        raise Refused(400, str(error)) from error
    return no_store(
        jsonify(
            shop=viewer.shop.domain,
            now=now.isoformat(),
            me=viewer.who,
            people=people,
            page=found.page,
            per_page=found.per_page,
            counts={
                "matching": found.matching,
                "overdue": found.overdue,
                "snoozed": found.snoozed,
                "open": found.open_total,
            },
            filtered=found.filtered,
            incidents=found.entries,
        )
    )


@blueprint.get("/agents/api/health")
def store_health() -> Response:
    """What keeps the attention floor from reaching this store's people (tags Shopify refused
    or has not taken, notices not arriving), shown above the queue; empty when nothing does."""
    viewer = current_viewer()
    state = clout_state()
    with session_scope(state.sessions) as db:
        config = shop_config(
            session=db, shop_id=viewer.shop.id, defaults=state.settings, vault=state.vault
        )
        problems = store_problems(
            session=db,
            shop=viewer.shop,
            now=utcnow(),
            pending_alert_minutes=config.pending_alert_minutes,
        )
    return no_store(jsonify(shop=viewer.shop.domain, problems=problems))


@blueprint.get("/agents/api/incidents/<id:incident_id>")
def case(incident_id: int) -> Response:
    viewer = current_viewer()
    with session_scope(clout_state().sessions) as db:
        found = case_in_full(session=db, shop=viewer.shop, incident_id=incident_id, now=utcnow())
        if found is None:
            raise Refused(404, "not_found")
        found["people"] = agents_named(
            session=db,
            shop_id=viewer.shop.id,
            recorded=[
                found["assigned_to"],
                found["resolved_by"],
                *(event["by"] for event in found["trail"]),
                *(event["detail"].get("to") for event in found["trail"]),
            ],
        )
    return no_store(jsonify(found))


@blueprint.get("/agents/api/resolved")
def resolved() -> Response:
    viewer = current_viewer()
    try:
        with session_scope(clout_state().sessions) as db:
            cases, total = resolved_cases(
                session=db,
                shop=viewer.shop,
                page=_number("page", 1),
                per_page=_number("per_page", 25),
            )
            people = agents_named(
                session=db, recorded=(c["resolved_by"] for c in cases), shop_id=viewer.shop.id
            )
    except FilterError as error:
        raise Refused(400, str(error)) from error
    return no_store(jsonify(shop=viewer.shop.domain, total=total, incidents=cases, people=people))


@blueprint.get("/agents/api/picture")
def picture() -> Response:
    """The picture of the cases the queue's filters show (same query parameters)."""
    viewer = current_viewer()
    try:
        filters = _queue_filters(viewer)
    except FilterError as error:
        raise Refused(400, str(error)) from error
    with session_scope(clout_state().sessions) as db:
        drawn = influence_picture(session=db, shop=viewer.shop, now=utcnow(), filters=filters)
    return no_store(
        jsonify(
            shop=viewer.shop.domain,
            filtered=drawn.filtered,
            split={"clout": drawn.clout_split, "klout": QUADRANT_SPLIT},
            points=drawn.points,
            not_placed=drawn.not_placed,
            quadrants=[
                {"key": key, "label": label, "customers": drawn.quadrants[key]}
                for key, label in QUADRANTS.items()
            ],
            fairness=[
                {
                    "band": f.band,
                    "incidents": f.incidents,
                    "resolved": f.resolved,
                    "median_to_tag_seconds": f.median_to_tag_seconds,
                    "median_to_resolve_hours": f.median_to_resolve_hours,
                }
                for f in drawn.fairness
            ],
        )
    )


# --- the desk's actions ---------------------------------------------------------------------


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise Refused(400, f"{name} must be text")
    return value


def seen_at_field(body: dict[str, Any]) -> datetime | None:
    """When the person read the case they close (`seen_at`: the `now` the queue or the case
    answered with), so a signal recorded after it is not closed unseen (`desk.close_case`)."""
    value = body.get("seen_at")
    if value is None:
        return None
    try:
        seen = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        seen = None
    if seen is None:
        raise Refused(400, "seen_at must be the time the case was read, as the queue's `now`")
    return seen if seen.tzinfo else seen.replace(tzinfo=UTC)


def assignee(body: dict[str, Any], viewer: Viewer) -> str | None:
    """Who `{"to": …}` gives a case to: the one asking ("me"), or nobody ("" or none)."""
    to = text_field(body, "to")
    if to in (None, ""):
        return None
    if to == "me":
        return viewer.who
    raise Refused(400, 'to must be "me" or empty (nobody)')


@dataclass
class DeskCall:
    """A desk action under way: who asks (`by` is what the trail records), the JSON object
    they sent, and the transaction the desk's function runs in."""

    viewer: Viewer
    by: str
    body: dict[str, Any]
    session: Session
    answered: list[Done] = field(default_factory=list)

    def found(self, done: Done | None) -> Done:
        """A desk function's answer on one case; None (no such case for this shop) is 404."""
        if done is None:
            raise Refused(404, "not_found")
        self.answered.append(done)
        return done

    def found_all(self, done: list[Done]) -> list[Done]:
        """A bulk answer: ids that are not this shop's are left out of it, not refused."""
        self.answered.extend(done)
        return done


@contextmanager
def desk_call(viewer_of: Callable[[], Viewer], *, where: str) -> Iterator[DeskCall]:
    """The HTTP around one of the desk's actions, the same for the agents' page and the admin
    blocks, so a route only calls its desk function with its arguments and answers its
    success body. `viewer_of` says who asks (its own 401 and 403; the page's also checks
    CSRF); `where` prefixes what the trail records (`page:`, `admin:`).

    The contract, every refusal answered by `refused` as `{"outcome": …}`, plus `"detail"`
    when `outcome` is the desk's code and `detail` its sentence for a person:

    - 400: a request Clout cannot read — the body not a JSON object, a field of the wrong
      type, a value out of range, an unknown action (`outcome` says what is wrong), or one the
      desk refuses whatever the case (`DeskRefused`: `note_too_long`, `note_not_text`,
      `snooze_out_of_range`, `bulk_size`). Checked before the case is looked at, so it is 400
      even for no such case.
    - 404 `not_found`: no such case in this shop (another shop's case included). A bulk
      action leaves such ids out of its answer instead.
    - 409 Conflict: a well-formed request the case's current state refuses
      (`CaseStateRefused`: `closed`, `already_open`, `customer_has_open_case`); after a reload
      the same request may be taken.

    Nothing is committed on a refusal. After the commit the worker is rung for each case
    whose Shopify tags must change (`Done.changes_shopify`); a lost bell is rung again by the
    sweeper from the case's `needs_attention` flag.
    """
    viewer = viewer_of()
    body = json_body()
    try:
        with session_scope(clout_state().sessions) as db:
            call = DeskCall(viewer=viewer, by=where + viewer.who, body=body, session=db)
            yield call
    except CaseStateRefused as error:
        raise Refused(409, error.outcome, detail=str(error)) from error
    except DeskRefused as error:
        raise Refused(400, error.outcome, detail=str(error)) from error
    celery = current_app.extensions["celery"]
    for done in call.answered:
        if done.changes_shopify:
            enqueue_attention(celery=celery, incident_id=done.incident_id, shop=viewer.shop.domain)
        if done.carried_over is not None:
            enqueue_attention(celery=celery, incident_id=done.carried_over, shop=viewer.shop.domain)


def _acting_viewer() -> Viewer:
    viewer = current_viewer()
    _check_csrf(viewer)
    return viewer


def _desk() -> AbstractContextManager[DeskCall]:
    return desk_call(_acting_viewer, where=PAGE)


def _close(incident_id: int, *, not_a_complaint: bool) -> tuple[Response, int]:
    with _desk() as desk:
        done = desk.found(
            close_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                by=desk.by,
                now=utcnow(),
                note=text_field(desk.body, "note"),
                not_a_complaint=not_a_complaint,
                seen_at=seen_at_field(desk.body),
            )
        )
        # Closed before (another agent, another tab, a second click): whoever closed it first,
        # and `already_closed`, as bulk and the admin blocks say it, so the page neither calls
        # that close hers nor offers to undo it; her note was not saved.
        resolved_by = desk.session.get(Incident, incident_id).resolved_by  # type: ignore[union-attr]
    log.info(
        "incident_closed_on_page", incident_id=incident_id, by=desk.viewer.who, how=done.outcome
    )
    return no_store(jsonify({**desk_result(done), "resolved_by": resolved_by})), 200


@blueprint.post("/agents/api/incidents/<id:incident_id>/resolve")
def resolve(incident_id: int) -> tuple[Response, int]:
    return _close(incident_id, not_a_complaint=False)


@blueprint.post("/agents/api/incidents/<id:incident_id>/not-a-complaint")
def not_a_complaint(incident_id: int) -> tuple[Response, int]:
    return _close(incident_id, not_a_complaint=True)


@blueprint.post("/agents/api/incidents/<id:incident_id>/reopen")
def reopen(incident_id: int) -> tuple[Response, int]:
    """Undo a close: open again, the resolved tag off and Clout's tags back (by the worker)."""
    with _desk() as desk:
        desk.found(
            reopen_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                by=desk.by,
                now=utcnow(),
            )
        )
    log.info("incident_reopened_on_page", incident_id=incident_id, by=desk.viewer.who)
    return no_store(jsonify(outcome="reopened", id=incident_id)), 200


@blueprint.post("/agents/api/incidents/<id:incident_id>/assign")
def assign(incident_id: int) -> tuple[Response, int]:
    with _desk() as desk:
        to = assignee(desk.body, desk.viewer)
        desk.found(
            assign_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                to=to,
                by=desk.by,
                now=utcnow(),
            )
        )
    return no_store(jsonify(outcome="assigned", id=incident_id, assigned_to=to)), 200


def _snooze_until(body: dict[str, Any], now: datetime) -> datetime | None:
    hours = body.get("hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int | float)):
        raise Refused(400, "hours must be a number (0 or none: wake it now)")
    if hours is not None and not 0 <= hours <= MAX_SNOOZE / timedelta(hours=1):
        # Refused before a timedelta can overflow (1e300 hours) or a NaN slips through, in the
        # desk's own words.
        raise Refused(
            400, "snooze_out_of_range", detail="snooze until a time within the next 14 days"
        )
    return now + timedelta(hours=float(hours)) if hours else None


@blueprint.post("/agents/api/incidents/<id:incident_id>/snooze")
def snooze(incident_id: int) -> tuple[Response, int]:
    with _desk() as desk:
        now = utcnow()
        until = _snooze_until(desk.body, now)
        desk.found(
            snooze_case(
                session=desk.session,
                shop=desk.viewer.shop,
                incident_id=incident_id,
                until=until,
                by=desk.by,
                now=now,
            )
        )
    return no_store(
        jsonify(outcome="snoozed", id=incident_id, until=until.isoformat() if until else None)
    ), 200


def _case_ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids
    ):
        raise Refused(400, "ids must be a list of case ids")
    return ids


def desk_result(done: Done) -> dict[str, Any]:
    """What a close, or one case of a bulk action, answers: the case, what happened to it, and
    the new case holding what the person could not have seen, if any."""
    said: dict[str, Any] = {"id": done.incident_id, "outcome": done.outcome}
    if done.carried_over is not None:
        said["carried_over"] = done.carried_over
    return said


@blueprint.post("/agents/api/incidents/bulk")
def bulk() -> tuple[Response, int]:
    with _desk() as desk:
        ids = _case_ids(desk.body)
        action = desk.body.get("action")
        if action == "resolve":
            done = desk.found_all(
                close_cases(
                    session=desk.session,
                    shop=desk.viewer.shop,
                    incident_ids=ids,
                    by=desk.by,
                    now=utcnow(),
                    note=text_field(desk.body, "note"),
                    seen_at=seen_at_field(desk.body),
                )
            )
        elif action == "assign":
            done = desk.found_all(
                assign_cases(
                    session=desk.session,
                    shop=desk.viewer.shop,
                    incident_ids=ids,
                    to=assignee(desk.body, desk.viewer),
                    by=desk.by,
                    now=utcnow(),
                )
            )
        else:
            raise Refused(400, 'action must be "resolve" or "assign"')
    log.info("incidents_bulk_on_page", action=action, count=len(done), by=desk.viewer.who)
    return no_store(jsonify(outcome="done", results=[desk_result(d) for d in done])), 200
