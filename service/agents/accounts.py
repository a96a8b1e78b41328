"""Logins for Clout's own attention-queue page, for operators who run Clout themselves.

Inside the Shopify admin nobody logs in to Clout: Shopify's session token says which shop (and
which staff member) is asking. Outside it, an operator creates agents with `clout agents add`,
each allowed to see the shops named, and no others.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from service.core.models import Agent, Shop

MIN_PASSWORD_LENGTH = 12
EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # matched whole: fullmatch
# Checked when no such agent exists, so a wrong email costs as long as a wrong password and the
# answer's timing does not tell which emails have accounts.
_NOBODY = generate_password_hash("not a password anyone has")


class AgentError(ValueError):
    """An agent account that cannot be made as asked (the message says why)."""


def _shops(session: Session, domains: Sequence[str]) -> list[Shop]:
    if not domains:
        raise AgentError("name at least one shop the agent may see (--shop)")
    found = {
        shop.domain: shop
        for shop in session.scalars(select(Shop).where(Shop.domain.in_(set(domains))))
    }
    missing = sorted(set(domains) - set(found))
    if missing:
        raise AgentError(f"no such shop: {', '.join(missing)} (see `clout shops list`)")
    return [found[d] for d in dict.fromkeys(domains)]


def save_agent(
    *, session: Session, email: str, password: str, shop_domains: Sequence[str], now: datetime
) -> Agent:
    """Create the agent, or give an existing one a new password and these shops."""
    email = email.strip().lower()
    if not EMAIL.fullmatch(email):
        raise AgentError(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AgentError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    shops = _shops(session, shop_domains)
    agent = session.scalar(select(Agent).where(Agent.email == email))
    if agent is None:
        agent = Agent(email=email, created_at=now)
        session.add(agent)
    agent.password_hash = generate_password_hash(password)
    agent.disabled_at = None
    agent.shops = shops
    session.flush()
    return agent


def disable_agent(*, session: Session, email: str, now: datetime) -> bool:
    agent = session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    if agent is None:
        return False
    agent.disabled_at = now
    return True


def authenticate(*, session: Session, email: str, password: str, now: datetime) -> Agent | None:
    agent = session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    if agent is None or agent.disabled_at is not None:
        check_password_hash(_NOBODY, password)
        return None
    if not check_password_hash(agent.password_hash, password):
        return None
    agent.last_login_at = now
    return agent


def active_agent(*, session: Session, agent_id: object) -> Agent | None:
    """The agent a login cookie names, while the account is still allowed in."""
    if not isinstance(agent_id, int):
        return None
    agent = session.get(Agent, agent_id)
    if agent is None or agent.disabled_at is not None:
        return None
    return agent
