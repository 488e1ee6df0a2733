#!/usr/bin/python3
"""Checks deploy/grafana/dashboards/milkcast.json against a running Prometheus.

usage: check_dashboard.py DASHBOARD.json PROMETHEUS_URL RULES.yml EXPOSITION... [--require-data]

- the JSON parses; it has a `datasource` variable of type datasource, and
  every panel and query uses it (uid ${datasource});
- the panels the deployment promises are there (request rate, latency
  p50/p99, error rate, predictions, model version, drift share, RMSE vs naive);
- every query, with Grafana's variables replaced ($__rate_interval by 1m,
  $job and $instance by .*), is evaluated by Prometheus's /api/v1/query
  without error; with --require-data each also returns at least one series;
- every metric name the queries use is in one of the EXPOSITION files
  (`milkcast serve`'s /metrics, the monitor's textfile) or is a recording
  rule of RULES.yml.
Prints one line per query; exit 1 with one line per problem.
"""
import json
import re
import sys
import urllib.parse
import urllib.request

import yaml

PROMISED = {
    "request rate": r"request rate",
    "latency p50/p99": r"latency p50 / p99",
    "error rate": r"error rate",
    "predictions": r"predictions/s",
    "model version": r"model version",
    "drift share": r"drift share",
    "RMSE vs naive": r"rmse vs naive",
}
GRAFANA_VARS = {"$__rate_interval": "1m", "$__interval": "15s", "${job}": ".*", "$job": ".*",
                "${instance}": ".*", "$instance": ".*"}
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
                "group_left", "group_right", "inf", "nan", "atan2"}


def substitute(expr):
    for k in sorted(GRAFANA_VARS, key=len, reverse=True):
        expr = expr.replace(k, GRAFANA_VARS[k])
    return expr


def metric_names(expr):
    """Metric names in a PromQL expression: identifiers that are not
    functions, keywords, label names, durations or strings."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        names.add(word)
    return names


def exposition_names(path):
    names = set()
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def panels_of(dash):
    for p in dash.get("panels", []):
        if p.get("type") == "row":
            yield from p.get("panels", [])
        else:
            yield p


def main():
    args = [a for a in sys.argv[1:] if a != "--require-data"]
    require = "--require-data" in sys.argv
    if len(args) < 4:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    dash_path, url, rules_path, expositions = args[0], args[1].rstrip("/"), args[2], args[3:]
    problems = []
    dash = json.load(open(dash_path))
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource":
        problems.append("no `datasource` variable of type datasource")
    known = set()
    for path in expositions:
        known |= exposition_names(path)
    rules = yaml.safe_load(open(rules_path))
    known |= {r["record"] for g in rules["groups"] for r in g["rules"] if "record" in r}
    titles = []
    for p in panels_of(dash):
        title = p.get("title", "")
        titles.append(title.lower())
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel '{title}': its data source is not ${{datasource}}")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"panel '{title}': no query")
        for t in targets:
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"panel '{title}' query {t.get('refId')}: its data source is not ${{datasource}}")
            expr = t.get("expr", "")
            for var in re.findall(r"\$\{?(\w+)", expr):
                if not var.startswith("__") and var not in variables:
                    problems.append(f"panel '{title}': ${var} is not a dashboard variable")
            for name in sorted(metric_names(expr) - known):
                problems.append(f"panel '{title}': metric '{name}' is neither exposed nor recorded")
            res = query(url, substitute(expr))
            if res.get("status") != "success":
                problems.append(f"panel '{title}' query {t.get('refId')}: {res.get('errorType')}: {res.get('error')}")
                continue
            n = len(res["data"]["result"])
            print(f"{title} [{t.get('refId')}]: {n} series")
            if require and n == 0:
                problems.append(f"panel '{title}' query {t.get('refId')}: no data: {substitute(expr)}")
    for what, pattern in PROMISED.items():
        if not any(re.search(pattern, t) for t in titles):
            problems.append(f"no panel for {what}")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
