"""Standard library only: http.server.ThreadingHTTPServer + BaseHTTPRequestHandler,
protocol_version HTTP/1.1 so keep-alive works. Run: python stdlib_server.py PORT

Copied unchanged in behaviour from the team's shared bench harness
(../shared/bench/apps/stdlib_server.py).

Settings beyond the defaults (all documented class attributes):
  request_queue_size = 1024   (socketserver's default is 5)
  disable_nagle_algorithm = True  (headers and body go out in two writes)
  log_message is a no-op      (other servers run with access logs off)
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import PLAINTEXT, json_body, user_body, static_path, read_file


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def _send(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/plaintext":
            return self._send(200, "text/plain; charset=utf-8", PLAINTEXT)
        if path == "/json":
            return self._send(200, "application/json", json_body())
        if path.startswith("/user/"):
            name = path[6:]
            if name and "/" not in name:
                return self._send(200, "text/plain; charset=utf-8", user_body(name))
        elif path.startswith("/static/"):
            p = static_path(path[8:])
            if p is not None:
                return self._send(200, "application/octet-stream", read_file(p))
        self._send(404, "text/plain; charset=utf-8", b"Not Found")

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if path == "/echo":
            return self._send(200, "application/octet-stream", body)
        self._send(404, "text/plain; charset=utf-8", b"Not Found")


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    httpd = Server(("127.0.0.1", port), Handler)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
