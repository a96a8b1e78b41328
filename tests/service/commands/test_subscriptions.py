"""`clout shops add`, `clout shops check` and `clout settings set` keep the store's saved views,
metafield definitions and segments — against the emulator, over HTTP."""

from __future__ import annotations

import os
import pty
import sys
from typing import Any

from click.testing import CliRunner

from service.attention.workspace import DEFINITIONS
from service.cli import main
from tests.support.clout import RunningDevStore
from tests.support.helpers import SHOP


def run(
    settings: dict[str, Any], devstore: RunningDevStore, *args: str, answer: str | None = None
) -> Any:
    environment = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    environment.update(CLOUT_SHOPIFY_ADMIN_URL=devstore.url)
    return CliRunner(env=environment).invoke(main, list(args), input=answer)


def views(devstore: RunningDevStore) -> dict[str, str]:
    return {s["name"]: s["query"] for s in devstore.store.saved_searches}


def test_check_finds_a_deleted_view_and_fix_makes_it_again(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a connected store, whose merchant then deleted one of Clout's views
    added = run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)
    assert added.exit_code == 0, added.output
    assert "has Clout's order views, metafield definitions and segments (" in added.output
    devstore.store.saved_searches = [
        s for s in devstore.store.saved_searches if s["name"] != "Clout · overdue"
    ]

    # when the operator checks, mends, and checks again
    checked = run(settings, devstore, "shops", "check", SHOP)
    mended = run(settings, devstore, "shops", "check", SHOP, "--fix")
    again = run(settings, devstore, "shops", "check", SHOP)

    # then the check named it, the fix made it once, and all is in order
    assert checked.exit_code == 1
    assert "missing  order view “Clout · overdue”" in checked.output
    assert mended.exit_code == 0, mended.output
    assert "made     order view “Clout · overdue”" in mended.output
    assert again.exit_code == 0, again.output
    assert len(views(devstore)) == 4
    assert len(devstore.store.metafield_definitions) == len(DEFINITIONS)
    assert len(devstore.store.segments) == 2


def test_renaming_the_tags_rewrites_the_views_in_the_new_names(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)

    # when the merchant renames the attention and resolved tags
    renamed = run(
        settings, devstore, "settings", "set", SHOP, "attention_tag=needs-care", "resolved_tag=done"
    )

    # then every view and the open-case segment name the new tags, and none was duplicated
    assert renamed.exit_code == 0, renamed.output
    assert "rewrote  order view “Clout · needs attention”" in renamed.output
    assert views(devstore)["Clout · needs attention"] == "tag:'needs-care' AND NOT tag:'done'"
    assert len(views(devstore)) == 4
    segments = {s["name"]: s["query"] for s in devstore.store.segments}
    assert segments["Unhappy customers (Clout)"] == "customer_tags CONTAINS 'needs-care'"


def test_remove_takes_clouts_views_and_segments_out(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)

    removed = run(settings, devstore, "shops", "check", SHOP, "--remove")

    assert removed.exit_code == 0, removed.output
    assert "removed  order view “Clout · urgent”" in removed.output
    assert devstore.store.saved_searches == []
    assert devstore.store.segments == []


def test_shops_remove_of_a_store_that_revoked_the_token_still_erases_it_and_says_so(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a connected store that has since revoked Clout's token (the app was uninstalled)
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)
    devstore.store.tokens.discard(devstore.token)

    # when the operator disconnects it
    removed = run(settings, devstore, "shops", "remove", SHOP, "--yes")

    # then Clout erases it all the same, and says the views and segments may still be there
    assert removed.exit_code == 0, removed.output
    assert f"could not remove them from {SHOP}" in removed.output
    assert "remove Clout's saved views and segments in the Shopify admin" in removed.output
    assert f"removed {SHOP}" in removed.output
    listed = run(settings, devstore, "shops", "list")
    assert SHOP not in listed.output


def test_shops_remove_takes_the_views_and_segments_out_before_disconnecting(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a connected store with Clout's views, definitions and segments in its admin
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)
    assert devstore.store.saved_searches
    assert devstore.store.segments

    # when the operator disconnects it
    removed = run(settings, devstore, "shops", "remove", SHOP, "--yes")

    # then its admin no longer shows Clout's views or segments, and the store is gone from Clout
    assert removed.exit_code == 0, removed.output
    assert "removed  order view “Clout · urgent”" in removed.output
    assert devstore.store.saved_searches == []
    assert devstore.store.segments == []
    assert f"removed {SHOP}" in removed.output
    assert SHOP not in run(settings, devstore, "shops", "list").output


def test_shops_remove_without_a_terminal_or_yes_erases_nothing(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a connected store, and a script that removes stores listed on its input
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)
    views_before = views(devstore)

    # when it runs remove without --yes: there is no terminal to ask, and its input is the list
    removed = run(settings, devstore, "shops", "remove", SHOP, answer="other-shop.myshopify.com\n")

    # then nothing is erased, no line of its input was eaten as an answer, and it says why
    assert removed.exit_code == 1
    assert "[y/N]" not in removed.output  # not asked: nobody is there to answer
    assert "not a terminal" in removed.output
    assert "--yes" in removed.output
    assert views(devstore) == views_before
    assert SHOP in run(settings, devstore, "shops", "list").output


def in_a_terminal(
    settings: dict[str, Any], devstore: RunningDevStore, answer: bytes, *args: str
) -> str:
    """`clout` run by a person at a terminal (a pty), answering its question with `answer`."""
    env = {k: str(v) for k, v in settings.items() if k != "TESTING"}
    env.update(CLOUT_SHOPIFY_ADMIN_URL=devstore.url, PATH=os.environ.get("PATH", ""))
    pid, fd = pty.fork()
    if pid == 0:
        command = [sys.executable, "-m", "service.cli", *args]
        os.execve(sys.executable, command, env)  # noqa: S606
    said = b""
    answered = False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        said += chunk
        if not answered and b"[y/N]" in said:
            os.write(fd, answer)
            answered = True
    os.waitpid(pid, 0)
    os.close(fd)
    return said.decode(errors="replace")


def test_shops_remove_asks_first_and_a_no_changes_nothing(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    # given a connected store with a customer's case
    run(settings, devstore, "shops", "add", SHOP, "--token", devstore.token)
    views_before = views(devstore)

    # when the operator runs remove at a terminal and answers no
    declined = in_a_terminal(settings, devstore, b"n\n", "shops", "remove", SHOP)

    # then they were told what would be erased, and the store, its views and data stay
    assert f"Erase everything Clout holds about {SHOP}" in declined
    assert "customers" in declined
    assert f"not removed: {SHOP} is still connected" in declined
    assert views(devstore) == views_before
    assert SHOP in run(settings, devstore, "shops", "list").output

    # and answering yes removes it
    accepted = in_a_terminal(settings, devstore, b"y\n", "shops", "remove", SHOP)
    assert f"removed {SHOP}" in accepted
    assert SHOP not in run(settings, devstore, "shops", "list").output


def test_shops_list_says_when_no_store_is_connected(
    settings: dict[str, Any], devstore: RunningDevStore
) -> None:
    listed = run(settings, devstore, "shops", "list")

    assert listed.exit_code == 0
    assert "no store is connected (see `clout shops add`)" in listed.output
