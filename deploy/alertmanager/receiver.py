"""The local webhook receiver of compose's Alertmanager: logs every notification it gets.

Standard library only (it runs on the plain Python image). Each POST body is Alertmanager's
webhook JSON; one line is printed per alert (status, name, severity, summary, runbook), so
that `docker compose logs alert-receiver` shows what would have paged.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = 9099


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        try:
            notification = json.loads(self.rfile.read(length))
        except ValueError:
            self.send_error(400, "body is not JSON")
            return
        for alert in notification.get("alerts", []):
            labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
            print(
                f"{alert.get('status', '?'):8} {labels.get('alertname', '?')} "
                f"severity={labels.get('severity', '?')} namespace={labels.get('namespace', '')} "
                f"{annotations.get('summary', '')} runbook={annotations.get('runbook_url', '')}",
                flush=True,
            )
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged, only the alerts they carry."""


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", PORT), Receiver).serve_forever()
