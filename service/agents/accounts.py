"""Logins for Clout's own attention-queue page, for operators who run Clout themselves.

Inside the Shopify admin nobody logs in to Clout: Shopify's session token says which shop (and
which staff member) is asking. Outside it, an operator creates agents with `clout agents add`,
each allowed to see the shops named, and no others.

A sign-in is a row on the server (`AgentSession`); the login cookie carries only its random
token. So a session ends everywhere at once, whoever holds a copy of the cookie: when the
agent logs out (that session), gets a new password or is removed (all of theirs), or after
`SESSION_LIFETIME` whatever the cookie says.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from service.core.db import session_scope
from service.core.models import Agent, AgentSession, AgentShop, Shop

MIN_PASSWORD_LENGTH = 12
SESSION_LIFETIME = timedelta(hours=12)  # a working day
MAX_EMAIL_LENGTH = 320
MAX_PASSWORD_LENGTH = 1024
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
    elif not check_password_hash(agent.password_hash, password):
        end_sessions(session=session, agent_id=agent.id)  # a new password: sign in with it
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
    end_sessions(session=session, agent_id=agent.id)
    return True


def is_plausible_email(email: str) -> bool:
    """Whether a login form's email could name an account at all: not too long, nothing but
    printable text (PostgreSQL refuses NUL in a query)."""
    return len(email) <= MAX_EMAIL_LENGTH and email.isprintable()


def sign_in(
    *, sessions: sessionmaker[Session], email: str, password: str, now: datetime
) -> tuple[int, str] | None:
    """The agent with this email and password, and a new session's token; None for anyone
    else.

    The password is checked (scrypt, tens of milliseconds) between two short transactions, not
    inside one: on SQLite a transaction holds the one write lock, and parallel sign-ins would
    queue on it past the busy timeout."""
    email = email.strip().lower()
    found: tuple[int, str] | None = None
    if is_plausible_email(email) and len(password) <= MAX_PASSWORD_LENGTH:
        with session_scope(sessions) as session:
            agent = session.scalar(
                select(Agent).where(Agent.email == email, Agent.disabled_at.is_(None))
            )
            found = (agent.id, agent.password_hash) if agent is not None else None
    if found is None:
        check_password_hash(_NOBODY, password)
        return None
    agent_id, password_hash = found
    if not check_password_hash(password_hash, password):
        return None
    with session_scope(sessions) as session:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.disabled_at is not None or agent.password_hash != password_hash:
            return None  # removed, or given a new password, while the password was checked
        agent.last_login_at = now
        return agent.id, start_session(session=session, agent=agent, now=now)


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, agent: Agent, now: datetime) -> str:
    """A new sign-in for the agent; the token to put in their cookie (only its hash is kept).
    Their sessions that have run out are cleared on the way."""
    session.execute(
        delete(AgentSession).where(
            AgentSession.agent_id == agent.id, AgentSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        AgentSession(
            agent_id=agent.id,
            token_hash=_hashed(token),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    return token


def session_agent(*, session: Session, token: object, now: datetime) -> Agent | None:
    """The agent whose live session the cookie's token is, while the account is allowed in."""
    if not isinstance(token, str) or not 0 < len(token) <= 100:
        return None
    return session.scalar(
        select(Agent)
        .join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(
            AgentSession.token_hash == _hashed(token),
            AgentSession.expires_at > now,
            Agent.disabled_at.is_(None),
        )
    )


def end_session(*, session: Session, token: object) -> None:
    """Log out: this session is over, whoever holds its cookie."""
    if isinstance(token, str):
        session.execute(delete(AgentSession).where(AgentSession.token_hash == _hashed(token)))


def end_sessions(*, session: Session, agent_id: int) -> None:
    """Every session of the agent is over (a new password, the agent removed)."""
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))


# How the agents' page records an agent on a case: "agent-3" (assigned), "page:agent-3" (a
# close); Shopify staff inside the admin are "staff-<id>", and the CLI "cli:<login>".
_RECORDED_AGENT = re.compile(r"(?:page:)?agent-([0-9]{1,18})")


def agents_named(
    *, session: Session, recorded: Iterable[str | None], shop_id: int | None = None
) -> dict[str, str]:
    """Each agent of the page among what cases record ("agent-3", "page:agent-3") → their
    login: a person reading a case knows a colleague by their email, not their number. With
    `shop_id`, only the agents who may see that shop: a store's page names no one else's
    people (the CLI can assign a case to any number)."""
    ids = {
        int(found.group(1))
        for value in recorded
        if value and (found := _RECORDED_AGENT.fullmatch(value))
    }
    if not ids:
        return {}
    query = select(Agent.id, Agent.email).where(Agent.id.in_(ids))
    if shop_id is not None:
        query = query.join(AgentShop, AgentShop.agent_id == Agent.id).where(
            AgentShop.shop_id == shop_id
        )
    return {f"agent-{agent_id}": email for agent_id, email in session.execute(query)}
