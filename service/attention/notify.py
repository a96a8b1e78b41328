"""The channels a merchant configured for escalations and alerts: a signed outgoing webhook,
Slack, and email."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import requests
from urllib3.exceptions import NewConnectionError

from service.attention.outbox import AT_LEAST_ONCE, Effect, EffectKind, Outcome
from service.core.config import Settings
from service.core.logs import get_logger
from service.core.shop_settings import ShopConfig

log = get_logger(__name__)


def _never_reached(error: BaseException) -> bool:
    """Whether a failed request cannot have reached the receiver: no connection was made. A
    connection dropped after the request went out ("Connection aborted") may have landed."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if isinstance(error, requests.ConnectionError) and error.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


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
    timeout: float = 5.0

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
        )

    def _email(self, subject: str, message: str, *, message_id: str | None = None) -> Outcome:
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
            return Outcome.RETRY
        with client:
            try:
                if url.scheme == "smtp+starttls":
                    client.starttls()
                if url.username:
                    client.login(unquote(url.username), unquote(url.password or ""))
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error=type(error).__name__)
                return Outcome.RETRY
            try:
                client.send_message(mail)
            except smtplib.SMTPRecipientsRefused:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error="recipients refused")
                return Outcome.REFUSED
            except smtplib.SMTPResponseException as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, status=error.smtp_code)
                return Outcome.RETRY if 400 <= error.smtp_code < 500 else Outcome.REFUSED
            except (OSError, smtplib.SMTPException) as error:
                log.warning("notify_failed", channel=EffectKind.EMAIL, error=type(error).__name__)
                return Outcome.UNCERTAIN
        return Outcome.SENT

    def channels(self) -> tuple[EffectKind, ...]:
        """The channels this merchant configured, as outbox kinds."""
        configured = (
            (EffectKind.SLACK, bool(self.slack_url)),
            (EffectKind.WEBHOOK, bool(self.webhook_url)),
            (EffectKind.EMAIL, bool(self.smtp_url and self.email_to)),
        )
        return tuple(kind for kind, on in configured if on)

    def deliver(self, effect: Effect) -> Outcome:
        """Send one recorded notification (`attention.outbox`) on its channel. A failure seen
        before the receiver could have taken it is tried again; one that may have landed (a
        timeout after the request went out) is tried again only where the receiver can tell
        a repeat by the effect's key."""
        subject = str(effect.payload.get("subject", ""))
        message = str(effect.payload.get("message", ""))
        data = effect.payload.get("data") or {}
        again = Outcome.RETRY if effect.kind in AT_LEAST_ONCE else Outcome.UNCERTAIN
        try:
            if effect.kind == EffectKind.EMAIL and self.smtp_url and self.email_to:
                return self._email(subject, message, message_id=effect.key)
            if effect.kind == EffectKind.SLACK and self.slack_url:
                answer = requests.post(
                    self.slack_url, json={"text": f"{subject}\n{message}"}, timeout=self.timeout
                )
            elif effect.kind == EffectKind.WEBHOOK and self.webhook_url:
                body = json.dumps({"text": f"{subject}\n{message}", "clout": data}).encode()
                headers = {"Content-Type": "application/json", "X-Clout-Effect-Key": effect.key}
                if self.webhook_secret:
                    headers["X-Clout-Signature"] = (
                        "sha256="
                        + hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
                    )
                answer = requests.post(
                    self.webhook_url, data=body, headers=headers, timeout=self.timeout
                )
            else:
                return Outcome.REFUSED  # the channel was turned off since
        except (requests.RequestException, OSError) as error:
            log.warning("notify_failed", channel=effect.kind, error=type(error).__name__)
            return Outcome.RETRY if _never_reached(error) else again
        if answer.ok:
            return Outcome.SENT
        log.warning("notify_failed", channel=effect.kind, status=answer.status_code)
        return (
            Outcome.RETRY
            if answer.status_code >= 500 or answer.status_code == 429
            else (Outcome.REFUSED)
        )
