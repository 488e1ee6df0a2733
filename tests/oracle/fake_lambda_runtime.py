#!/usr/bin/env python3
"""A loopback fake of the AWS Lambda Runtime API (2018-06-01) for tests.

It hands out the events of a JSON file one by one and records what the
runtime answers, following the documented protocol:

  GET  /2018-06-01/runtime/invocation/next          200, event body, headers
       Lambda-Runtime-Aws-Request-Id, -Deadline-Ms, -Invoked-Function-Arn,
       -Trace-Id; blocks while no event is queued
  POST /2018-06-01/runtime/invocation/{id}/response  202; 413 above 6 MB;
       400 for an unknown or already answered id
  POST /2018-06-01/runtime/invocation/{id}/error     202; the body must be
       {"errorMessage": str, "errorType": str, ...}
  POST /2018-06-01/runtime/init/error                202; later `next` gets 500

usage: fake_lambda_runtime.py EVENTS.json RECORD.json PORTFILE
Each event is a JSON value sent as the payload.  On every answer the record
file is rewritten: {"responses": [...], "errors": [...], "init_errors": [...],
"protocol_errors": [...]}; an answer after the invocation's deadline has
"late": true.  The deadline is FAKE_DEADLINE_MS (3000) after the event is
handed out (a comma-separated list gives one per event, the last repeated);
FAKE_MAX_RESPONSE (6 MB) is the response limit.  Python's
standard library only.
"""
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_RESPONSE = int(os.environ.get("FAKE_MAX_RESPONSE", 6 * 1024 * 1024))
DEADLINES_MS = [int(v) for v in os.environ.get("FAKE_DEADLINE_MS", "3000").split(",")]
PREFIX = "/2018-06-01/runtime"

events = json.load(open(sys.argv[1]))
record_path = sys.argv[2]
lock = threading.Condition()
record = {"responses": [], "errors": [], "init_errors": [], "protocol_errors": []}
outstanding = {}
state = {"init_failed": False, "handed": 0}


def save():
    with open(record_path + ".tmp", "w") as f:
        json.dump(record, f)
    os.replace(record_path + ".tmp", record_path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, doc, headers=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def do_GET(self):
        if self.path != PREFIX + "/invocation/next":
            record["protocol_errors"].append("GET " + self.path)
            save()
            return self.reply(404, {"errorMessage": "unknown path", "errorType": "NotFound"})
        with lock:
            if state["init_failed"]:
                return self.reply(500, {"errorMessage": "init failed", "errorType": "Runtime.ExitError"})
            deadline = time.time() + 60
            while not events and time.time() < deadline:
                lock.wait(0.5)
            if not events:
                return self.reply(500, {"errorMessage": "no event", "errorType": "Timeout"})
            event = events.pop(0)
            rid = str(uuid.uuid4())
            deadline_ms = int(time.time() * 1000) + DEADLINES_MS[min(state["handed"], len(DEADLINES_MS) - 1)]
            state["handed"] += 1
            outstanding[rid] = deadline_ms
        payload = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", rid)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:milkcast")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Sampled=1")
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self):
        data = self.body()
        parts = self.path[len(PREFIX):].strip("/").split("/") if self.path.startswith(PREFIX) else []
        if parts == ["init", "error"]:
            doc = self.error_doc(data)
            with lock:
                state["init_failed"] = True
                record["init_errors"].append({"type": self.headers.get("Lambda-Runtime-Function-Error-Type"), "body": doc})
                save()
            return self.reply(202, {"status": "OK"})
        if len(parts) != 3 or parts[0] != "invocation" or parts[2] not in ("response", "error"):
            record["protocol_errors"].append("POST " + self.path)
            save()
            return self.reply(404, {"errorMessage": "unknown path", "errorType": "NotFound"})
        rid, kind = parts[1], parts[2]
        with lock:
            if rid not in outstanding:
                record["protocol_errors"].append("unknown or answered id " + rid)
                save()
                return self.reply(400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
            if kind == "response" and len(data) > MAX_RESPONSE:
                record["responses"].append({"id": rid, "too_large": len(data)})
                save()
                return self.reply(413, {"errorMessage": "Exceeded maximum allowed payload size (%d bytes)." % MAX_RESPONSE,
                                        "errorType": "RequestEntityTooLarge"})
            late = time.time() * 1000 > outstanding.pop(rid)
            if kind == "response":
                try:
                    body = json.loads(data)
                except ValueError:
                    body = {"not_json": data[:200].decode("latin-1")}
                record["responses"].append({"id": rid, "body": body, "late": late})
            else:
                record["errors"].append({"id": rid, "type": self.headers.get("Lambda-Runtime-Function-Error-Type"),
                                         "body": self.error_doc(data), "late": late})
            save()
        return self.reply(202, {"status": "OK"})

    def error_doc(self, data):
        try:
            doc = json.loads(data)
        except ValueError:
            record["protocol_errors"].append("error body is not JSON")
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("errorMessage"), str) or not isinstance(doc.get("errorType"), str):
            record["protocol_errors"].append("error body lacks errorMessage/errorType: %r" % (doc,))
        return doc


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
save()
with open(sys.argv[3] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(sys.argv[3] + ".tmp", sys.argv[3])
server.serve_forever()
