#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A test service for the credential broker: HTTP/1.1 (keep-alive), over
TLS when given a certificate, that appends every request it receives
(method, path, headers, body length and SHA-256) as one JSON line to LOG,
and answers with the same JSON less the header values (with the names of
the headers that held a placeholder). GET /big?n=BYTES answers BYTES bytes.

  https_echo.py --addr 127.0.0.1 [--port P] --port-file F --log LOG [--cert C --key K]

--addr :: listens on IPv6 and IPv4 alike.
"""
import argparse
import hashlib
import http.server
import json
import re
import socket
import ssl
import sys


PH = re.compile(r"twph_[0-9a-f]{32}")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # head and body are two writes: without this the body waits for the
    # client's delayed ACK (40 ms a request on a kept-alive connection)
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def body(self):
        h = hashlib.sha256()
        n = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                left = size
                while left:
                    d = self.rfile.read(min(left, 1 << 16))
                    h.update(d)
                    n += len(d)
                    left -= len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left:
                d = self.rfile.read(min(left, 1 << 16))
                if not d:
                    break
                h.update(d)
                n += len(d)
                left -= len(d)
        return n, h.hexdigest()

    def handle_any(self):
        n, digest = self.body()
        rec = {"method": self.command, "path": self.path,
               "headers": [[k, v] for k, v in self.headers.items()],
               "body_len": n, "body_sha256": digest}
        with open(self.server.log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if self.path.startswith("/big?n="):
            size = int(self.path.split("=", 1)[1])
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            chunk = b"x" * (1 << 16)
            while size:
                k = min(size, len(chunk))
                self.wfile.write(chunk[:k])
                size -= k
            return
        # The answer names the headers it got, never their values: what a
        # call reads back must not carry a credential the broker put in.
        # It says which of them still held a placeholder (twph_ + 32 hex):
        # a call can tell whether the broker swapped one, and not for what.
        out = json.dumps({"method": self.command, "path": self.path,
                          "header_names": [k for k, _ in rec["headers"]],
                          "placeholder_in": [k for k, v in rec["headers"]
                                             if PH.search(v)],
                          "body_len": n, "body_sha256": digest}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any
    do_OPTIONS = handle_any


class S(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    a = ap.parse_args()
    S.address_family = socket.AF_INET6 if ":" in a.addr else socket.AF_INET
    srv = S((a.addr, a.port), H)
    srv.log = a.log
    if a.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
