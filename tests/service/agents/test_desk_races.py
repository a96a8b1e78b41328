"""Two people acting on the same case at the same moment (two agents, an agent and a worker):
each action takes the case's row in turn and sees what the other did, so a case is closed
once, never assigned once closed, and two batches over the same cases never deadlock. The
second action starts in another thread while the first's transaction is still open; on
PostgreSQL (CI's server variant) that is a real race, on SQLite writers already take turns."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.agents.desk import (
    DeskRefused,
    assign_case,
    close_case,
    close_cases,
    reopen_case,
)
from service.core.db import session_scope
from service.core.models import Customer, IncidentEvent, Shop, utcnow
from service.signals.incidents import raise_signal
from tests.support.agents_page import Case, complains_again, negative_review, open_case
from tests.support.clout import state
from tests.support.helpers import SHOP, at_once

Action = Callable[[Session], Any]


def overlapping(app: Flask, first: Action, second: Action) -> list[Any]:
    """`first` runs and stays uncommitted while `second` starts in another worker's
    transaction; then `first` commits. Both answers (an outcome, or the refusal's)."""
    sessions = state(app).sessions
    holding = sessions()
    answers: list[Any] = [first(holding), None]
    other = threading.Thread(target=lambda: answers.__setitem__(1, in_own(sessions, second)))
    other.start()
    time.sleep(0.5)  # long enough for it to reach the case, whatever it then waits for
    holding.commit()
    holding.close()
    other.join(30)
    return answers


def in_own(sessions: sessionmaker[Session], action: Action) -> Any:
    try:
        with session_scope(sessions) as session:
            return action(session)
    except DeskRefused as refused:
        return refused.outcome


def shop_of(session: Session) -> Shop:
    shop = session.scalar(select(Shop).where(Shop.domain == SHOP))
    assert shop is not None
    return shop


def close(incident_id: int, by: str, **options: Any) -> Action:
    def act(session: Session) -> str:
        done = close_case(
            session=session,
            shop=shop_of(session),
            incident_id=incident_id,
            by=by,
            now=utcnow(),
            **options,
        )
        assert done is not None
        return done.outcome

    return act


def reopen(incident_id: int, by: str) -> Action:
    def act(session: Session) -> str:
        done = reopen_case(
            session=session, shop=shop_of(session), incident_id=incident_id, by=by, now=utcnow()
        )
        assert done is not None
        return done.outcome

    return act


def trail(app: Flask, incident_id: int) -> list[str]:
    with session_scope(state(app).sessions) as session:
        return list(
            session.scalars(
                select(IncidentEvent.kind)
                .where(IncidentEvent.incident_id == incident_id)
                .order_by(IncidentEvent.id)
            )
        )


def anas_case(app: Flask) -> int:
    return open_case(app, SHOP, Case("Ana Buyer", "dispute", "high", "high", 20), number=1)


def test_two_agents_resolving_at_once_close_the_case_once(app: Flask, shop: Shop) -> None:
    # given Ana's open case
    case = anas_case(app)

    # when two agents resolve it at the same moment
    answers = overlapping(
        app, close(case, "page:agent-1", note="refunded"), close(case, "page:agent-2")
    )

    # then it is closed once, and the second agent is told it was closed already
    assert answers == ["resolved", "already_closed"]
    assert trail(app, case) == ["signal", "resolved"]


def test_resolve_and_not_a_complaint_at_once_close_the_case_once(app: Flask, shop: Shop) -> None:
    case = anas_case(app)

    answers = overlapping(
        app, close(case, "page:agent-1"), close(case, "page:agent-2", not_a_complaint=True)
    )

    assert answers == ["resolved", "already_closed"]
    assert trail(app, case) == ["signal", "resolved"]


def test_assigning_a_case_as_it_is_closed_is_refused(app: Flask, shop: Shop) -> None:
    case = anas_case(app)

    def assign(session: Session) -> str:
        done = assign_case(
            session=session,
            shop=shop_of(session),
            incident_id=case,
            to="agent-2",
            by="page:agent-2",
            now=utcnow(),
        )
        assert done is not None
        return done.outcome

    answers = overlapping(app, close(case, "page:agent-1"), assign)

    assert answers == ["resolved", "closed"]
    assert trail(app, case) == ["signal", "resolved"]


def test_two_batches_over_the_same_cases_in_opposite_orders_both_finish(
    app: Flask, shop: Shop
) -> None:
    sessions = state(app).sessions
    for round_ in range(5):
        # given ten open cases
        ids = [
            open_case(
                app,
                SHOP,
                Case(f"Kim{round_}x{k} Lee", "dispute", "high", "high", 20),
                number=100 + 10 * round_ + k,
            )
            for k in range(10)
        ]

        def batch(order: list[int], by: str) -> Callable[[], Any]:
            def act() -> Any:
                with session_scope(sessions) as session:
                    return [
                        d.outcome
                        for d in close_cases(
                            session=session,
                            shop=shop_of(session),
                            incident_ids=order,
                            by=by,
                            now=utcnow(),
                        )
                    ]

            return act

        # when two agents resolve them all at once, one in the list's order, one in reverse
        answers = at_once(batch(ids, "page:agent-1"), batch(ids[::-1], "page:agent-2"))

        # then neither batch fails (no deadlock), and each case is resolved once
        assert all(isinstance(a, list) for a in answers), answers
        assert sorted(answers[0] + answers[1]) == ["already_closed"] * 10 + ["resolved"] * 10


def test_two_closed_cases_of_one_customer_reopened_at_once_reopen_one(
    app: Flask, shop: Shop
) -> None:
    # given Ana's two closed cases
    first = anas_case(app)
    in_own(state(app).sessions, close(first, "page:agent-1"))
    second = complains_again(app, SHOP, "Ana", ref="review-2")
    in_own(state(app).sessions, close(second, "page:agent-1"))

    # when two agents reopen one each at the same moment
    answers = overlapping(app, reopen(first, "page:agent-1"), reopen(second, "page:agent-2"))

    # then one is reopened, and the other is refused as the desk says (409), not a 500
    assert answers == ["reopened", "customer_has_open_case"]


def test_a_new_complaint_while_a_case_is_reopened_joins_it(app: Flask, shop: Shop) -> None:
    # given Ana's closed case
    first = anas_case(app)
    in_own(state(app).sessions, close(first, "page:agent-1"))

    def complaint(session: Session) -> int:
        ana = session.scalar(select(Customer).where(Customer.first_name == "Ana"))
        assert ana is not None
        raised = raise_signal(
            session=session,
            shop=shop_of(session),
            customer=ana,
            order=None,
            draft=negative_review("r2"),
            now=utcnow(),
        )
        assert raised is not None
        return raised.incident.id

    # when an agent reopens it and, at that moment, a worker records her new bad review
    answers = overlapping(app, reopen(first, "page:agent-1"), complaint)

    # then the review joins the reopened case
    assert answers == ["reopened", first]
