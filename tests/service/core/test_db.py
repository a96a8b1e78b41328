"""The database layer: what its errors may say, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.exc import IntegrityError

from service.core.db import make_engine, make_session_factory, session_scope
from service.core.models import Customer, Shop


def test_a_database_error_never_quotes_the_customers_data(
    app: Flask, shop: Shop, database_url: str
) -> None:
    # given a customer Clout already holds
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with session_scope(sessions) as session:
        session.add(Customer(shop_id=shop.id, shopify_id="42", email="first@example.org"))

    # when a second row for the same customer breaks a rule (what a worker's task can meet, and
    # Celery logs as it is: a traceback and the error's text, with no scrubbing)
    with pytest.raises(IntegrityError) as refused, session_scope(sessions) as session:
        session.add(
            Customer(
                shop_id=shop.id,
                shopify_id="42",
                email="jane.doe@example.org",
                first_name="Janeth",
                last_name="Doerington",
                phone="+447700900123",
            )
        )

    # then the error names the rule it broke, and none of the values that broke it
    engine.dispose()
    said = str(refused.value)
    assert "customers" in said
    for private in ("jane.doe@example.org", "Janeth", "Doerington", "+447700900123"):
        assert private not in said, said
