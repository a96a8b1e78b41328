"""Vendor Shopify's Admin API schema for another API version.

    python -m service.shopify.refresh_schema 2026-10 [--package-version 1.17.0]

Downloads `@shopify/dev-mcp` from the npm registry (the latest release unless told which),
checks the tarball against the registry's sha512 integrity, copies
`package/dist/data/admin_<version>.json.gz` and the package's licence into `schema/`, and records
where the file came from and its sha256 in `schema/SOURCE.json`. Nothing else is touched: moving
Clout to the new version is then `SHOPIFY_API_VERSION` (and `DEFAULT_API_VERSION`), with the
contract tests saying what the new schema refuses (README, "Shopify API version").
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from service.shopify.admin_schema import SCHEMA_DIR

PACKAGE = "@shopify/dev-mcp"
REGISTRY = "https://registry.npmjs.org"


def _release(client: httpx.Client, package_version: str | None) -> dict[str, object]:
    answer = client.get(f"{REGISTRY}/{PACKAGE.replace('/', '%2F')}")
    answer.raise_for_status()
    meta = answer.json()
    version = package_version or meta["dist-tags"]["latest"]
    release: dict[str, object] = meta["versions"][version]
    release["published"] = str(meta.get("time", {}).get(version, ""))[:10]
    return release


def refresh(api_version: str, *, package_version: str | None, into: Path = SCHEMA_DIR) -> Path:
    with httpx.Client(timeout=120, follow_redirects=True) as client:
        release = _release(client, package_version)
        dist = release["dist"]
        if not isinstance(dist, dict):
            raise SystemExit(f"the registry's answer for {PACKAGE} has no dist")
        tarball = client.get(dist["tarball"])
        tarball.raise_for_status()
    algorithm, _, expected = str(dist["integrity"]).partition("-")
    digest = base64.b64encode(hashlib.new(algorithm, tarball.content).digest()).decode()
    if digest != expected:
        raise SystemExit(f"the tarball does not match the registry's {algorithm} integrity")
    member = f"package/dist/data/admin_{api_version}.json.gz"
    with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as archive:
        names = archive.getnames()
        if member not in names:
            offered = sorted(
                n.rsplit("/admin_", 1)[1].removesuffix(".json.gz")
                for n in names
                if "/data/admin_" in n
            )
            raise SystemExit(
                f"{PACKAGE} {release['version']} has no schema for {api_version};"
                f" it offers {', '.join(offered)}"
            )
        data = archive.extractfile(member)
        licence = archive.extractfile("package/LICENSE")
        if data is None or licence is None:
            raise SystemExit(f"{member} or the licence is not a file in the tarball")
        content, licence_text = data.read(), licence.read()
    target = into / f"admin_{api_version}.json.gz"
    target.write_bytes(content)
    (into / "LICENSE.dev-mcp").write_bytes(licence_text)
    record_path = into / "SOURCE.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {"files": {}}
    record.update(
        {
            "package": PACKAGE,
            "package_version": release["version"],
            "package_published": release["published"],
            "tarball": dist["tarball"],
            "tarball_integrity": dist["integrity"],
            "licence": f"{release.get('license')}, the package's LICENSE copied as LICENSE.dev-mcp",
        }
    )
    record["files"][target.name] = {
        "path_in_package": member,
        "sha256": hashlib.sha256(content).hexdigest(),
        "refreshed": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("api_version", help="an Admin API version, such as 2026-10")
    parser.add_argument("--package-version", help=f"a release of {PACKAGE} (default: latest)")
    arguments = parser.parse_args(argv)
    path = refresh(arguments.api_version, package_version=arguments.package_version)
    sys.stdout.write(f"vendored {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
