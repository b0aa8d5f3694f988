"""The HTTP listener: a threaded http.server adapter in front of Api."""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .api import Api


class _Handler(BaseHTTPRequestHandler):
    """Reads one request, lets Api answer it, writes the response."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the kubernetes client pools connections
    server_version = "dynamote-sandbox"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    server: Listener

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        # TLS handshakes happen here, in the connection's thread, not in the accept loop.
        if hasattr(self.connection, "do_handshake"):
            self.connection.do_handshake()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for key, value in self.headers.items():
            # A repeated header (Impersonate-Group, one per group) keeps every value.
            key = key.lower()
            headers[key] = f"{headers[key]}\n{value}" if key in headers else value
        response = self.server.api.handle(self.command, self.path, headers, body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        if response.stream is None:
            self.send_header("Content-Length", str(len(response.body)))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if response.stream is None:
            self.wfile.write(response.body)
        else:
            self._stream(response.stream)

    def _stream(self, chunks) -> None:
        """Send a watch's chunks as they come; stop when the client hangs up."""
        try:
            for chunk in chunks:
                if not chunk:
                    if self._client_gone():
                        self.close_connection = True
                        return
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            chunks.close()

    def _client_gone(self) -> bool:
        """Whether the client closed the connection (a watch's client sends nothing more)."""
        # poll, not select: a busy sandbox may hold file descriptors above select's 1024.
        poller = select.poll()
        try:
            poller.register(self.connection, select.POLLIN | select.POLLPRI)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        # Only the request line and status: bodies (which may hold secrets) are never logged.
        if self.server.verbose:
            sys.stderr.write(f"sandbox: {self.address_string()} {format % args}\n")


class Listener(ThreadingHTTPServer):
    """A ThreadingHTTPServer that can drop its kept-alive connections when stopped."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        api: Api,
        verbose: bool = False,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.api = api
        self.verbose = verbose
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request, client_address) -> None:  # type: ignore[override]
        # Clients that hang up mid-request (or fail the TLS handshake) are not our error.
        if self.verbose:
            super().handle_error(request, client_address)

    def process_request(self, request, client_address) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Close every open client connection, so clients see the outage at once."""
        with self._connections_lock:
            connections = list(self._connections)
            self._connections.clear()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
