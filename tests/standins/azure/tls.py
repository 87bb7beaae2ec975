"""A throw-away certificate authority (trustme) and a server certificate for 127.0.0.1/localhost.

The SDKs refuse bearer tokens over plain HTTP, so the fake must speak TLS. Two bundles are written:

* ``azure-ca.pem`` - the stand-in's CA only, for ``connection_verify=``;
* ``azure-ca-bundle.pem`` - the system's trusted CAs plus the stand-in's CA, safe to export as
  ``REQUESTS_CA_BUNDLE`` to a subprocess: the fake is trusted and every other HTTPS call still works.
"""
from __future__ import annotations

import os
import ssl
from pathlib import Path

import trustme

CA_FILE = "azure-ca.pem"
COMBINED_FILE = "azure-ca-bundle.pem"


def _system_bundle() -> str | None:
    """The CA file requests would use without us: REQUESTS_CA_BUNDLE, SSL_CERT_FILE, then certifi."""
    for candidate in (os.environ.get("REQUESTS_CA_BUNDLE"), os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile):
        if candidate and Path(candidate).is_file():
            return candidate
    try:
        import certifi  # pylint: disable=import-outside-toplevel  # optional fallback
    except ImportError:
        return None
    return str(certifi.where())


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)  # readers never see half a bundle


def server_context(state_dir: Path) -> tuple[ssl.SSLContext, Path, Path]:
    """The server's TLS context and the paths of the CA-only and the combined bundles."""
    ca = trustme.CA(organization_name="scalarops.pitr Azure stand-in")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    state_dir.mkdir(parents=True, exist_ok=True)
    ca_path = state_dir / CA_FILE
    combined_path = state_dir / COMBINED_FILE
    ca_pem = ca.cert_pem.bytes()
    _write(ca_path, ca_pem)
    system = _system_bundle()
    system_pem = Path(system).read_bytes() if system else b""
    _write(combined_path, system_pem.rstrip(b"\n") + b"\n" + ca_pem if system_pem else ca_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context, ca_path, combined_path
