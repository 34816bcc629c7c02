"""A chat webhook on 127.0.0.1 for tests: records each JSON body POSTed to it; can refuse the first few."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookServer:
    """Parameters:
        failures: how many requests to answer 503 before accepting (a webhook that is down for a while).
    """

    def __init__(self, failures: int = 0):
        self.messages: list[dict] = []
        self.refused = 0
        self._failures = failures
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    refuse = server.refused < server._failures
                    if refuse:
                        server.refused += 1
                    else:
                        server.messages.append(body)
                self.send_response(503 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> "WebhookServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def texts(self) -> list[str]:
        with self._lock:
            return [message["text"] for message in self.messages]
