"""The channels a merchant configured for escalations and alerts: a signed outgoing webhook,
Slack, and email."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
from dataclasses import dataclass, field
from email.message import EmailMessage
from http import HTTPStatus
from urllib.parse import unquote, urlparse

import anyio
import httpx

from service.attention.outbox import AT_LEAST_ONCE, Effect, EffectKind, Outcome, Result
from service.core.config import Settings
from service.core.logs import get_logger
from service.core.shop_settings import ShopConfig, public_ip

log = get_logger(__name__)


class PrivateTarget(Exception):
    """A notification address that resolves to this machine or a private network."""


class GaveUpAfterSending(Exception):
    """The send's deadline passed once the request was on its way: it may have landed. Not a
    TimeoutError, which Python counts as an OSError, the failure where nothing was sent."""


# Why a send failed, for the case's trail (`outbox.Result`): fixed words and a status code,
# never the error's own message, which can quote the address (a Slack URL is a secret).
TURNED_OFF = "the channel was turned off since"


def _reason(error: BaseException) -> str:
    """A failed post in a few words that name no address."""
    if isinstance(error, PrivateTarget):
        return "the address is not public (this machine or a private network)"
    if isinstance(error, httpx.InvalidURL | ValueError):
        return "the address cannot be used"
    if isinstance(error, TimeoutError | httpx.TimeoutException | GaveUpAfterSending):
        return "no answer in time"
    if isinstance(error, socket.gaierror):
        return "the address's name does not resolve"
    if isinstance(error, httpx.ConnectError | OSError):
        return "no connection could be made"
    return "the connection broke off"


def _failure(error: BaseException, kind: EffectKind) -> Result:
    """What a failed post means: refused for good (an address that may not or cannot be used),
    tried again (nothing can have landed), or, when the request may have gone out, what the
    channel allows (again only where the receiver can tell a repeat)."""
    why = _reason(error)
    if isinstance(error, PrivateTarget):
        log.warning("notify_refused", channel=kind, reason="private address")
        return Result(Outcome.REFUSED, why)
    if isinstance(error, httpx.InvalidURL | ValueError):  # UnicodeError, IDNAError among them
        log.warning("notify_refused", channel=kind, reason=type(error).__name__)
        return Result(Outcome.REFUSED, why)
    log.warning("notify_failed", channel=kind, error=type(error).__name__)
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | OSError):
        return Result(Outcome.RETRY, why)  # no connection was made, or the name does not resolve
    # It may have landed (GaveUpAfterSending among these): again only where a repeat is told.
    return Result(
        Outcome.RETRY if kind in AT_LEAST_ONCE else Outcome.UNCERTAIN, why, may_have_landed=True
    )


def _answered(status: int) -> str:
    """A channel's refusing answer in words: the code and its name."""
    try:
        said = f"the channel answered {status} {HTTPStatus(status).phrase}"
    except ValueError:  # a code HTTP does not name
        said = f"the channel answered {status}"
    return said + (" (a redirect: not followed)" if 300 <= status < 400 else "")


@dataclass(frozen=True)
class Notifier:
    """The channels a merchant configured: a signed outgoing webhook (a Slack incoming-webhook
    URL works: the body has a `text`), and email over SMTP."""

    webhook_url: str | None = None
    webhook_secret: str | None = None
    smtp_url: str | None = None
    email_to: str | None = None
    slack_url: str | None = None
    email_from: str = "clout@localhost"
    timeout: float = 5.0  # each step: connecting, sending, each read
    deadline: float = 15.0  # the whole send, a name's resolution included
    # A merchant's address must be on the public internet: the workers sit inside the
    # operator's network, and any shop's staff can set one (the settings page). The operator's
    # own addresses (`trusted`), or every address where the operator allows it
    # (CLOUT_NOTIFY_PRIVATE_TARGETS), may be private.
    private_targets: bool = False
    trusted: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_shop(cls, *, config: ShopConfig, defaults: Settings) -> Notifier:
        """The shop's own channels (its settings, over the install-wide ones)."""
        return cls(
            webhook_url=config.notify_webhook_url,
            webhook_secret=config.notify_webhook_secret,
            smtp_url=defaults.smtp_url,
            email_to=config.notify_email_to,
            email_from=defaults.notify_email_from,
            slack_url=config.notify_slack_url,
            private_targets=defaults.notify_private_targets,
            trusted=frozenset(
                url for url in (defaults.notify_webhook_url, defaults.notify_slack_url) if url
            ),
        )

    def _post(self, url: str, *, body: bytes, headers: dict[str, str]) -> int:
        """POST `body` to `url`; the answer's status. The address is checked first and
        connected to as checked (a name that resolves again to another address in between
        changes nothing), no redirect is followed, the answer's body is not read, and the
        whole send gives up at `deadline` (TimeoutError), however slowly a receiver answers.
        PrivateTarget when the address may not be reached; ValueError when it cannot be used."""
        return anyio.run(self._post_within, url, body, headers)

    async def _post_within(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        sending = False  # from the connection on, the request may reach the receiver
        try:
            with anyio.fail_after(self.deadline):
                target = httpx.URL(url)
                port = target.port or (443 if target.scheme == "https" else 80)
                target.host.encode("idna")  # a name DNS cannot carry: UnicodeError, no retry
                found = await anyio.getaddrinfo(target.host, port, type=socket.SOCK_STREAM)
                addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
                if not (self.private_targets or url in self.trusted) and not all(
                    public_ip(a) for a in addresses
                ):
                    raise PrivateTarget(target.host)
                pinned = target.copy_with(host=addresses[0])
                headers = {**headers, "Host": target.netloc.decode("ascii")}
                # TLS is still checked against the name in the address, not the number.
                extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
                sending = True
                async with (
                    httpx.AsyncClient(
                        timeout=self.timeout, follow_redirects=False, trust_env=False
                    ) as web,
                    web.stream(
                        "POST", pinned, content=body, headers=headers, extensions=extensions
                    ) as answer,
                ):
                    return answer.status_code
        except TimeoutError as error:
            # Given up while connecting counts as sent too: a slow connect is rare, and a
            # page Slack might show twice is worse than one a person is asked about.
            if sending:
                raise GaveUpAfterSending from error
            raise

    def _email(self, subject: str, message: str, *, message_id: str | None = None) -> Result:
        """Send one mail. Whether it may have landed decides what a failure means: nothing
        the server was given before the message (connecting, TLS, logging in) can have
        landed, so that is tried again; a server that answered the message with a 4xx is
        tried again and a 5xx refused; only a failure while the message itself was being
        handed over leaves it uncertain."""
        url = urlparse(self.smtp_url or "")
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = subject, self.email_from, self.email_to
        if message_id:
            # The same effect keeps one Message-ID: a mail system that sees it twice may drop
            # the repeat.
            mail["Message-ID"] = f"<{message_id.replace(':', '.')}@clout>"
        mail.set_content(message)
        secure = url.scheme == "smtps"
        client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
        try:
            client = client_class(
                url.hostname or "localhost",
                url.port or (465 if secure else 25),
                timeout=self.timeout,
            )
        except (OSError, smtplib.SMTPException) as error:
            log.warning("notify_failed", channel=EffectKind.EMAIL, error=type(error).__name__)
            return Result(Outcome.RETRY, "the mail server could not be reached")
        with client:
            try:
                if url.scheme == "smtp+starttls":
                    client.starttls()
                if url.username:
                    client.login(unquote(url.username), unquote(url.password or ""))
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error=type(error).__name__)
                return Result(Outcome.RETRY, "the mail server's TLS or login failed")
            try:
                client.send_message(mail)
            except smtplib.SMTPRecipientsRefused:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error="recipients refused")
                return Result(Outcome.REFUSED, "the mail server refused the recipient")
            except smtplib.SMTPResponseException as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, status=error.smtp_code)
                # The code alone: the server's words can quote the recipient's address.
                return Result(
                    Outcome.RETRY if 400 <= error.smtp_code < 500 else Outcome.REFUSED,
                    f"the mail server answered {error.smtp_code}",
                )
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error=type(error).__name__)
                return Result(Outcome.UNCERTAIN, "the mail server broke off while taking it")
        return Result(Outcome.SENT)

    def channels(self) -> tuple[EffectKind, ...]:
        """The channels this merchant configured, as outbox kinds."""
        configured = (
            (EffectKind.SLACK, bool(self.slack_url)),
            (EffectKind.WEBHOOK, bool(self.webhook_url)),
            (EffectKind.EMAIL, bool(self.smtp_url and self.email_to)),
        )
        return tuple(kind for kind, on in configured if on)

    def _request(self, effect: Effect) -> tuple[str, bytes, dict[str, str]] | None:
        """Where and what to post for a Slack or webhook effect; None when its channel was
        turned off since it was recorded."""
        subject = str(effect.payload.get("subject", ""))
        message = str(effect.payload.get("message", ""))
        if effect.kind == EffectKind.SLACK and self.slack_url:
            body = json.dumps({"text": f"{subject}\n{message}"}).encode()
            return self.slack_url, body, {"Content-Type": "application/json"}
        if effect.kind == EffectKind.WEBHOOK and self.webhook_url:
            data = effect.payload.get("data") or {}
            body = json.dumps({"text": f"{subject}\n{message}", "clout": data}).encode()
            headers = {"Content-Type": "application/json", "X-Clout-Effect-Key": effect.key}
            if self.webhook_secret:
                headers["X-Clout-Signature"] = (
                    "sha256="
                    + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
                )
            return self.webhook_url, body, headers
        return None

    def deliver(self, effect: Effect) -> Result:
        """Send one recorded notification (`attention.outbox`) on its channel. A failure seen
        before the receiver could have taken it is tried again; one that may have landed (a
        timeout after the request went out) is tried again only where the receiver can tell
        a repeat by the effect's key. A failure comes with why, for the case's trail."""
        if effect.kind == EffectKind.EMAIL:
            if not (self.smtp_url and self.email_to):
                return Result(Outcome.REFUSED, TURNED_OFF)
            subject = str(effect.payload.get("subject", ""))
            message = str(effect.payload.get("message", ""))
            return self._email(subject, message, message_id=effect.key)
        return self._web(effect)

    def _web(self, effect: Effect) -> Result:
        """A Slack or webhook effect posted: `deliver`'s rules for what a failure means."""
        request = self._request(effect)
        if request is None:
            return Result(Outcome.REFUSED, TURNED_OFF)
        url, body, headers = request
        try:
            status = self._post(url, body=body, headers=headers)
        except (
            PrivateTarget,
            GaveUpAfterSending,
            httpx.HTTPError,
            httpx.InvalidURL,
            ValueError,
            OSError,
            TimeoutError,
        ) as error:
            return _failure(error, effect.kind)
        if 200 <= status < 300:
            return Result(Outcome.SENT)
        log.warning("notify_failed", channel=effect.kind, status=status)
        return Result(
            Outcome.RETRY if status >= 500 or status == 429 else Outcome.REFUSED, _answered(status)
        )
