"""Gateway settings and the npm asset checks."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import pytest

from breakout.gateway.config import ConfigError, GatewaySettings, parse_services
from breakout.gateway.vendor import VendorError, check_integrity, extract


def test_settings_refuse_a_short_token_and_close_control_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ConfigError, match="BREAKOUT_API_TOKEN"):
        GatewaySettings(api_token="short")
    closed = GatewaySettings(api_token=None)
    assert (closed.control_enabled, closed.reads_public) == (False, True)
    guarded = GatewaySettings(api_token="x" * 16)
    assert (guarded.control_enabled, guarded.reads_public) == (True, False)
    monkeypatch.delenv("BREAKOUT_API_TOKEN", raising=False)
    monkeypatch.setenv("GATEWAY_TOKEN", "from-the-deployment")
    assert GatewaySettings.from_env().api_token == "from-the-deployment"
    monkeypatch.setenv("BREAKOUT_API_TOKEN", "")
    assert GatewaySettings.from_env().api_token == "from-the-deployment"
    assert GatewaySettings(api_token="x" * 16).consumer("density") == "gateway-density"
    assert (
        GatewaySettings(api_token="x" * 16, instance="b").consumer("density") == "gateway-density-b"
    )


def test_services_parse_and_refuse_garbage() -> None:
    assert parse_services("features=http://127.0.0.1:9101/, regime=http://h:1") == {
        "features": "http://127.0.0.1:9101",
        "regime": "http://h:1",
    }
    with pytest.raises(ConfigError):
        parse_services("features:9101")


def _tgz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_integrity_and_extraction() -> None:
    tarball = _tgz({"package/dist/lib.js": b"window.lib = 1;"})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    check_integrity(tarball, integrity)
    assert extract(tarball, "package/dist/lib.js") == b"window.lib = 1;"
    with pytest.raises(VendorError, match="integrity"):
        check_integrity(tarball + b"x", integrity)
    with pytest.raises(VendorError, match="unsupported"):
        check_integrity(tarball, "sha1-abc")
    with pytest.raises(KeyError):
        extract(tarball, "package/missing.js")
