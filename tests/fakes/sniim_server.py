#!/usr/bin/env python3
"""A loopback stand-in for SNIIM's file server, misbehaving on purpose, for milkcast fetch tests.

Usage: sniim_server.py --workbook X.xlsx --port-file F [--log F] [--slow SECONDS]

Listens on 127.0.0.1 on a free port, written to --port-file (atomically) once
it accepts connections.  Every request is appended to --log as
"METHOD PATH USER-AGENT".  Paths are /VARIANT/LecheDDMMYYYY.xlsx:

  /sniim/  one behaviour per date, see SNIIM below
  /range/  31032025, 02042025 and 04042025 are published, every other date is 404
  /v2/     31032025 is a different valid workbook (republished upstream), others 404

Test tooling only (Python standard library); never part of milkcast.
"""
import argparse
import io
import os
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML_PAGE = (b"<!DOCTYPE html>\n<html><head><title>SNIIM</title></head>\n"
             b"<body><h1>Error</h1><p>El archivo solicitado no existe.</p></body></html>\n")
MIB = 1 << 20

SNIIM = {
    "31032025": "good",
    "01042025": "missing",         # 404
    "02042025": "truncated",       # honest Content-Length, body cut in half
    "03042025": "short_body",      # Content-Length of the whole file, half sent, closed
    "04042025": "html200",         # an HTML error page with status 200
    "07042025": "flaky",           # the first request gets 500, then good
    "08042025": "slow",            # answers after --slow seconds
    "09042025": "head405",         # HEAD is 405, GET is good
    "10042025": "redirect",        # 302 to /sniim/Leche31032025.xlsx
    "11042025": "busy",            # the first request gets 429 Retry-After: 1
    "14042025": "forbidden",       # 403
    "15042025": "huge_announced",  # Content-Length of 100 MiB
    "16042025": "huge_streamed",   # 80 MiB chunked, no Content-Length
    "17042025": "redirect_loop",   # 302 to itself
    "18042025": "octet",           # good, as application/octet-stream
    "21042025": "no_type",         # good, without Content-Type
    "22042025": "down",            # always 503
    "23042025": "garbage",         # xlsx Content-Type, not a zip
}
RANGE_DATES = {"31032025", "02042025", "04042025"}


def republished(data):
    """The same workbook with a zip comment: valid, but different bytes."""
    bio = io.BytesIO(data)
    with zipfile.ZipFile(bio, "a") as zf:
        zf.comment = b"republished"
    return bio.getvalue()


class State:
    def __init__(self, workbook, log_path, slow):
        with open(workbook, "rb") as f:
            self.workbook = f.read()
        self.changed = republished(self.workbook)
        self.slow = slow
        self.log_path = log_path
        self.lock = threading.Lock()
        self.counts = {}

    def record(self, method, path, agent):
        """Count requests per path; return how many came before this one."""
        with self.lock:
            n = self.counts.get(path, 0)
            self.counts[path] = n + 1
            if self.log_path:
                with open(self.log_path, "a") as f:
                    f.write(f"{method} {path} {agent}\n")
            return n


def behaviour(variant, date):
    if variant == "sniim":
        return SNIIM.get(date, "missing")
    if variant == "range":
        return "good" if date in RANGE_DATES else "missing"
    if variant == "v2":
        return "changed" if date == "31032025" else "missing"
    return "missing"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeSNIIM/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        self.dispatch(head=True)

    def do_GET(self):
        self.dispatch(head=False)

    def dispatch(self, head):
        st = self.server.state
        before = st.record(self.command, self.path, self.headers.get("User-Agent", "-"))
        parts = self.path.split("/")
        date = ""
        if len(parts) == 3 and parts[2].startswith("Leche") and parts[2].endswith(".xlsx"):
            date = parts[2][5:-5]
        kind = behaviour(parts[1] if len(parts) == 3 else "", date)
        try:
            getattr(self, "serve_" + kind)(head, before)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send(self, status, body=b"", ctype=None, head=False, headers=(), length=None):
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def serve_good(self, head, before):
        self.send(200, self.server.state.workbook, XLSX, head)

    def serve_changed(self, head, before):
        self.send(200, self.server.state.changed, XLSX, head)

    def serve_missing(self, head, before):
        self.send(404, HTML_PAGE, "text/html; charset=utf-8", head)

    def serve_forbidden(self, head, before):
        self.send(403, HTML_PAGE, "text/html; charset=utf-8", head)

    def serve_truncated(self, head, before):
        wb = self.server.state.workbook
        self.send(200, wb[: len(wb) // 2], XLSX, head)

    def serve_short_body(self, head, before):
        wb = self.server.state.workbook
        if head:
            self.send(200, wb, XLSX, head)
            return
        self.send(200, wb[: len(wb) // 2], XLSX, length=len(wb))
        self.wfile.flush()
        self.close_connection = True

    def serve_html200(self, head, before):
        self.send(200, HTML_PAGE, "text/html; charset=utf-8", head)

    def serve_flaky(self, head, before):
        if before == 0:
            self.send(500, b"temporarily unavailable\n", "text/plain", head)
        else:
            self.serve_good(head, before)

    def serve_slow(self, head, before):
        time.sleep(self.server.state.slow)
        self.serve_good(head, before)

    def serve_head405(self, head, before):
        if head:
            self.send(405, b"", None, head, [("Allow", "GET")])
        else:
            self.serve_good(head, before)

    def serve_redirect(self, head, before):
        self.send(302, b"", None, head, [("Location", "/sniim/Leche31032025.xlsx")])

    def serve_redirect_loop(self, head, before):
        self.send(302, b"", None, head, [("Location", self.path)])

    def serve_busy(self, head, before):
        if before == 0:
            self.send(429, b"slow down\n", "text/plain", head, [("Retry-After", "1")])
        else:
            self.serve_good(head, before)

    def serve_down(self, head, before):
        self.send(503, b"down for maintenance\n", "text/plain", head)

    def serve_octet(self, head, before):
        self.send(200, self.server.state.workbook, "application/octet-stream", head)

    def serve_no_type(self, head, before):
        self.send(200, self.server.state.workbook, None, head)

    def serve_garbage(self, head, before):
        self.send(200, b"this is not a zip file\n" * 100, XLSX, head)

    def serve_huge_announced(self, head, before):
        self.send(200, b"", XLSX, True, length=100 * MIB)
        if not head:
            self.close_connection = True
            chunk = b"PK\x03\x04" + bytes(MIB - 4)
            for _ in range(100):
                self.wfile.write(chunk)

    def serve_huge_streamed(self, head, before):
        if head:
            self.send(200, b"", XLSX, True)
            return
        self.send_response(200)
        self.send_header("Content-Type", XLSX)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        chunk = b"PK\x03\x04" + bytes(MIB - 4)
        for _ in range(80):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workbook", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--slow", type=float, default=10.0)
    args = ap.parse_args()
    srv = Server(("127.0.0.1", 0), Handler)
    srv.state = State(args.workbook, args.log, args.slow)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, args.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
