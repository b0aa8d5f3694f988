"""A self-signed certificate for the sandbox, made with the openssl command when present.

kubectl (client-go) never sends a bearer token over plain HTTP, so the sandbox serves HTTPS
whenever it can; the kubeconfig carries the certificate as its certificate-authority-data.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_cached: tuple[Path, Path] | None = None


def available() -> bool:
    """Whether a certificate can be made here."""
    return shutil.which("openssl") is not None


def certificate() -> tuple[Path, Path]:
    """(cert, key) PEM files for 127.0.0.1 and localhost, made once per process."""
    global _cached
    with _lock:
        if _cached is None:
            directory = Path(tempfile.mkdtemp(prefix="dynamote-sandbox-tls-"))
            cert, key = directory / "cert.pem", directory / "key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                    "-days",
                    "825",
                    "-subj",
                    "/CN=dynamote-sandbox",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                ],
                check=True,
                capture_output=True,
            )
            key.chmod(0o600)
            _cached = (cert, key)
        return _cached


def server_context() -> ssl.SSLContext:
    """The listener's TLS context."""
    cert, key = certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def client_context() -> ssl.SSLContext:
    """A client context that trusts the sandbox's certificate."""
    return ssl.create_default_context(cafile=str(certificate()[0]))
