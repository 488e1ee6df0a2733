#!/usr/bin/env bash
# runs export --mlflow: everything tracked and registered arrives at a fake MLflow server
# (tests/oracle/fake_mlflow.py validates every request against the REST API) exactly once:
# experiments, runs with parent tags, params, metric histories (NaN and infinities as MLflow's
# JSON strings), tags, statuses, log-batch limits, registered model, versions, aliases; a second
# export sends nothing new; retries on 5xx; a 4xx is a clear error and a rerun continues where
# the failed export stopped; dry run; auth from the environment, never printed.
. "$(dirname "$0")/lib.sh"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset MLFLOW_TRACKING_URI MLFLOW_TRACKING_TOKEN MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD
export ASAN_OPTIONS=detect_leaks=1
DB="$MILKCAST_HOME/milkcast.db"
TOKEN=tok-$RANDOM-sekret
BASIC_PASS=pw-$RANDOM-sekret

server_pid=
cleanup() {
	[ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

"$PY" "$MC_SRC/tests/oracle/fake_mlflow.py" --port-file "$TMP/port" --token "$TOKEN" \
	--basic "user:$BASIC_PASS" &
server_pid=$!
for _ in $(seq 200); do
	[ -s "$TMP/port" ] && break
	sleep 0.05
done
[ -s "$TMP/port" ] || fail "the fake MLflow server did not start"
PORT=$(cat "$TMP/port")
URL=http://127.0.0.1:$PORT

# mc CODE ARGS...: milkcast with the bearer token; no sanitizer report, no secret in the output.
mc() {
	local want=$1
	shift
	MLFLOW_TRACKING_TOKEN=$TOKEN expect_exit "$want" "$MILKCAST" "$@"
	no_leaks "$*"
}
no_leaks() {
	! grep -q "Sanitizer" "$TMP/err" || { cat "$TMP/err"; fail "sanitizer report from: $1"; }
	! grep -qe "$TOKEN" -e "$BASIC_PASS" "$TMP/out" "$TMP/err" || fail "a secret was printed by: $1"
}
# state EXPR: a Python expression on the fake server's state `s`.
state() {
	"$PY" -c "import json,sys,urllib.request as u
s=json.load(u.urlopen('$URL/_fake/state'))
print($1)"
}
# inject JSON: the fake answers the next matching request(s) with an error.
inject() {
	"$PY" -c "import sys,urllib.request as u
u.urlopen(u.Request('$URL/_fake/fail', data=sys.argv[1].encode(), method='POST'))" "$1"
}
creates() { state "sum(r['endpoint'] == 'runs/create' and r['status'] == 200 for r in s['requests'])"; }
requests() { state "len(s['requests'])"; }

# check EXPERIMENTS SOURCE_BASE: the server holds exactly the local finished runs of those
# experiments (comma-separated) and every version of their runs, with everything they logged.
cat >"$TMP/check.py" <<'EOF'
import json, math, sqlite3, sys, urllib.request

url, db, home, exps, base = sys.argv[1:6]
exps = exps.split(",")
st = json.load(urllib.request.urlopen(url + "/_fake/state"))
con = sqlite3.connect(db)
# Only the two refusals the test provokes: a local model source, a URL that is not the base.
bad = [v for v in st["violations"] if "Invalid model version source" not in v["message"]
       and not v["path"].startswith("/nope/")]
assert not bad, f"requests the MLflow API refuses: {bad}"
remote = {}
for rid, r in st["runs"].items():
    local = r["tags"].get("milkcast.run_id")
    assert local and local not in remote, f"remote run {rid}: no or a duplicate milkcast.run_id"
    remote[local] = (rid, r)
rows = con.execute("select r.run_uuid, e.name, r.parent_run_uuid, r.name, r.status, r.start_time,"
                   " r.end_time from runs r join experiments e using (experiment_id)").fetchall()
want = [r for r in rows if r[1] in exps and r[4] != "RUNNING"]
assert sorted(r[0] for r in want) == sorted(remote), \
    f"runs: local {len(want)}, remote {len(remote)}"


def enc(v, is_nan):
    if is_nan or v is None:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


n_metrics = n_nonfinite = 0
for run, exp, parent, name, status, start, end in want:
    rid, r = remote[run]
    info = r["info"]
    assert st["experiments"][info["experiment_id"]]["name"] == exp, f"{run}: experiment"
    assert (info["status"], info["start_time"], info.get("end_time")) == (status, start, end), \
        f"{run}: status/times {info}"
    params = dict(con.execute("select key, value from params where run_uuid = ?", (run,)))
    assert r["params"] == params, f"{run}: params differ"
    tags = dict(con.execute("select key, value from tags where run_uuid = ?", (run,)))
    tags["milkcast.run_id"] = run
    if name:
        tags["mlflow.runName"] = name
    if parent:
        tags["mlflow.parentRunId"] = remote[parent][0]
    assert r["tags"] == tags, f"{run}: tags differ: {set(r['tags'].items()) ^ set(tags.items())}"
    metrics = [(k, enc(v, n), ts, step) for k, v, ts, step, n in con.execute(
        "select key, value, timestamp, step, is_nan from metrics where run_uuid = ?"
        " order by rowid", (run,))]
    got = [(m["key"], m["value"], m["timestamp"], m["step"]) for m in r["metrics"]]
    assert got == metrics, f"{run}: metrics differ ({len(got)} remote, {len(metrics)} local)"
    n_metrics += len(metrics)
    n_nonfinite += sum(isinstance(m[1], str) for m in metrics)

versions = {}
for name, v, src, run in con.execute("select name, version, source, run_id from model_versions"):
    if run not in remote:
        continue
    model = st["models"][name]
    hits = [mv for mv in model["versions"].values() if mv["tags"]["milkcast.version"] == str(v)]
    assert len(hits) == 1, f"{name} version {v}: {len(hits)} remote versions"
    mv = hits[0]
    assert mv["run_id"] == remote[run][0], f"{name} version {v}: run"
    assert mv["source"] == base + src[len(home):], f"{name} version {v}: source {mv['source']}"
    own = dict(con.execute("select key, value from model_version_tags where name = ? and"
                           " version = ?", (name, v)))
    assert own.items() <= mv["tags"].items(), f"{name} version {v}: tags {mv['tags']}"
    versions[(name, v)] = mv["version"]
for name, alias, v in con.execute("select name, alias, version from registered_model_aliases"):
    if (name, v) in versions:
        got = st["models"][name]["aliases"].get(alias)
        assert got == versions[(name, v)], f"{name}@{alias}: remote {got}, want {versions[(name, v)]}"
for r in st["requests"]:
    c = r.get("counts")
    if c and r["status"] == 200:
        assert c["metrics"] <= 1000 and c["params"] <= 100 and c["tags"] <= 100 \
            and sum(c.values()) <= 1000, f"log-batch over the limits: {c}"
print(json.dumps({"runs": len(want), "metrics": n_metrics, "non_finite": n_nonfinite,
                  "versions": len(versions)}))
EOF
check() {
	"$PY" "$TMP/check.py" "$URL" "$DB" "$MILKCAST_HOME" "$1" "$2" >"$TMP/check.json" ||
		fail "the server does not hold what milkcast.db does ($1)"
}

"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
expect_exit 0 "$MILKCAST" -q train --trials 3 --horizons 2
# The runs of milkcast-forecast: the search's and one per trial.
NFC=$(sqlite3 "$DB" "select count(*) from runs r join experiments e using (experiment_id) where e.name = 'milkcast-forecast'")

# A synthetic experiment that needs several log-batch requests: 150 params, 120 tags, 2500
# metric values (5 NaN, 3 +inf, 2 -inf); and a RUNNING run, which must wait.
add_run() { # add_run ID NAME STATUS
	sqlite3 "$DB" "
	INSERT OR IGNORE INTO experiments(name, creation_time, last_update_time) VALUES ('stress', 1, 1);
	INSERT INTO runs(run_uuid, experiment_id, name, status, start_time, end_time)
	  VALUES ('$1', (SELECT experiment_id FROM experiments WHERE name = 'stress'), '$2', '$3',
	          1700000000000 + (SELECT count(*) FROM runs), 1700000009000);
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500)
	INSERT INTO metrics(run_uuid, key, value, timestamp, step, is_nan)
	  SELECT '$1', 'm.' || (i % 7), CASE WHEN i % 500 = 0 THEN 0 WHEN i % 777 = 0 THEN 9e999
	    WHEN i % 1111 = 0 THEN -9e999 ELSE i * 0.1 + 1.0 / 3 END, 1700000000000 + i, i,
	    i % 500 = 0 FROM n;
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150)
	INSERT INTO params SELECT '$1', 'p' || i, 'value ' || i FROM n;
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)
	INSERT INTO tags SELECT '$1', 'stress/t' || i, 'tag \"' || i || '\" é' FROM n;"
}
STRESS=5e5e5e5e5e5e5e5e5e5e5e5e5e5e0001
LIVE=5e5e5e5e5e5e5e5e5e5e5e5e5e5e0002
add_run $STRESS stress FINISHED
add_run $LIVE live RUNNING
# Owned by a live process (this shell), so `train` does not mark it interrupted.
sqlite3 "$DB" "INSERT INTO tags VALUES ('$LIVE', 'milkcast.pid', '$$')"

# --help, usage errors, bad URLs (a credential in the URL is refused, never echoed).
expect_exit 0 "$MILKCAST" runs --help
assert_contains "$TMP/out" "export --mlflow URL"
assert_contains "$TMP/out" "MLFLOW_TRACKING_TOKEN"
mc 2 runs export
assert_contains "$TMP/err" "export needs --mlflow URL"
mc 2 runs export --mlflow ftp://example.org
assert_contains "$TMP/err" "expected http://HOST"
mc 2 runs export --mlflow "http://user:$BASIC_PASS@127.0.0.1:$PORT"
assert_contains "$TMP/err" "not in the URL"
mc 1 runs export --mlflow "$URL" --experiment nope
assert_contains "$TMP/err" "no experiment 'nope'"
mc 2 runs export --mlflow "$URL" --retries 99
[ "$(requests)" = 0 ] || fail "usage errors sent requests"
pass "help and usage errors"

# Dry run: every request printed with its body, none sent, nothing recorded.
mc 0 runs export --mlflow "$URL" --dry-run --source-base s3://bucket/mc
assert_contains "$TMP/out" "^GET /api/2.0/mlflow/experiments/get-by-name?experiment_name=milkcast-forecast$"
assert_contains "$TMP/out" '^POST /api/2.0/mlflow/runs/create {"experiment_id"'
assert_contains "$TMP/out" '"value":"NaN"'
assert_contains "$TMP/out" '"value":"-Infinity"'
assert_contains "$TMP/out" '^POST /api/2.0/mlflow/registered-models/alias {"name":"milkcast-forecast","alias":"champion","version":"dry-run:1"}$'
mc 0 --json runs export --mlflow "$URL" --dry-run --source-base s3://bucket/mc
assert_eq "$(json_get "$TMP/out" "(j['dry_run'], j['runs'], j['runs_pending'], j['non_finite_metrics'], j['batches'] >= 3)")" \
	"(True, $((NFC + 1)), 1, 10, True)" "dry-run summary"
assert_eq "$(json_get "$TMP/out" "sum(r['path'].endswith('/runs/log-batch') for r in j['requests']) == j['batches']")" True "dry-run requests"
[ "$(requests)" = 0 ] || fail "the dry run sent requests"
assert_eq "$(sqlite3 "$DB" "select count(*) from mlflow_exports")" 0 "rows recorded by the dry run"
pass "dry run"

# The server already has the experiment and the registered model (someone else made them);
# a version has a tag of its own.
api() {
	"$PY" -c "import sys,urllib.request as u
u.urlopen(u.Request('$URL/api/2.0/mlflow/' + sys.argv[1], data=sys.argv[2].encode(),
    headers={'Content-Type': 'application/json', 'Authorization': 'Bearer $TOKEN'}))" "$1" "$2"
}
api experiments/create '{"name": "milkcast-forecast"}'
api registered-models/create '{"name": "milkcast-forecast"}'
sqlite3 "$DB" "INSERT INTO model_version_tags VALUES ('milkcast-forecast', 1, 'team', 'pricing')"

# Authentication: none → 401, a clear error naming the endpoint and what to set.
MLFLOW_TRACKING_TOKEN=wrong expect_exit 1 "$MILKCAST" runs export --mlflow "$URL"
no_leaks "export with a wrong token"
assert_contains "$TMP/err" "GET $URL/api/2.0/mlflow/experiments/get-by-name?experiment_name=[a-z-]*: HTTP 401 UNAUTHENTICATED"
assert_contains "$TMP/err" "MLFLOW_TRACKING_TOKEN"

# A URL that is not the server's base: a clear error.
mc 1 runs export --mlflow "$URL/nope"
assert_contains "$TMP/err" "GET $URL/nope/api/2.0/mlflow/experiments/get-by-name?experiment_name=[a-z-]*: HTTP 404 ENDPOINT_NOT_FOUND: .*(is the URL the tracking server's base?)"

# First export, only milkcast-forecast, without --source-base: the runs go, then the server
# refuses the version's local source (400): a clear error, non-zero exit, runs recorded.
mc 1 -v runs export --mlflow "$URL/" --experiment milkcast-forecast
assert_contains "$TMP/err" "POST $URL/api/2.0/mlflow/model-versions/create: HTTP 400 INVALID_PARAMETER_VALUE: Invalid model version source"
assert_contains "$TMP/err" "give --source-base URI"
assert_contains "$TMP/err" "run it again to continue"
assert_contains "$TMP/err" "^POST /api/2.0/mlflow/runs/log-batch$"
assert_eq "$(sqlite3 "$DB" "select count(*), sum(done) from mlflow_exports where kind = 'run'")" "$NFC|$NFC" "recorded runs"
# Again with the bundles' base URI (a 500 on the first version is retried): only the registry.
inject '{"path": "/api/2.0/mlflow/model-versions/create", "status": 500}'
mc 0 --json runs export --mlflow "$URL" --experiment milkcast-forecast --source-base s3://bucket/mc
assert_eq "$(json_get "$TMP/out" "(j['runs'], j['runs_already_exported'], j['versions'], j['aliases'], j['retries'])")" \
	"(0, $NFC, 1, 1, 1)" "second export"
assert_eq "$(creates)" "$NFC" "runs/create requests"
check milkcast-forecast s3://bucket/mc
assert_eq "$(json_get "$TMP/check.json" "(j['runs'], j['versions'])")" "($NFC, 1)" "exported"
assert_eq "$(state "s['models']['milkcast-forecast']['aliases']")" "{'champion': '1'}" "aliases"
pass "export of one experiment; a refused source is a clear error; the rerun continues"

# Nothing new: no request but the experiment lookup... none at all.
before=$(requests)
mc 0 --json runs export --mlflow "$URL" --experiment milkcast-forecast --source-base s3://bucket/mc
assert_eq "$(json_get "$TMP/out" "(j['runs'], j['versions'], j['aliases'], j['requests'])")" "(0, 0, 0, 0)" "idle export"
[ "$(requests)" = "$before" ] || fail "an export with nothing new sent requests"
pass "a second export sends nothing"

# More trains until there is a challenger; then everything, with basic auth; a 500 on a
# runs/create and a 503 on a log-batch are retried; the RUNNING run waits.
for seed in 1 2 3 4 5; do
	[ "$(sqlite3 "$DB" "select count(*) from registered_model_aliases where alias = 'challenger'")" = 1 ] && break
	expect_exit 0 "$MILKCAST" -q train --trials 3 --horizons 2 --seed $seed
done
[ "$(sqlite3 "$DB" "select count(*) from registered_model_aliases where alias = 'challenger'")" = 1 ] ||
	fail "no challenger after five trains"
inject '{"path": "/api/2.0/mlflow/runs/create", "status": 500, "after": 2}'
inject '{"path": "/api/2.0/mlflow/runs/log-batch", "status": 503, "error_code": "TEMPORARILY_UNAVAILABLE"}'
MLFLOW_TRACKING_USERNAME=user MLFLOW_TRACKING_PASSWORD=$BASIC_PASS \
	expect_exit 0 "$MILKCAST" -v --json runs export --mlflow "$URL" --source-base s3://bucket/mc
no_leaks "export with basic auth"
assert_eq "$(json_get "$TMP/out" "(j['runs_pending'], j['retries'], j['non_finite_metrics'] >= 10, j['experiments_created'], j['models_created'])")" \
	"(1, 2, True, 1, 0)" "full export"
check milkcast-forecast,stress s3://bucket/mc
assert_eq "$(json_get "$TMP/check.json" "(j['non_finite'] >= 10, j['versions'] >= 2)")" "(True, True)" "exported"
remote_stress=$(state "[k for k, r in s['runs'].items() if r['tags']['milkcast.run_id'] == '$STRESS'][0]")
assert_eq "$(state "[r['counts'] for r in s['requests'] if r.get('run_id') == '$remote_stress' and r['status'] == 200]")" \
	"[{'metrics': 800, 'params': 100, 'tags': 100}, {'metrics': 930, 'params': 50, 'tags': 20}, {'metrics': 770, 'params': 0, 'tags': 0}]" \
	"stress run batches"
assert_eq "$(state "s['models']['milkcast-forecast']['aliases'].keys() == {'champion', 'challenger'}")" True "aliases"
pass "everything exported once, within the limits, with retries"

# A 400 in the middle of a run: clear error naming the endpoint, server code and message;
# the rerun resumes that run at the failed batch (no metric twice) and sends the rest.
STRESS2=5e5e5e5e5e5e5e5e5e5e5e5e5e5e0003
add_run $STRESS2 stress2 FINISHED
sqlite3 "$DB" "update runs set status = 'FINISHED' where run_uuid = '$LIVE'"
inject '{"path": "/api/2.0/mlflow/runs/log-batch", "status": 400, "error_code": "INVALID_PARAMETER_VALUE", "message": "injected: metric rejected", "after": 1}'
mc 1 runs export --mlflow "$URL" --source-base s3://bucket/mc
assert_contains "$TMP/err" "cannot export run $LIVE (batch 2 of 3): POST $URL/api/2.0/mlflow/runs/log-batch: HTTP 400 INVALID_PARAMETER_VALUE: injected: metric rejected"
assert_eq "$(sqlite3 "$DB" "select batches, done from mlflow_exports where local_id = '$LIVE'")" "1|0" "progress of the failed run"
mc 0 --json runs export --mlflow "$URL" --source-base s3://bucket/mc
assert_eq "$(json_get "$TMP/out" "(j['runs'], j['runs_resumed'], j['batches'], j['runs_pending'])")" "(2, 1, 5, 0)" "resumed export"
check milkcast-forecast,stress s3://bucket/mc
assert_eq "$(sqlite3 "$DB" "select count(*) from mlflow_exports where kind = 'run' and done = 0")" 0 "incomplete runs"
pass "a 400 half way: clear error, the rerun resumes without duplicates"

# Champion moves locally: only the alias is sent again.
v1=$(sqlite3 "$DB" "select version from registered_model_aliases where alias = 'champion'")
other=$(sqlite3 "$DB" "select min(version) from model_versions where version != $v1")
expect_exit 0 "$MILKCAST" -q models promote milkcast-forecast "$other"
mc 0 --json runs export --mlflow "$URL" --source-base s3://bucket/mc
assert_eq "$(json_get "$TMP/out" "(j['runs'], j['versions'], j['aliases'] >= 1, j['aliases'] == j['requests'])")" "(0, 0, True, True)" "alias move"
check milkcast-forecast,stress s3://bucket/mc
pass "a moved alias is exported again"

# Transport errors are retried, then a clear error naming the endpoint.
mc 1 runs export --mlflow http://127.0.0.1:1 --retries 1
assert_contains "$TMP/err" "GET http://127.0.0.1:1/api/2.0/mlflow/experiments/get-by-name?experiment_name=[a-z-]*: .*(2 attempts)"
pass "transport errors"

# list/show/compare still work next to export.
expect_exit 0 "$MILKCAST" runs list
expect_exit 0 "$MILKCAST" runs show $STRESS
assert_eq "$(sqlite3 "$DB" "pragma integrity_check")" ok "integrity"
pass "runs list/show unaffected"
