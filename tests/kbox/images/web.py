#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/kbox/images/web.py: the box's test web server (images `kbox/web` and agnhost).

  web.py [--port N]                  (image kbox/web; default port 8080)
  web.py netexec --http-port=N       (agnhost's netexec: the same endpoints)
  web.py serve-hostname [--port N]   (agnhost: answers its hostname)
  web.py pause                       (agnhost: sleeps until killed)

GET /, /hostname       the pod's hostname (its name)
GET /clientip          the caller's address ip:port, as the server saw it
GET /echo?msg=TEXT     TEXT
GET /healthz           200 "ok"; 503 while /tmp/unhealthy exists
GET /readyz            200 "ok"; 503 while /tmp/unready exists
GET /burn?ms=N         spends N ms of CPU, then answers (the autoscaling tests' cost per request)
GET /env?name=VAR      the value of VAR in the server's environment
GET /exit?code=N       answers, then exits with status N
Each request is logged on stdout as one line (`kubectl logs` shows them).
"""
import http.server
import os
import socket
import sys
import threading
import time
import urllib.parse


class H(http.server.BaseHTTPRequestHandler):
    server_version = "kbox-web/1"

    def log_message(self, fmt, *args):
        print(f"{self.client_address[0]} {self.command} {self.path}", flush=True)

    def reply(self, code, text):
        body = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        p = u.path
        if p in ("/", "/hostname"):
            self.reply(200, socket.gethostname())
        elif p == "/clientip":
            self.reply(200, f"{self.client_address[0]}:{self.client_address[1]}")
        elif p == "/echo":
            self.reply(200, q.get("msg", ""))
        elif p == "/healthz":
            self.reply(503 if os.path.exists("/tmp/unhealthy") else 200, "ok")
        elif p == "/readyz":
            self.reply(503 if os.path.exists("/tmp/unready") else 200, "ok")
        elif p == "/burn":
            end = time.thread_time() + int(q.get("ms", "10")) / 1000.0
            x = 0
            while time.thread_time() < end:
                x += 1
            self.reply(200, socket.gethostname())
        elif p == "/env":
            self.reply(200, os.environ.get(q.get("name", ""), ""))
        elif p == "/exit":
            self.reply(200, "bye")
            threading.Thread(target=lambda: (time.sleep(0.1), os._exit(int(q.get("code", "0"))))).start()
        else:
            self.reply(404, "not found")


def main(argv):
    port = 8080
    mode = "web"
    for a in argv:
        if a in ("netexec", "serve-hostname", "pause"):
            mode = a
        elif a.startswith("--http-port=") or a.startswith("--port="):
            port = int(a.split("=", 1)[1])
    if "--port" in argv:
        port = int(argv[argv.index("--port") + 1])
    if mode == "pause":
        while True:
            time.sleep(3600)
    srv = http.server.ThreadingHTTPServer(("0.0.0.0", port), H)
    srv.daemon_threads = True
    print(f"serving on :{port} as {socket.gethostname()}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
