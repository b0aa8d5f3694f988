"""A self-signed certificate for the sandbox, made with the openssl command when present.

kubectl (client-go) never sends a bearer token over plain HTTP, so the sandbox serves HTTPS
whenever it can; the kubeconfig carries the certificate as its certificate-authority-data.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tempfile
import threading
from pathlib import Path

_lock = threading.Lock()
_cached: tuple[bytes, bytes] | None = None


def available() -> bool:
    """Whether a certificate can be made here."""
    return shutil.which("openssl") is not None


def certificate() -> tuple[bytes, bytes]:
    """(cert, key) PEM bytes for 127.0.0.1 and localhost, made once per process.

    The files openssl writes live only as long as this call: nothing is left on disk.
    """
    global _cached
    with _lock:
        if _cached is None:
            with tempfile.TemporaryDirectory(prefix="dynamote-sandbox-tls-") as tmp:
                cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
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
                _cached = (cert.read_bytes(), key.read_bytes())
        return _cached


def server_context() -> ssl.SSLContext:
    """The listener's TLS context."""
    cert, key = certificate()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads files only: write them privately, load, and remove them at once.
    with tempfile.TemporaryDirectory(prefix="dynamote-sandbox-tls-") as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_file.write_bytes(cert)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
        context.load_cert_chain(cert_file, key_file)
    return context


def client_context() -> ssl.SSLContext:
    """A client context that trusts the sandbox's certificate."""
    return ssl.create_default_context(cadata=certificate()[0].decode())
