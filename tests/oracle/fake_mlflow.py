#!/usr/bin/env python3
"""A loopback stand-in for an MLflow tracking server (REST API 2.0), for `runs export --mlflow`.

Usage: fake_mlflow.py --port-file F [--token T] [--basic USER:PASS]

Listens on 127.0.0.1 on a free port, written to --port-file (atomically) once
it accepts connections.  Serves the endpoints milkcast uses and checks every
request against MLflow's documented API the way its server does (protobuf JSON
parsing: required fields, types, no unknown fields; LogBatch limits; known ids;
param immutability; key names; local model sources; alias names), answering
MLflow's error replies ({"error_code", "message"}).  With --token and/or
--basic, every API request must carry `Authorization: Bearer T` or basic
USER:PASS, else 401.

Control endpoints for the test (no auth), outside MLflow's API:
  GET  /_fake/state   everything stored, every request seen, every violation
  POST /_fake/fail    {"path", "status", "error_code"?, "message"?, "count"?, "after"?}:
                      answer the next `count` (1) requests to `path` after `after`
                      (0) more with that error, without acting on them

Test tooling only (Python standard library); never part of milkcast.
"""
import argparse
import base64
import json
import os
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API = "/api/2.0/mlflow/"
MAX_METRICS, MAX_PARAMS, MAX_TAGS, MAX_ITEMS = 1000, 100, 100, 1000
MAX_BODY = 1024 * 1024
KEY_RE = re.compile(r"^[A-Za-z0-9_\-./ ]{1,250}$")
RUN_STATUS = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"}
SPECIAL_DOUBLES = {"NaN", "Infinity", "-Infinity"}


class ApiError(Exception):
    def __init__(self, status, code, message, violation=True):
        super().__init__(message)
        self.status, self.code, self.message, self.violation = status, code, message, violation


def invalid(msg):
    return ApiError(400, "INVALID_PARAMETER_VALUE", msg)


def missing(msg):
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", msg, violation=False)


# Field types of the protobuf messages, as MLflow's JSON parser reads them.
def is_string(v):
    return isinstance(v, str)


def is_int64(v):
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None)


def is_double(v):
    if isinstance(v, bool):
        return False
    return isinstance(v, (int, float)) or v in SPECIAL_DOUBLES


TAG = {"key": (is_string, False), "value": (is_string, False)}
METRIC = {"key": (is_string, True), "value": (is_double, True),
          "timestamp": (is_int64, True), "step": (is_int64, False)}
SPECS = {
    "experiments/create": {"name": (is_string, True), "artifact_location": (is_string, False),
                           "tags": ([TAG], False)},
    "runs/create": {"experiment_id": (is_string, False), "user_id": (is_string, False),
                    "run_name": (is_string, False), "start_time": (is_int64, False),
                    "tags": ([TAG], False)},
    "runs/log-batch": {"run_id": (is_string, True), "metrics": ([METRIC], False),
                       "params": ([TAG], False), "tags": ([TAG], False)},
    "runs/update": {"run_id": (is_string, False), "run_uuid": (is_string, False),
                    "status": (lambda v: v in RUN_STATUS, False),
                    "end_time": (is_int64, False), "run_name": (is_string, False)},
    "registered-models/create": {"name": (is_string, True), "tags": ([TAG], False),
                                 "description": (is_string, False)},
    "model-versions/create": {"name": (is_string, True), "source": (is_string, True),
                              "run_id": (is_string, False), "tags": ([TAG], False),
                              "run_link": (is_string, False), "description": (is_string, False)},
    "registered-models/alias": {"name": (is_string, True), "alias": (is_string, True),
                                "version": (is_string, True)},
}


def check_message(obj, spec, where):
    if not isinstance(obj, dict):
        raise invalid(f"{where}: expected a JSON object")
    for k in obj:
        if k not in spec:
            raise invalid(f"{where}: unknown field '{k}'")
    for k, (kind, required) in spec.items():
        if k not in obj or obj[k] is None:
            if required:
                raise invalid(f"Missing value for required parameter '{k}' in {where}")
            continue
        v = obj[k]
        if isinstance(kind, list):
            if not isinstance(v, list):
                raise invalid(f"{where}: '{k}' must be an array")
            for i, item in enumerate(v):
                check_message(item, kind[0], f"{where}.{k}[{i}]")
        elif not kind(v):
            raise invalid(f"Invalid value {json.dumps(v)[:60]} for parameter '{k}' in {where}")


def check_key(kind, key):
    if not KEY_RE.match(key or ""):
        raise invalid(f"Invalid {kind} name: '{key}'")


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.experiments = {}   # id -> {experiment_id, name, lifecycle_stage, ...}
        self.runs = {}          # id -> {info, params, tags, metrics}
        self.models = {}        # name -> {versions: {"1": {...}}, aliases: {alias: "1"}}
        self.requests = []
        self.violations = []
        self.failures = []      # injected errors

    def state(self):
        return {"experiments": self.experiments, "runs": self.runs, "models": self.models,
                "requests": self.requests, "violations": self.violations}

    def experiment_by_name(self, name):
        for e in self.experiments.values():
            if e["name"] == name:
                return e
        return None

    def run(self, run_id):
        if run_id not in self.runs:
            raise missing(f"Run with id={run_id} not found")
        return self.runs[run_id]

    # --- endpoints ----------------------------------------------------------------

    def get_experiment_by_name(self, query):
        names = query.get("experiment_name")
        if not names or not names[0]:
            raise invalid("Missing value for required parameter 'experiment_name'")
        e = self.experiment_by_name(names[0])
        if e is None:
            raise missing(f"Could not find experiment with name '{names[0]}'")
        return {"experiment": e}

    def experiments_create(self, b):
        if not b["name"] or len(b["name"]) > 500:
            raise invalid("Invalid experiment name: an experiment name is 1 to 500 characters")
        if self.experiment_by_name(b["name"]):
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS",
                           f"Experiment(name={b['name']}) already exists.", violation=False)
        eid = str(len(self.experiments) + 1)
        self.experiments[eid] = {"experiment_id": eid, "name": b["name"],
                                 "artifact_location": f"mlflow-artifacts:/{eid}",
                                 "lifecycle_stage": "active", "tags": b.get("tags", [])}
        return {"experiment_id": eid}

    def runs_create(self, b):
        eid = b.get("experiment_id", "0")
        if eid not in self.experiments:
            raise missing(f"No Experiment with id={eid} exists")
        tags = {t["key"]: t.get("value", "") for t in b.get("tags", [])}
        for k in tags:
            check_key("tag", k)
        name = b.get("run_name")
        if name and "mlflow.runName" in tags and tags["mlflow.runName"] != name:
            raise invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, "
                          "but with different values")
        parent = tags.get("mlflow.parentRunId")
        if parent is not None:
            if parent not in self.runs:
                raise invalid(f"mlflow.parentRunId names an unknown run '{parent}'")
            if self.runs[parent]["info"]["experiment_id"] != eid:
                raise invalid("a child run must be in its parent's experiment")
        rid = uuid.uuid4().hex
        if name:
            tags["mlflow.runName"] = name
        info = {"run_id": rid, "run_uuid": rid, "experiment_id": eid, "run_name": name or "",
                "status": "RUNNING", "start_time": int(b.get("start_time", 0)),
                "artifact_uri": f"mlflow-artifacts:/{eid}/{rid}/artifacts",
                "lifecycle_stage": "active"}
        self.runs[rid] = {"info": info, "params": {}, "tags": tags, "metrics": []}
        return {"run": {"info": info, "data": {"tags": [{"key": k, "value": v}
                                                        for k, v in tags.items()]}}}

    def runs_log_batch(self, b):
        metrics, params, tags = b.get("metrics", []), b.get("params", []), b.get("tags", [])
        if len(metrics) > MAX_METRICS:
            raise invalid(f"A batch logging request can contain at most {MAX_METRICS} metrics. "
                          f"Got {len(metrics)} metrics.")
        if len(params) > MAX_PARAMS:
            raise invalid(f"A batch logging request can contain at most {MAX_PARAMS} params. "
                          f"Got {len(params)} params.")
        if len(tags) > MAX_TAGS:
            raise invalid(f"A batch logging request can contain at most {MAX_TAGS} tags. "
                          f"Got {len(tags)} tags.")
        if len(metrics) + len(params) + len(tags) > MAX_ITEMS:
            raise invalid(f"A batch logging request can contain at most {MAX_ITEMS} "
                          "metrics, params and tags in total.")
        run = self.run(b["run_id"])
        for p in params:
            check_key("param", p.get("key"))
            if len(p.get("value", "")) > 6000:
                raise invalid(f"Param '{p['key']}' value exceeds 6000 characters")
            old = run["params"].get(p["key"])
            if old is not None and old != p.get("value", ""):
                raise invalid(f"Changing param values is not allowed. Param with key='{p['key']}'"
                              f" was already logged with value='{old}'")
        for t in tags:
            check_key("tag", t.get("key"))
            if len(t.get("value", "")) > 5000:
                raise invalid(f"Tag '{t['key']}' value exceeds 5000 characters")
        for m in metrics:
            check_key("metric", m["key"])
        for p in params:
            run["params"][p["key"]] = p.get("value", "")
        for t in tags:
            run["tags"][t["key"]] = t.get("value", "")
        for m in metrics:
            run["metrics"].append({"key": m["key"], "value": m["value"],
                                   "timestamp": int(m["timestamp"]), "step": int(m.get("step", 0))})
        return {}

    def runs_update(self, b):
        rid = b.get("run_id") or b.get("run_uuid")
        if not rid:
            raise invalid("Missing value for required parameter 'run_id'")
        info = self.run(rid)["info"]
        if "status" in b:
            info["status"] = b["status"]
        if "end_time" in b:
            info["end_time"] = int(b["end_time"])
        return {"run_info": info}

    def registered_models_create(self, b):
        check_key("registered model", b["name"])
        if b["name"] in self.models:
            raise ApiError(400, "RESOURCE_ALREADY_EXISTS",
                           f"Registered Model (name={b['name']}) already exists.", violation=False)
        self.models[b["name"]] = {"name": b["name"], "description": b.get("description"),
                                  "versions": {}, "aliases": {}}
        return {"registered_model": {"name": b["name"]}}

    def model_versions_create(self, b):
        model = self.models.get(b["name"])
        if model is None:
            raise missing(f"Registered Model with name={b['name']} not found")
        rid = b.get("run_id")
        if rid:
            self.run(rid)
        source = b["source"]
        scheme = urlsplit(source).scheme
        if scheme in ("", "file"):
            # MLflow's server takes a local source only inside the run's artifact directory,
            # and this server's artifact locations are never local.
            raise invalid(f"Invalid model version source: '{source}'. To use a local path as a "
                          "model version source, the run_id request parameter has to be "
                          "specified and the local path has to be contained within the artifact "
                          "directory of the run specified by the run_id.")
        version = str(len(model["versions"]) + 1)
        mv = {"name": b["name"], "version": version, "source": source, "run_id": rid or "",
              "description": b.get("description", ""), "status": "READY",
              "tags": {t["key"]: t.get("value", "") for t in b.get("tags", [])}}
        model["versions"][version] = mv
        return {"model_version": mv}

    def registered_models_alias(self, b):
        model = self.models.get(b["name"])
        if model is None:
            raise missing(f"Registered Model with name={b['name']} not found")
        alias = b["alias"]
        if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
            raise invalid(f"'{alias}' is a reserved alias name")
        if b["version"] not in model["versions"]:
            raise missing(f"Model Version (name={b['name']}, version={b['version']}) not found")
        model["aliases"][alias] = b["version"]
        return {}


POST_HANDLERS = {
    "experiments/create": Store.experiments_create,
    "runs/create": Store.runs_create,
    "runs/log-batch": Store.runs_log_batch,
    "runs/update": Store.runs_update,
    "registered-models/create": Store.registered_models_create,
    "model-versions/create": Store.model_versions_create,
    "registered-models/alias": Store.registered_models_alias,
}


class Handler(BaseHTTPRequestHandler):
    server_version = "FakeMLflow/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorised(self):
        a = self.server.auth
        if not a:
            return True
        return self.headers.get("Authorization") in a

    def do_GET(self):
        self.handle_api("GET")

    def do_POST(self):
        self.handle_api("POST")

    def do_PATCH(self):
        self.handle_api("PATCH")

    def do_DELETE(self):
        self.handle_api("DELETE")

    def handle_api(self, method):
        st = self.server.store
        url = urlsplit(self.path)
        raw = self.read_body() if method != "GET" else b""
        if url.path.startswith("/_fake/"):
            return self.control(method, url.path, raw)
        with st.lock:
            status, obj, rec = self.dispatch(method, url, raw)
            st.requests.append(rec | {"status": status})
        self.reply(status, obj)

    def control(self, method, path, raw):
        st = self.server.store
        with st.lock:
            if method == "GET" and path == "/_fake/state":
                return self.reply(200, st.state())
            if method == "POST" and path == "/_fake/fail":
                f = json.loads(raw)
                st.failures.append({"path": f["path"], "status": int(f["status"]),
                                    "error_code": f.get("error_code", "INTERNAL_ERROR"),
                                    "message": f.get("message", "injected failure"),
                                    "count": int(f.get("count", 1)),
                                    "after": int(f.get("after", 0))})
                return self.reply(200, {})
        self.reply(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": path})

    def injected(self, path):
        for f in self.server.store.failures:
            if f["path"] != path or f["count"] <= 0:
                continue
            if f["after"] > 0:
                f["after"] -= 1
                return None
            f["count"] -= 1
            return f
        return None

    def dispatch(self, method, url, raw):
        st = self.server.store
        endpoint = url.path[len(API):] if url.path.startswith(API) else None
        rec = {"method": method, "path": url.path, "endpoint": endpoint, "bytes": len(raw)}
        if not self.authorised():
            return 401, {"error_code": "UNAUTHENTICATED",
                         "message": "You are not authenticated."}, rec
        f = self.injected(url.path)
        if f:
            rec["injected"] = True
            return f["status"], {"error_code": f["error_code"], "message": f["message"]}, rec
        try:
            return 200, self.call(method, endpoint, url, raw, rec), rec
        except ApiError as e:
            if e.violation:
                st.violations.append({"method": method, "path": url.path, "message": e.message})
            return e.status, {"error_code": e.code, "message": e.message}, rec

    def call(self, method, endpoint, url, raw, rec):
        st = self.server.store
        if method == "GET" and endpoint == "experiments/get-by-name":
            return st.get_experiment_by_name(parse_qs(url.query))
        if method != "POST" or endpoint not in POST_HANDLERS:
            raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No endpoint {method} {url.path}")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("application/json"):
            raise invalid(f"Content-Type must be application/json, not '{ctype}'")
        if len(raw) > MAX_BODY:
            raise invalid(f"The request body is {len(raw)} bytes, more than 1 MB")
        try:
            body = json.loads(raw)
        except ValueError as e:
            raise invalid(f"Malformed JSON: {e}")
        check_message(body, SPECS[endpoint], endpoint)
        if endpoint == "runs/log-batch":
            rec["counts"] = {k: len(body.get(k, [])) for k in ("metrics", "params", "tags")}
            rec["run_id"] = body["run_id"]
        return POST_HANDLERS[endpoint](st, body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--token")
    ap.add_argument("--basic")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.store = Store()
    srv.auth = set()
    if a.token:
        srv.auth.add("Bearer " + a.token)
    if a.basic:
        srv.auth.add("Basic " + base64.b64encode(a.basic.encode()).decode())
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
