"""Browser libraries for the dashboard, fetched from the npm registry at run time.

Nothing of them is in the repository: on first request the gateway downloads the pinned
package tarball, checks it against the registry's published sha512 integrity, extracts the
one file the page needs and caches it (`BREAKOUT_GATEWAY_VENDOR_DIR`, default `.dev/ui-vendor`).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
import tarfile
from pathlib import Path

import httpx
import msgspec
import structlog

DEFAULT_REGISTRY = "https://registry.npmjs.org"
log = structlog.get_logger(__name__)


class VendorError(RuntimeError):
    """A library could not be fetched or did not match its pinned integrity."""


class NpmAsset(msgspec.Struct, frozen=True, kw_only=True):
    """One file of one pinned npm package version."""

    package: str
    version: str
    member: str
    integrity: str  # the registry's `dist.integrity` of the tarball

    def tarball_url(self, registry: str) -> str:
        """Where the registry serves the tarball."""
        return f"{registry}/{self.package}/-/{self.package}-{self.version}.tgz"


ASSETS: dict[str, NpmAsset] = {
    "lightweight-charts.js": NpmAsset(
        package="lightweight-charts",
        version="4.2.3",
        member="package/dist/lightweight-charts.standalone.production.js",
        integrity="sha512-5kS/2hY3wNYNzhnS8Gb+GAS07DX8GPF2YVDnd2NMC85gJVQ6RLU6YrXNgNJ6eg0AnWPwCnvaGtYmGky3HiLQEw==",
    ),
}


def check_integrity(tarball: bytes, integrity: str) -> None:
    """Raise unless `tarball` has the sha512 that `integrity` (SRI form) names."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise VendorError(f"unsupported integrity algorithm {algorithm!r}")
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise VendorError("tarball does not match its pinned sha512 integrity")


def extract(tarball: bytes, member: str) -> bytes:
    """One file out of a .tgz."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        handle = archive.extractfile(member)
        if handle is None:
            raise VendorError(f"{member} is not a file in the tarball")
        return handle.read()


class VendorCache:
    """Fetches each asset once (per process and per cache directory)."""

    def __init__(self, directory: Path, registry: str | None = None) -> None:
        self.directory = directory
        self.registry = (
            registry or os.environ.get("BREAKOUT_NPM_REGISTRY", DEFAULT_REGISTRY)
        ).rstrip("/")
        self._lock = asyncio.Lock()
        self._memory: dict[str, bytes] = {}

    async def get(self, name: str) -> bytes:
        """The asset's bytes (KeyError for an unknown name, VendorError if unobtainable)."""
        asset = ASSETS[name]
        path = self.directory / asset.package / asset.version / Path(asset.member).name
        if name in self._memory:
            return self._memory[name]
        if path.exists():
            return path.read_bytes()
        async with self._lock:
            if name in self._memory:
                return self._memory[name]
            try:
                async with httpx.AsyncClient(timeout=30.0, follow_redirects=True) as client:
                    response = await client.get(asset.tarball_url(self.registry))
                    response.raise_for_status()
            except httpx.HTTPError as exc:
                raise VendorError(f"cannot fetch {asset.package}@{asset.version}: {exc}") from exc
            check_integrity(response.content, asset.integrity)
            content = extract(response.content, asset.member)
            self._memory[name] = content
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_suffix(".partial")
                partial.write_bytes(content)
                partial.replace(path)
            except OSError as exc:  # a read-only filesystem: kept in memory only
                log.warning("vendor cache not writable", path=str(path), error=repr(exc))
            return content
