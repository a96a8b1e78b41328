"""Take the README's screenshot of the agents' page from a running `clout demo --serve`.

    .venv/bin/clout demo --serve --port 8000      # prints the page, an email and a password
    .venv/bin/python tools/screenshot_demo.py --password 'printed-password' [--out docs/agents-page.png]

Headless Chromium (Debian's `chromium`, or CLOUT_TEST_CHROMIUM) driven by Playwright, as the
browser tests do; the first 1400 × 1000 px of the page (--full: all of it), once both
charts are drawn.
"""

from __future__ import annotations

import argparse
import os
import shutil

from playwright.sync_api import sync_playwright

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="demo@clout.example")
    parser.add_argument("--password", required=True)
    parser.add_argument("--out", default="docs/agents-page.png")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--full", action="store_true", help="the whole page, not the first screen")
    args = parser.parse_args()
    chromium = os.environ.get("CLOUT_TEST_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("no Chromium: apt-get install chromium, or set CLOUT_TEST_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        page = browser.new_page(viewport={"width": args.width, "height": 1000})
        page.goto(f"{args.base}/agents/login")
        page.fill("input[name=email]", args.email)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_selector("body[data-charts-drawn]")
        page.screenshot(path=args.out, full_page=args.full)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
