"""The reverse proxy docker-compose.yml runs (deploy/nginx/) must not write secrets to its logs.

The review platforms that sign nothing (Yotpo, REVIEWS.io, Trustpilot, Loox, and `generic`
without a signature) are proven only by the shop's `?key=` in the URL; Fera's token rides in
`?jwt=`; the embedded app's first load carries the session token in `?id_token=`. The nginx
image's own `nginx.conf` logs every request with its format `main`, whose `"$request"` is the
request line with its query string, to the container's stdout (`docker compose logs proxy`).
`tests/support/proxy.py` turns the access log off around the template, so no test saw it."""

from __future__ import annotations

import re

from tests.support.proxy import TEMPLATE

# Variables that carry the query string (or the whole request line): `$request_time` and
# `$request_method` do not, hence the word boundary.
QUERY = re.compile(r"\$(?:request|request_uri|args|query_string|arg_\w+)\b")


def test_the_proxy_logs_no_query_string() -> None:
    conf = TEMPLATE.read_text()
    logs = [d.split() for d in re.findall(r"^\s*access_log\s+([^;]+);", conf, re.MULTILINE)]
    formats = dict(re.findall(r"log_format\s+(\S+)\s+([^;]+);", conf))

    # Without an access_log of its own, the server inherits the image's `main` ("$request").
    assert logs, "deploy/nginx logs every URL with its ?key= (the image's default access log)"
    for directive in logs:
        if directive == ["off"]:
            continue
        assert len(directive) > 1, f"{directive}: the default format `combined` logs $request"
        assert directive[1] in formats, f"{directive}: a format this file does not define"
        assert not QUERY.search(formats[directive[1]]), formats[directive[1]]
