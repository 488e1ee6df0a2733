#!/usr/bin/env python3
"""A loopback fake S3 that fails on purpose, for the retry tests of milkcast's S3 backend.

Usage: fake_s3_flaky.py --port-file F [--bucket NAME]...

Listens on 127.0.0.1 on a free port, written to --port-file (atomically)
once it accepts connections.  Path-style S3, in memory: PutObject,
GetObject, HeadObject, DeleteObject, ListObjectsV2 and the multipart calls
(Create, UploadPart, Complete, Abort).  Like S3 it rejects a body whose
Content-MD5 or x-amz-content-sha256 does not match; it does not check
signatures (t50 does that against moto), only that an
"AWS4-HMAC-SHA256 Credential=..." header is there, whose access key id and
region it records.

Every response closes the connection: libcurl silently replays a request
that got nothing back on a reused connection, which would blur the attempt
counts the tests check.

Control endpoints (JSON):

  POST /_fake/faults  a list of rules, replacing the script (counts restart)
  POST /_fake/reset   forget the log, the faults and every object and upload
  GET  /_fake/log     every S3 request: {"i", "t" (monotonic s), "method", "key",
                      "query", "status" (0: none sent), "fault", "access_key", "region"}
  GET  /_fake/state   {"objects": {"bucket/key": {"size", "etag"}}, "uploads": {id: key}}

A rule: {"fault": F, "method": "GET"|...|"*", "key": "k" (in the bucket;
absent: any, "" for bucket calls), "query": "name" or "name=value" that must
be in the query, "count": N (the first N matching requests; -1: all)}.  The
first rule that matches and has count left applies.  Faults:

  "500" "502" "503" "504" "501"  that status (503 is SlowDown), an S3 <Error> body
  "429"          Too Many Requests
  "400-timeout"  400 RequestTimeout (retryable by code)
  "403" "404"    AccessDenied, NoSuchKey
  "drop"         close the connection without a response
  "cut"          GET: full Content-Length, half the body, then close (else drop)
  "short"        GET: half the body with a Content-Length that matches it
  "corrupt"      GET: one byte flipped, the ETag of the real bytes
  "bad-etag"     PUT: stored, but a wrong ETag returned; GET: right bytes, wrong ETag
  "200-error"    200 with an S3 <Error> body (CompleteMultipartUpload's failure mode)

Test tooling only (Python standard library); never part of milkcast.
"""
import argparse
import base64
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

MIN_PART = 5 << 20

STATUS_FAULTS = {
    "500": (500, "InternalError", "We encountered an internal error. Please try again."),
    "501": (501, "NotImplemented", "A header you provided implies functionality that is not implemented."),
    "502": (502, "BadGateway", "Bad gateway."),
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "504": (504, "GatewayTimeout", "Gateway timeout."),
    "429": (429, "TooManyRequests", "Too many requests."),
    "400-timeout": (400, "RequestTimeout",
                    "Your socket connection to the server was not read from or written to "
                    "within the timeout period."),
    "403": (403, "AccessDenied", "Access Denied"),
    "404": (404, "NoSuchKey", "The specified key does not exist."),
}
OTHER_FAULTS = {"drop", "cut", "short", "corrupt", "bad-etag", "200-error"}


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def error_xml(code, message, resource=""):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
            "<Resource>%s</Resource><RequestId>FAKE</RequestId></Error>"
            % (escape(code), escape(message), escape(resource))).encode()


class State:
    def __init__(self, buckets):
        self.lock = threading.Lock()
        self.buckets = {b: {} for b in buckets}  # name -> {key: (bytes, etag)}
        self.uploads = {}  # id -> {"bucket", "key", "parts": {n: (bytes, etag)}}
        self.rules = []
        self.log = []

    def reset(self):
        for b in self.buckets:
            self.buckets[b] = {}
        self.uploads = {}
        self.rules = []
        self.log = []

    def match(self, method, key, query):
        """The fault for this request, consuming one use of its rule."""
        for r in self.rules:
            if r.get("count", 1) != -1 and r["hits"] >= r.get("count", 1):
                continue
            if r.get("method", "*") not in ("*", method):
                continue
            if "key" in r and r["key"] != key:
                continue
            q = r.get("query")
            if q is not None:
                name, _, value = q.partition("=")
                if name not in query or ("=" in q and query[name] != value):
                    continue
            r["hits"] += 1
            return r["fault"]
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeS3"
    state = None  # set in main

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_s3 %s\n" % (fmt % args))

    # --- plumbing ----------------------------------------------------------------

    def send(self, status, body=b"", headers=None, head=False):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.send_header("x-amz-request-id", "FAKE")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)
        self.close_connection = True
        self.sent = status

    def send_error_xml(self, status, code, message, head=False):
        self.send(status, error_xml(code, message, self.path_only), {"Content-Type": "application/xml"},
                  head=head)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def control(self, method):
        st = self.state
        with st.lock:
            if method == "POST" and self.path_only == "/_fake/faults":
                rules = json.loads(self.read_body() or b"[]")
                for r in rules:
                    if r["fault"] not in STATUS_FAULTS and r["fault"] not in OTHER_FAULTS:
                        return self.send(400, b"unknown fault %r\n" % r["fault"].encode())
                    r["hits"] = 0
                st.rules = rules
                return self.send(200, b"{}")
            if method == "POST" and self.path_only == "/_fake/reset":
                st.reset()
                return self.send(200, b"{}")
            if method == "GET" and self.path_only == "/_fake/log":
                return self.send(200, json.dumps(st.log).encode(), {"Content-Type": "application/json"})
            if method == "GET" and self.path_only == "/_fake/state":
                objects = {"%s/%s" % (b, k): {"size": len(v[0]), "etag": v[1]}
                           for b, objs in st.buckets.items() for k, v in objs.items()}
                uploads = {u: v["key"] for u, v in st.uploads.items()}
                return self.send(200, json.dumps({"objects": objects, "uploads": uploads}).encode(),
                                 {"Content-Type": "application/json"})
        return self.send(404, b"no such control endpoint\n")

    def handle_any(self, method):
        self.sent = 0
        self.fault_bad_etag = False
        t = time.monotonic()
        parts = urlsplit(self.path)
        self.path_only = parts.path
        if self.path_only.startswith("/_fake/"):
            return self.control(method)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        path = unquote(parts.path)
        bucket, _, key = path.lstrip("/").partition("/")
        body = self.read_body()
        auth = self.headers.get("Authorization", "")
        m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/s3/aws4_request,", auth)
        st = self.state
        with st.lock:
            fault = st.match(method, key, query)
            entry = {"i": len(st.log), "t": t, "method": method, "key": key, "query": parts.query,
                     "status": 0, "fault": fault,
                     "access_key": m.group(1) if m else None, "region": m.group(3) if m else None}
            st.log.append(entry)
        try:
            if not m:
                self.send_error_xml(403, "AccessDenied", "no SigV4 Authorization header", head=method == "HEAD")
            elif fault:
                self.inject(fault, method, bucket, key, query, body)
            else:
                self.s3(method, bucket, key, query, body)
        finally:
            with st.lock:
                entry["status"] = self.sent

    # --- faults ---------------------------------------------------------------------

    def inject(self, fault, method, bucket, key, query, body):
        head = method == "HEAD"
        if fault in STATUS_FAULTS:
            status, code, message = STATUS_FAULTS[fault]
            return self.send_error_xml(status, code, message, head=head)
        if fault == "200-error":
            return self.send(200, error_xml("InternalError", "We encountered an internal error. "
                                            "Please try again.", self.path_only),
                             {"Content-Type": "application/xml"})
        if fault == "bad-etag" and method == "PUT":
            self.fault_bad_etag = True  # s3() stores the object, then answers a wrong ETag
            return self.s3(method, bucket, key, query, body)
        with self.state.lock:
            obj = self.state.buckets.get(bucket, {}).get(key)
        if method != "GET" or obj is None or fault == "drop":
            self.close_connection = True
            return  # nothing sent: "Empty reply from server"
        data, etag = obj
        if fault == "cut":
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", '"%s"' % etag)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.sent = 200
            return
        if fault == "short":
            return self.send(200, data[: len(data) // 2], {"ETag": '"%s"' % etag})
        if fault == "corrupt":
            bad = bytearray(data)
            if bad:
                bad[len(bad) // 2] ^= 0x01
            return self.send(200, bytes(bad), {"ETag": '"%s"' % etag})
        if fault == "bad-etag":
            return self.send(200, data, {"ETag": '"%s"' % md5_hex(data + b"x")})
        raise AssertionError(fault)

    # --- S3 -------------------------------------------------------------------------

    def s3(self, method, bucket, key, query, body):
        st = self.state
        head = method == "HEAD"
        with st.lock:
            if bucket not in st.buckets:
                return self.send_error_xml(404, "NoSuchBucket", "The specified bucket does not exist",
                                           head=head)
            objs = st.buckets[bucket]
            if body or method in ("PUT", "POST"):
                want = self.headers.get("x-amz-content-sha256")
                if want != hashlib.sha256(body).hexdigest():
                    return self.send_error_xml(400, "XAmzContentSHA256Mismatch",
                                               "The provided 'x-amz-content-sha256' header does not "
                                               "match what was computed.")
                cmd5 = self.headers.get("Content-MD5")
                if cmd5 is not None and cmd5 != base64.b64encode(hashlib.md5(body).digest()).decode():
                    return self.send_error_xml(400, "BadDigest", "The Content-MD5 you specified did "
                                               "not match what we received.")
            if not key:
                if method == "GET" and query.get("list-type") == "2":
                    return self.list_v2(bucket, objs, query)
                return self.send_error_xml(501, "NotImplemented", "not in this fake", head=head)
            if "uploadId" in query or "uploads" in query:
                return self.multipart(method, bucket, key, query, body)
            if method == "PUT":
                etag = md5_hex(body)
                objs[key] = (body, etag)
                if self.fault_bad_etag:
                    etag = md5_hex(body + b"x")
                return self.send(200, b"", {"ETag": '"%s"' % etag})
            if method in ("GET", "HEAD"):
                if key not in objs:
                    return self.send_error_xml(404, "NoSuchKey", "The specified key does not exist.",
                                               head=head)
                data, etag = objs[key]
                if head:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("ETag", '"%s"' % etag)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.close_connection = True
                    self.sent = 200
                    return
                return self.send(200, data, {"ETag": '"%s"' % etag,
                                             "Content-Type": "application/octet-stream"})
            if method == "DELETE":
                objs.pop(key, None)
                return self.send(204)
        return self.send_error_xml(501, "NotImplemented", "not in this fake", head=head)

    def multipart(self, method, bucket, key, query, body):
        st = self.state  # the lock is held
        if method == "POST" and "uploads" in query:
            uid = uuid.uuid4().hex
            st.uploads[uid] = {"bucket": bucket, "key": key, "parts": {}}
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult "
                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>%s</Bucket><Key>%s</Key>"
                   "<UploadId>%s</UploadId></InitiateMultipartUploadResult>"
                   % (escape(bucket), escape(key), uid))
            return self.send(200, xml.encode(), {"Content-Type": "application/xml"})
        up = st.uploads.get(query.get("uploadId"))
        if up is None or up["key"] != key or up["bucket"] != bucket:
            return self.send_error_xml(404, "NoSuchUpload", "The specified upload does not exist.")
        if method == "PUT":
            n = int(query.get("partNumber", "0"))
            if not 1 <= n <= 10000:
                return self.send_error_xml(400, "InvalidArgument", "bad partNumber")
            etag = md5_hex(body)
            up["parts"][n] = (body, etag)
            if self.fault_bad_etag:
                etag = md5_hex(body + b"x")
            return self.send(200, b"", {"ETag": '"%s"' % etag})
        if method == "DELETE":
            del st.uploads[query["uploadId"]]
            return self.send(204)
        if method == "POST":
            try:
                root = ET.fromstring(body)
            except ET.ParseError:
                return self.send_error_xml(400, "MalformedXML", "not XML")
            listed = [(int(p.findtext("PartNumber")), p.findtext("ETag").strip('"'))
                      for p in root.iter("Part")]
            if not listed or [n for n, _ in listed] != sorted({n for n, _ in listed}):
                return self.send_error_xml(400, "InvalidPartOrder", "parts out of order")
            for i, (n, etag) in enumerate(listed):
                if n not in up["parts"] or up["parts"][n][1] != etag:
                    return self.send_error_xml(400, "InvalidPart", "part %d is not there" % n)
                if i + 1 < len(listed) and len(up["parts"][n][0]) < MIN_PART:
                    return self.send_error_xml(400, "EntityTooSmall", "part %d is too small" % n)
            data = b"".join(up["parts"][n][0] for n, _ in listed)
            digest = hashlib.md5(b"".join(bytes.fromhex(e) for _, e in listed)).hexdigest()
            etag = "%s-%d" % (digest, len(listed))
            st.buckets[bucket][key] = (data, etag)
            del st.uploads[query["uploadId"]]
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CompleteMultipartUploadResult "
                   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>%s</Bucket><Key>%s</Key>"
                   "<ETag>\"%s\"</ETag></CompleteMultipartUploadResult>"
                   % (escape(bucket), escape(key), etag))
            return self.send(200, xml.encode(), {"Content-Type": "application/xml"})
        return self.send_error_xml(501, "NotImplemented", "not in this fake")

    def list_v2(self, bucket, objs, query):
        prefix = query.get("prefix", "")
        max_keys = int(query.get("max-keys", "1000"))
        after = query.get("start-after", "")
        token = query.get("continuation-token")
        if token:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        keys = sorted(k for k in objs if k.startswith(prefix) and k > after)
        page, more = keys[:max_keys], len(keys) > max_keys
        out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult "
               "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
               "<Name>%s</Name><Prefix>%s</Prefix><KeyCount>%d</KeyCount><MaxKeys>%d</MaxKeys>"
               "<IsTruncated>%s</IsTruncated>"
               % (escape(bucket), escape(prefix), len(page), max_keys, "true" if more else "false")]
        if more:
            out.append("<NextContinuationToken>%s</NextContinuationToken>"
                       % base64.urlsafe_b64encode(page[-1].encode()).decode())
        for k in page:
            out.append("<Contents><Key>%s</Key><Size>%d</Size><ETag>\"%s\"</ETag>"
                       "<LastModified>2025-01-01T00:00:00.000Z</LastModified>"
                       "<StorageClass>STANDARD</StorageClass></Contents>"
                       % (escape(k), len(objs[k][0]), objs[k][1]))
        out.append("</ListBucketResult>")
        return self.send(200, "".join(out).encode(), {"Content-Type": "application/xml"})

    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_POST(self):
        self.handle_any("POST")

    def do_DELETE(self):
        self.handle_any("DELETE")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--bucket", action="append", default=[])
    args = ap.parse_args()
    Handler.state = State(args.bucket)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
