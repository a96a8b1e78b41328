"""Overdue notifications reach the merchant's channels: a signed webhook and email over SMTP."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import socket
import threading
import time
from typing import Any

import pytest
from werkzeug.serving import make_server

from service.attention.notify import Notifier
from service.attention.outbox import Effect, EffectKind, Outcome
from service.core.config import load_settings
from service.core.shop_settings import ShopConfig, public_ip


def effect(kind: EffectKind, *, key: str = "escalation:incident:7:1") -> Effect:
    payload = {
        "subject": "Overdue: unhappy customer waiting",
        "message": "Order #1001.",
        "data": {"incident": 7, "priority": "urgent"},
    }
    return Effect(shop_id=1, key=key, kind=kind, payload=payload, attempts=0)


def test_an_overdue_case_is_emailed_and_posted_signed(smtp: Any) -> None:
    posted: list[tuple[bytes, str]] = []

    def hook(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        posted.append(
            (
                environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])),
                environ.get("HTTP_X_CLOUT_SIGNATURE", ""),
            )
        )
        start_response("200 OK", [])
        return [b""]

    web = make_server("127.0.0.1", 0, hook)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    notifier = Notifier(
        webhook_url=f"http://127.0.0.1:{web.server_port}/",
        webhook_secret="s3cret",
        smtp_url=f"smtp://127.0.0.1:{smtp.server_address[1]}",
        email_to="support@shop.example",
        email_from="clout@shop.example",
        private_targets=True,
    )

    outcomes = [notifier.deliver(effect(kind)).outcome for kind in notifier.channels()]
    web.shutdown()

    assert notifier.channels() == (EffectKind.WEBHOOK, EffectKind.EMAIL)
    assert outcomes == [Outcome.SENT, Outcome.SENT]
    [(body, signature)] = posted
    assert json.loads(body)["clout"] == {"incident": 7, "priority": "urgent"}
    assert signature == "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    [mail] = smtp.messages
    assert "Subject: Overdue: unhappy customer waiting" in mail
    assert "To: support@shop.example" in mail
    assert "Order #1001." in mail
    # The effect's key is the mail's Message-ID: a mail system that sees it twice may drop one.
    assert "Message-ID: <escalation.incident.7.1@clout>" in mail


def test_a_channel_that_is_down_is_logged_not_raised() -> None:
    notifier = Notifier(
        webhook_url="http://127.0.0.1:9/",
        smtp_url="smtp://127.0.0.1:9",
        email_to="support@shop.example",
        timeout=1,
        private_targets=True,
    )

    # Nothing listens: neither could have landed, so both are tried again later, not lost.
    assert notifier.deliver(effect(EffectKind.WEBHOOK)).outcome == Outcome.RETRY
    assert notifier.deliver(effect(EffectKind.EMAIL)).outcome == Outcome.RETRY


def test_a_mail_server_that_answers_the_message_decides_what_happens_next(smtp: Any) -> None:
    notifier = Notifier(
        smtp_url=f"smtp://127.0.0.1:{smtp.server_address[1]}", email_to="support@shop.example"
    )

    smtp.reply = "451 try again later"
    busy = notifier.deliver(effect(EffectKind.EMAIL))
    smtp.reply = "554 no such mailbox"
    refused = notifier.deliver(effect(EffectKind.EMAIL))
    smtp.reply = None  # takes the whole message, then hangs up without a word
    dropped = notifier.deliver(effect(EffectKind.EMAIL))

    assert busy.outcome == Outcome.RETRY  # the server kept nothing: send it again later
    assert refused.outcome == Outcome.REFUSED  # final: sending again would be refused again
    assert dropped.outcome == Outcome.UNCERTAIN  # it may have been kept: a person decides
    assert smtp.messages == []
    # and why, for the case's trail: the server's code, not its words (they can quote the
    # recipient's address)
    assert (busy.error, refused.error) == (
        "the mail server answered 451",
        "the mail server answered 554",
    )
    assert dropped.error == "the mail server broke off while taking it"


def test_a_receiver_that_hangs_up_after_the_request_may_have_taken_it() -> None:
    """A connection dropped after the request went out may have landed: the signed webhook
    (its receiver can tell a repeat by X-Clout-Effect-Key) is sent again, Slack is not."""
    listener = socket.create_server(("127.0.0.1", 0))
    taken: list[bytes] = []

    def hang_up() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                taken.append(connection.recv(65536))

    threading.Thread(target=hang_up, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
    notifier = Notifier(webhook_url=url, slack_url=url, timeout=2, private_targets=True)

    webhook = notifier.deliver(effect(EffectKind.WEBHOOK))
    slack = notifier.deliver(effect(EffectKind.SLACK))
    listener.close()

    assert len(taken) == 2  # both requests reached the receiver
    assert webhook.outcome == Outcome.RETRY
    assert slack.outcome == Outcome.UNCERTAIN


# --- a merchant's address may not reach the operator's own network -------------------------


class Receiver:
    """A local HTTP receiver: what it was sent, and what it answers."""

    def __init__(self, *, status: str = "200 OK", location: str | None = None) -> None:
        self.posted: list[bytes] = []

        def answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.posted.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"] or 0)))
            start_response(status, [("Location", location)] if location else [])
            return [b""]

        self.server = make_server("127.0.0.1", 0, answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def stop(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("kind", [EffectKind.WEBHOOK, EffectKind.SLACK])
def test_a_merchants_address_on_this_machine_is_refused_and_sent_nothing(kind: EffectKind) -> None:
    # given a merchant's notification address naming this machine, by number and by name
    inside = Receiver()
    by_name = inside.url.replace("127.0.0.1", "localhost")
    try:
        outcomes = [
            Notifier(webhook_url=url, slack_url=url).deliver(effect(kind))
            for url in (inside.url, by_name)
        ]
    finally:
        inside.stop()

    # then nothing reached it, and nothing will be tried again
    assert [result.outcome for result in outcomes] == [Outcome.REFUSED, Outcome.REFUSED]
    assert inside.posted == []
    # and why, in words that name neither the address nor its port
    for result in outcomes:
        assert result.error == "the address is not public (this machine or a private network)"


def test_the_operator_may_allow_private_addresses() -> None:
    # given an operator who runs Clout for their own store and allows addresses on their network
    inside = Receiver()
    try:
        allowed = Notifier(webhook_url=inside.url, private_targets=True)
        sent = allowed.deliver(effect(EffectKind.WEBHOOK)).outcome
    finally:
        inside.stop()

    assert sent == Outcome.SENT
    assert len(inside.posted) == 1


def test_the_operators_own_address_is_trusted_a_merchants_is_not() -> None:
    # given the install-wide address the operator set, and a merchant who set their own
    operators, merchants = Receiver(), Receiver()
    defaults = dataclasses.replace(
        load_settings({"SHOPIFY_API_SECRET": "s" * 32}, env_file=None),
        notify_webhook_url=operators.url,
    )
    try:
        outcomes = [
            Notifier.for_shop(config=config(url), defaults=defaults)
            .deliver(effect(EffectKind.WEBHOOK))
            .outcome
            for url in (operators.url, merchants.url)
        ]
    finally:
        operators.stop()
        merchants.stop()

    assert outcomes == [Outcome.SENT, Outcome.REFUSED]
    assert (len(operators.posted), merchants.posted) == (1, [])


def test_a_redirect_is_not_followed() -> None:
    # given a receiver that answers with a redirect to another address
    onward = Receiver()
    redirecting = Receiver(status="307 Temporary Redirect", location=onward.url)
    try:
        result = Notifier(webhook_url=redirecting.url, private_targets=True).deliver(
            effect(EffectKind.WEBHOOK)
        )
    finally:
        redirecting.stop()
        onward.stop()

    # then the notification went to the address set and no further: a redirect is a refusal
    assert result.outcome == Outcome.REFUSED
    assert result.error == "the channel answered 307 Temporary Redirect (a redirect: not followed)"
    assert len(redirecting.posted) == 1
    assert onward.posted == []


def config(webhook_url: str) -> ShopConfig:
    return ShopConfig(
        deadline_hours={},
        attention_tag="clout-attention",
        resolved_tag="clout-resolved",
        opt_out_tag="clout-opt-out",
        retired_tags=frozenset(),
        notify_email_to=None,
        notify_webhook_url=webhook_url,
        notify_webhook_secret=None,
        notify_slack_url=None,
        klout=True,
        pending_alert_minutes=15.0,
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com:8o/hook",  # a port that is no number
        "https://[::1/hook",  # an address left open
        "https://hooks..slack.com/services/x",  # an empty label
        "https://" + "a" * 64 + ".example.com/hook",  # a label over 63 characters
        "https://xn--zz.com/hook",  # punycode that decodes to nothing
    ],
)
def test_an_address_that_cannot_be_used_is_refused_not_raised(url: str) -> None:
    # a typo in one store's address must not stop the run that sends every store's notices
    result = Notifier(webhook_url=url).deliver(effect(EffectKind.WEBHOOK))
    assert (result.outcome, result.error) == (Outcome.REFUSED, "the address cannot be used")


@pytest.mark.parametrize(
    ("kind", "then"),
    [
        # the request went out: the signed webhook's receiver can tell a repeat by its key
        (EffectKind.WEBHOOK, Outcome.RETRY),
        # Slack cannot: a second try could page the merchant twice, so a person decides
        (EffectKind.SLACK, Outcome.UNCERTAIN),
    ],
)
def test_a_receiver_that_drips_its_answer_is_given_up_at_the_deadline(
    kind: EffectKind, then: Outcome
) -> None:
    # given a receiver that answers one header line every second, for a minute
    listener = socket.create_server(("127.0.0.1", 0))
    still_sending = threading.Event()

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(b"HTTP/1.1 200 OK\r\n")
            still_sending.set()
            for n in range(60):
                try:
                    connection.sendall(b"X-Drip-%d: 1\r\n" % n)
                except OSError:  # the sender hung up
                    still_sending.clear()
                    return
                time.sleep(1)

    threading.Thread(target=drip, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    notifier = Notifier(webhook_url=url, slack_url=url, timeout=2, deadline=3, private_targets=True)

    # when Clout sends it a notice
    result = notifier.deliver(effect(kind))

    # then it gave up at its deadline (the receiver was still dripping), and what comes next
    # depends on whether the channel can tell a repeat
    assert still_sending.is_set()
    assert (result.outcome, result.error) == (then, "no answer in time")
    listener.close()


def test_a_deadline_passed_before_the_request_went_out_is_tried_again() -> None:
    # given a receiver, and a deadline already past when the address has been looked up
    receiver = Receiver()
    notifier = Notifier(slack_url=receiver.url, deadline=0, private_targets=True)

    # when Clout sends a Slack notice
    result = notifier.deliver(effect(EffectKind.SLACK))
    receiver.stop()

    # then nothing reached the receiver, so a second try cannot page anyone twice
    assert receiver.posted == []
    assert (result.outcome, result.error) == (Outcome.RETRY, "no answer in time")


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:a9fe:a9fe",  # IPv4-translated
        "224.0.0.1",
        "ff02::1",
    ],
)
def test_an_address_that_leads_to_a_private_one_is_not_public(address: str) -> None:
    assert not public_ip(address)


def test_a_public_address_is_public() -> None:
    assert public_ip("93.184.216.34")
    assert public_ip("2606:2800:220:1:248:1893:25c8:1946")
