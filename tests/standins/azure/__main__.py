"""``python -m standins.azure --host 127.0.0.1 --port 0 --ready-file F [--state-dir D] [--subscription-id S]``

Writes ``<state dir>/azure-ca.pem`` (+ ``azure-ca-bundle.pem``, system CAs included) and a ready file
with ``url``, ``pid``, ``ca_bundle``, ``combined_ca_bundle``, ``subscription_id``, ``msi_endpoint``
(for IDENTITY_ENDPOINT) and ``authority`` (AAD authority host for ClientSecretCredential).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .._process import install_sigterm_exit, write_ready
from . import DEFAULT_SUBSCRIPTION_ID
from .app import App
from .server import AzureHTTPServer
from .store import Store
from .tls import server_context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m standins.azure", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--state-dir", help="where azure-ca.pem goes (default: the ready file's folder)")
    parser.add_argument("--subscription-id", default=DEFAULT_SUBSCRIPTION_ID)
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    install_sigterm_exit()
    state_dir = Path(args.state_dir or Path(args.ready_file).resolve().parent)
    context, ca_path, combined_path = server_context(state_dir)
    httpd = AzureHTTPServer((args.host, args.port), App(Store(subscription_id=args.subscription_id)), context)
    try:
        host, port = httpd.server_address[:2]
        url = f"https://{host}:{port}"
        write_ready(
            args.ready_file,
            url=url,
            ca_bundle=str(ca_path),
            combined_ca_bundle=str(combined_path),
            subscription_id=args.subscription_id,
            msi_endpoint=f"{url}/msi/token",
            authority=url,
        )
        httpd.serve_forever()
    finally:
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
