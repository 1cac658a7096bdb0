#!/usr/bin/env python3
"""Soak test for Portico (not run in CI): mixed load for a long time against an origin that
misbehaves on purpose, printing Portico's RSS, open file descriptors and the error counts every
interval. Run through bin/soak; see --help.

What runs:
  * a faulty origin (threads, raw sockets): /ok, /big (1 MiB), /echo (reads the body), and faults:
    /fault/reset (RST before answering), /fault/garbage, /fault/hang (never answers),
    /fault/cut (half the body, then close), /fault/ambiguous (Content-Length with chunked);
    it also closes idle keep-alive connections at random, racing Portico's reuse of them;
  * Portico (bin/portico) in front of it, with short upstream and client timeouts;
  * load workers on keep-alive connections: 70% good requests (GET /ok, GET /big, POST /echo),
    10% faults, 5% smuggling attempts (CL+TE), the rest 429-limited requests; plus slowloris
    clients that never finish their heads.

A good request must get a complete 200; one that does not is "lost" and printed as such. Faults
must get 502/504 or a cut response; smuggling attempts 400; slowloris 408. Columns: 408 counts
slowloris clients answered 408; "post!" counts POSTs that did not get 200 — a body sent on a
connection the origin closed at that moment is not retried (it may have been acted on), so these
are 502s by design; "lost" must stay 0.
"""
import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIG = 1 << 20
lock = threading.Lock()
stats = Counter()
stop = threading.Event()


def count(key, n=1):
    with lock:
        stats[key] += n


# ---- the faulty origin ---------------------------------------------------------------------------

def read_head(sock_file):
    lines = []
    while True:
        line = sock_file.readline(65536)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line.decode("latin-1").rstrip("\r\n"))


def origin_conn(conn):
    f = conn.makefile("rb")
    try:
        while not stop.is_set():
            head = read_head(f)
            if head is None:
                return
            method, path, _ = head[0].split(" ", 2)
            headers = {h.split(":", 1)[0].strip().lower(): h.split(":", 1)[1].strip() for h in head[1:] if ":" in h}
            body = 0
            if "content-length" in headers:
                body = len(f.read(int(headers["content-length"])))
            elif headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int(f.readline().split(b";")[0], 16)
                    f.read(size + 2) if size else None
                    if size == 0:
                        read_head(f)
                        break
                    body += size
            if path == "/fault/reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                return
            if path == "/fault/garbage":
                conn.sendall(b"SPDY/9 nonsense\r\n\r\n")
                return
            if path == "/fault/hang":
                time.sleep(30)
                return
            if path == "/fault/cut":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 50000)
                return
            if path == "/fault/ambiguous":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                continue
            if path == "/big":
                payload = b"b" * BIG
            elif path == "/echo":
                payload = ("received %d" % body).encode()
            else:
                payload = b"ok"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload)
                         + (b"" if method == "HEAD" else payload))
            if random.random() < 0.05:
                # Close an idle keep-alive connection a moment later: races Portico reusing it.
                time.sleep(random.random() * 0.05)
                return
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def start_origin(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(512)

    def accept():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=origin_conn, args=(c,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv


# ---- the load ------------------------------------------------------------------------------------

class Cut(Exception):
    pass


def read_response(f, method="GET"):
    status_line = f.readline(65536)
    if not status_line:
        raise Cut()
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    while True:
        line = f.readline(65536)
        if not line:
            raise Cut()
        if line in (b"\r\n", b"\n"):
            break
        k, v = line.decode("latin-1").split(":", 1)
        headers[k.strip().lower()] = v.strip()
    body = b""
    if method != "HEAD" and status >= 200 and status not in (204, 304):
        if "content-length" in headers:
            n = int(headers["content-length"])
            body = f.read(n)
            if len(body) != n:
                raise Cut()
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size_line = f.readline()
                if not size_line:
                    raise Cut()
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    while f.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = f.read(size)
                if len(chunk) != size:
                    raise Cut()
                parts.append(chunk)
                f.readline()
            body = b"".join(parts)
        else:
            body = f.read()
    return status, headers, body


def worker(port):
    sock = None
    f = None
    while not stop.is_set():
        if sock is None:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=20)
                f = sock.makefile("rb")
            except OSError:
                count("connect_error")
                time.sleep(0.1)
                continue
        r = random.random()
        if r < 0.55:
            kind, req, method = "good", b"GET /ok HTTP/1.1\r\nHost: soak\r\n\r\n", "GET"
        elif r < 0.62:
            kind, req, method = "good", b"GET /big HTTP/1.1\r\nHost: soak\r\n\r\n", "GET"
        elif r < 0.70:
            body = b"p" * random.choice((10, 4096, 65536))
            kind, method = "good_post", "POST"
            req = b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        elif r < 0.80:
            fault = random.choice(("reset", "garbage", "hang", "cut", "ambiguous"))
            kind, req, method = "fault", ("GET /fault/%s HTTP/1.1\r\nHost: soak\r\n\r\n" % fault).encode(), "GET"
        elif r < 0.85:
            kind, method = "smuggle", "POST"
            req = (b"POST /echo HTTP/1.1\r\nHost: soak\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"0\r\n\r\nGET /ok HTTP/1.1\r\nHost: soak\r\n\r\n")
        else:
            kind, req, method = "limited", b"GET /limited HTTP/1.1\r\nHost: soak\r\n\r\n", "GET"
        count("requests")
        try:
            sock.sendall(req)
            status, headers, body = read_response(f, method)
            count("status_%d" % status)
            if kind == "good" and status != 200:
                count("lost")
            if kind == "good_post":
                if status != 200 or not body.startswith(b"received"):
                    # A body sent on a connection the origin just closed is not retried (it may have been acted on).
                    count("post_not_ok")
            if kind == "smuggle" and status != 400:
                count("smuggle_not_refused")
            if headers.get("connection", "").lower() == "close":
                raise Cut()
        except (Cut, OSError, ValueError, IndexError):
            if kind == "good":
                count("lost")
            elif kind == "fault":
                count("fault_cut")
            elif kind == "good_post":
                count("post_not_ok")
            try:
                sock.close()
            except OSError:
                pass
            sock = None


def slowloris(port):
    """Sends a head one byte a second and never finishes it: Portico must answer 408 after header_timeout."""
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            s.sendall(b"GET /ok HTTP/1.1\r\nHost: soak\r\n")
            s.settimeout(1)
            for _ in range(60):
                if stop.is_set():
                    break
                s.sendall(b"X")
                try:
                    data = s.recv(64)
                except socket.timeout:
                    continue
                count("slowloris_%s" % (data.split(b" ")[1].decode() if data else "closed_quietly"))
                break
            s.close()
        except OSError:
            count("slowloris_reset")


# ---- Portico and the report ----------------------------------------------------------------------

CONFIG = """
workers: 2
listeners:
  - name: soak
    address: 127.0.0.1:{port}
    http:
      header_timeout: 5s
      body_timeout: 5s
      send_timeout: 10s
access_log:
  path: "{log}"
upstreams:
  faulty:
    response_header_timeout: 2s
    read_timeout: 2s
    max_fails: 0
    backends:
      - address: 127.0.0.1:{origin}
servers:
  - max_body_size: 1m
    routes:
      - match: {{ path: /limited }}
        upstream: faulty
        rate_limit: {{ key: route, rate: 20, burst: 20 }}
      - match: {{ prefix: / }}
        upstream: faulty
limits:
  buffer_memory: 64m
"""


def proc_stats(pid):
    try:
        with open("/proc/%d/status" % pid) as s:
            rss = next(int(l.split()[1]) for l in s if l.startswith("VmRSS:"))
        fds = len(os.listdir("/proc/%d/fd" % pid))
        return rss, fds
    except (OSError, StopIteration):
        return 0, 0


def java_pid(parent):
    """bin/portico execs java, so the child is the JVM itself."""
    return parent.pid


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)), help="minutes (30)")
    p.add_argument("--interval", type=float, default=60, help="seconds between reports (60)")
    p.add_argument("--workers", type=int, default=16, help="load connections (16)")
    p.add_argument("--slowloris", type=int, default=4, help="slowloris clients (4)")
    p.add_argument("--port", type=int, default=18080)
    p.add_argument("--origin-port", type=int, default=18081)
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="portico-soak-")
    conf = os.path.join(tmp, "soak.yaml")
    log = os.path.join(tmp, "access.log")
    with open(conf, "w") as c:
        c.write(CONFIG.format(port=args.port, origin=args.origin_port, log=log))
    srv = start_origin(args.origin_port)
    portico = subprocess.Popen([os.path.join(ROOT, "bin", "portico"), "--config", conf],
                               stdout=open(os.path.join(tmp, "portico.out"), "w"), stderr=subprocess.STDOUT,
                               env=dict(os.environ, PORTICO_HEAP=os.environ.get("PORTICO_HEAP", "256m")))
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", args.port), timeout=1).close()
            break
        except OSError:
            if portico.poll() is not None:
                sys.exit("portico exited; see " + tmp)
            time.sleep(0.5)
    pid = java_pid(portico)
    print("soak: portico pid %d on :%d, origin :%d, %d workers, %d slowloris, %.0f min; files in %s"
          % (pid, args.port, args.origin_port, args.workers, args.slowloris, args.duration, tmp), flush=True)
    threads = [threading.Thread(target=worker, args=(args.port,), daemon=True) for _ in range(args.workers)]
    threads += [threading.Thread(target=slowloris, args=(args.port,), daemon=True) for _ in range(args.slowloris)]
    for t in threads:
        t.start()
    start = time.time()
    end = start + args.duration * 60
    print("%7s %9s %6s %9s %6s %6s %6s %6s %6s %6s %6s %6s %5s %s" % (
        "minute", "rss_kib", "fds", "requests", "200", "400", "408", "429", "502", "504", "cut", "lost",
        "post!", "other"), flush=True)
    last = 0
    while time.time() < end and portico.poll() is None:
        time.sleep(min(args.interval, max(0.1, end - time.time())))
        rss, fds = proc_stats(pid)
        with lock:
            s = dict(stats)
        known = {"requests", "status_200", "status_400", "status_429", "status_502", "status_504",
                 "fault_cut", "lost", "post_not_ok", "slowloris_408"}
        other = {k: v for k, v in s.items() if k not in known}
        print("%7.1f %9d %6d %9d %6d %6d %6d %6d %6d %6d %6d %6d %5d %s" % (
            (time.time() - start) / 60, rss, fds, s.get("requests", 0), s.get("status_200", 0),
            s.get("status_400", 0), s.get("slowloris_408", 0), s.get("status_429", 0), s.get("status_502", 0),
            s.get("status_504", 0), s.get("fault_cut", 0), s.get("lost", 0), s.get("post_not_ok", 0), other),
            flush=True)
        last = s.get("requests", 0)
    stop.set()
    alive = portico.poll() is None
    # Let every worker finish the request it is in before Portico goes away, so that the final
    # counts describe the load, not the shutdown.
    for t in threads:
        t.join(timeout=25)
    with lock:
        final = Counter(stats)
    portico.terminate()
    try:
        portico.wait(40)
    except subprocess.TimeoutExpired:
        portico.kill()
    srv.close()
    print("soak: %s; %d requests; lost good responses: %d; access log: %s" % (
        "portico stayed up" if alive else "PORTICO DIED", final.get("requests", 0), final.get("lost", 0), log),
        flush=True)
    sys.exit(0 if alive and final.get("lost", 0) == 0 and last > 0 else 1)


if __name__ == "__main__":
    main()
