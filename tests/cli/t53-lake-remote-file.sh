#!/usr/bin/env bash
# The remote lake and bundle store logic on file:// stores (no server needed): workspaces
# sharing a lake pull before they ingest and never overwrite each other's months; a push
# that would is refused; corrupt or missing partitions are refused by key with the local
# copies kept; bundles published to MILKCAST_ARTIFACTS are registered by URI, loaded
# through a checked cache (also the champion, when train compares), old bundles included.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"
unset MILKCAST_LAKE MILKCAST_ARTIFACTS
REMOTE="$TMP/remote"
export MILKCAST_LAKE="file://$REMOTE"
A="$TMP/a" B="$TMP/b" C="$TMP/c" D="$TMP/d" E="$TMP/e" F="$TMP/f"
sha() { sha256sum <"$1" | cut -d' ' -f1; }
month_sha() { json_get "$REMOTE/manifest.json" "[p['sha256'] for p in j['partitions'] if p['month'] == '$1'][0]"; }

# A starts the lake with three months.
expect_exit 0 "$MILKCAST" --home "$A" --json ingest "$DATA"/2024-0[1-3]-data.parquet
assert_eq "$(json_get "$TMP/out" "(j['remote']['uploaded'], j['remote']['generation'], j['remote']['partitions'])")" "(3, 1, 3)" "first push"
assert_eq "$(json_get "$REMOTE/manifest.json" "[p['month'] for p in j['partitions']]")" "['2024-01', '2024-02', '2024-03']" "manifest"
for m in 01 02 03; do
	s=$(sha "$A/lake/prices/year=2024/month=$m/data.parquet")
	[ -s "$REMOTE/prices/2024-$m/$s.parquet" ] || fail "partition 2024-$m is not under its hash"
	assert_eq "$(month_sha 2024-$m)" "$s" "manifest hash of 2024-$m"
done
pass "ingest pushes content-addressed partitions and the manifest"

# B, empty, adds April: it pulls A's months first.
expect_exit 0 "$MILKCAST" --home "$B" --json ingest "$DATA/2024-04-data.parquet"
assert_eq "$(json_get "$TMP/out" "(j['remote']['downloaded'], j['remote']['uploaded'], j['remote']['generation'])")" "(3, 1, 2)" "B's sync"
# A adds March to May: April is B's (pulled, unchanged rows), not overwritten by A.
expect_exit 0 "$MILKCAST" --home "$A" --json ingest "$DATA"/2024-0[3-5]-data.parquet
assert_eq "$(json_get "$TMP/out" "(j['rows_added'], j['rows_unchanged'], j['partitions_written'])")" "(2688, 5376, 1)" "A merges into B's April"
assert_eq "$(json_get "$TMP/out" "(j['remote']['downloaded'], j['remote']['uploaded'], j['remote']['generation'])")" "(1, 1, 3)" "A's sync"
assert_eq "$(month_sha 2024-04)" "$(sha "$B/lake/prices/year=2024/month=04/data.parquet")" "April is still B's"
expect_exit 0 "$MILKCAST" --home "$A" lake export -o "$TMP/a.csv"
expect_exit 0 "$MILKCAST" --home "$B" lake export -o "$TMP/b.csv"
cmp -s "$TMP/a.csv" "$TMP/b.csv" || fail "A and B read different lakes"
assert_eq "$(($(wc -l <"$TMP/a.csv") - 1))" 13440 "rows of January to May"
# A dry run pulls too, and writes nothing anywhere.
before=$(sha "$REMOTE/manifest.json")
expect_exit 0 "$MILKCAST" --home "$C" --json ingest --dry-run "$DATA/2024-05-data.parquet"
assert_eq "$(json_get "$TMP/out" "(j['rows_unchanged'], j['remote']['downloaded'], j['remote']['uploaded'])")" "(2688, 5, 0)" "dry run"
assert_eq "$(sha "$REMOTE/manifest.json")" "$before" "a dry run left the manifest alone"
pass "workspaces pull before ingesting: months are merged, not overwritten"

# A month changed here and there since the last sync: push refuses, pull takes the remote's.
MILKCAST_LAKE='' "$MILKCAST" -q --home "$B" ingest "$DATA/2024-06-data.parquet"
"$MILKCAST" -q --home "$A" ingest "$DATA/2024-06-data.parquet"
gen=$(json_get "$REMOTE/manifest.json" "j['generation']")
expect_exit 1 "$MILKCAST" --home "$B" lake push
assert_contains "$TMP/err" "cannot push month 2024-06 to 'file://$REMOTE': the remote lake changed it"
assert_eq "$(json_get "$REMOTE/manifest.json" "j['generation']")" "$gen" "a refused push wrote no manifest"
expect_exit 0 "$MILKCAST" --home "$B" --json lake pull
assert_eq "$(json_get "$TMP/out" "(j['downloaded'], j['generation'])")" "(1, $gen)" "pull (June; May came with the export)"
assert_eq "$(sha "$B/lake/prices/year=2024/month=06/data.parquet")" "$(month_sha 2024-06)" "B took A's June"
expect_exit 0 "$MILKCAST" --home "$B" lake push
assert_contains "$TMP/out" "nothing to upload"
# A month only this workspace has is pushed as it is.
MILKCAST_LAKE='' "$MILKCAST" -q --home "$B" ingest "$DATA/2024-07-data.parquet"
expect_exit 0 "$MILKCAST" --home "$B" --json lake push
assert_eq "$(json_get "$TMP/out" "(j['uploaded'], j['generation'], j['partitions'])")" "(1, $((gen + 1)), 7)" "push of a new month"
pass "a push never replaces a month changed elsewhere; pull takes the remote's"

# A corrupt partition: D's own copies (ingested without the remote) stay as they were.
MILKCAST_LAKE='' "$MILKCAST" -q --home "$D" ingest "$DATA"/2024-0[1-7]-data.parquet
(cd "$D/lake/prices" && find . -name '*.parquet' -exec sha256sum {} + | sort) >"$TMP/d.before"
key="prices/2024-02/$(month_sha 2024-02).parquet"
cp "$REMOTE/$key" "$TMP/good.parquet"
printf 'garbage' >"$REMOTE/$key"
expect_exit 1 "$MILKCAST" --home "$D" lake stats
assert_contains "$TMP/err" "partition '$key' in 'file://$REMOTE' is corrupt: 7 bytes"
assert_contains "$TMP/err" "the local copy was kept"
(cd "$D/lake/prices" && find . -name '*.parquet' -exec sha256sum {} + | sort) | cmp -s - "$TMP/d.before" ||
	fail "a failed pull changed D's lake"
# ingest pulls first: it fails before touching anything, and says so in its run.
expect_exit 1 "$MILKCAST" --home "$D" ingest "$DATA/2024-08-data.parquet"
assert_contains "$TMP/err" "$key"
assert_eq "$(sqlite3 "$D/milkcast.db" "select status from ingest_runs order by id desc limit 1")" failed "run status"
[ ! -e "$D/lake/prices/year=2024/month=08" ] || fail "the failed ingest wrote August"
# A partition missing from the remote is named too.
mv "$TMP/good.parquet" "$REMOTE/$key"
key5="prices/2024-05/$(month_sha 2024-05).parquet"
mv "$REMOTE/$key5" "$TMP/may.parquet"
expect_exit 1 "$MILKCAST" --home "$E" lake ls
assert_contains "$TMP/err" "missing partition '$key5'"
[ -z "$(find "$E/lake" -name '*.parquet')" ] || fail "a failed pull left partitions"
mv "$TMP/may.parquet" "$REMOTE/$key5"
expect_exit 0 "$MILKCAST" --home "$D" lake export -o "$TMP/d.csv"
expect_exit 0 "$MILKCAST" --home "$B" lake export -o "$TMP/b.csv"
cmp -s "$TMP/b.csv" "$TMP/d.csv" || fail "D does not hold the shared lake after a good pull"
pass "corrupt and missing partitions are refused by key, local copies kept"

# Bad settings.
MILKCAST_LAKE="ftp://example.org/x" expect_exit 1 "$MILKCAST" --home "$E" lake ls
assert_contains "$TMP/err" "MILKCAST_LAKE: remote lake: unsupported store URI 'ftp://example.org/x'"
MILKCAST_LAKE="$E/lake" expect_exit 1 "$MILKCAST" --home "$E" lake ls
assert_contains "$TMP/err" "inside the workspace's own lake"
MILKCAST_LAKE='' expect_exit 1 "$MILKCAST" --home "$E" lake pull
assert_contains "$TMP/err" "MILKCAST_LAKE is not set"
pass "bad MILKCAST_LAKE settings"

# Bundles in a file:// artifact store.
export MILKCAST_ARTIFACTS="file://$TMP/art"
expect_exit 0 "$MILKCAST" --home "$A" --json train --trials 3 --horizons 2
src1=$(json_get "$TMP/out" "j['source']")
b1=$(json_get "$TMP/out" "j['bundle']")
n1=$(basename "$b1")
assert_eq "$src1" "file://$TMP/art/models/$n1" "source"
for f in model.ubj bundle.json snapshot.parquet; do cmp -s "$b1/$f" "$TMP/art/models/$n1/$f" || fail "$f not uploaded"; done
$PY - "$b1" <<'PY'
import hashlib, json, os, sys
d = sys.argv[1]
files = json.load(open(os.path.join(d, "bundle.json")))["files"]
assert sorted(files) == ["model.ubj", "snapshot.parquet"], files
for name, e in files.items():
    data = open(os.path.join(d, name), "rb").read()
    assert e == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}, (name, e)
PY
expect_exit 0 "$MILKCAST" --home "$A" --json runs show "$(sqlite3 "$A/milkcast.db" "select run_id from model_versions where version = 1")"
assert_contains "$TMP/out" "$src1"
# A second train compares itself with the champion, loaded from its URI through the cache.
expect_exit 0 "$MILKCAST" --home "$A" --json train --trials 3 --horizons 2 --seed 5
assert_contains "$TMP/out" "champion version 1 on"
[ -s "$A/cache/bundles/$n1/model.ubj" ] || fail "the champion was not loaded from its URI"
expect_exit 0 "$MILKCAST" --home "$A" --json models show milkcast-forecast
assert_eq "$(json_get "$TMP/out" "[v['source'].startswith('file://$TMP/art/models/bundle-') for v in j['versions']]")" "[True, True]" "registered sources"
pass "train publishes bundles (bundle.json hashes) and registers their URIs"

# predict in a fresh workspace from the URI: the local bundle's numbers.
expect_exit 0 "$MILKCAST" --home "$A" predict --model "$b1" --as-of 2024-07-31 --no-report -o "$TMP/pa.csv"
expect_exit 0 "$MILKCAST" --home "$F" predict --model "$src1" --as-of 2024-07-31 --no-report -o "$TMP/pf.csv"
cmp -s "$TMP/pa.csv" "$TMP/pf.csv" || fail "the published bundle forecasts differently"
assert_eq "$(cat "$F/cache/bundles/$n1/.milkcast-source")" "$src1" "cache records its source"
# A damaged cache is fetched again; a damaged store copy is refused by name.
printf 'x' >>"$F/cache/bundles/$n1/model.ubj"
expect_exit 0 "$MILKCAST" --home "$F" predict --model "$src1/" --as-of 2024-07-31 --no-report -o "$TMP/pf2.csv"
cmp -s "$TMP/pa.csv" "$TMP/pf2.csv" || fail "a refetched bundle forecasts differently"
cp "$TMP/art/models/$n1/snapshot.parquet" "$TMP/snap.bak"
printf 'x' >>"$TMP/art/models/$n1/snapshot.parquet"
expect_exit 1 "$MILKCAST" --home "$E" predict --model "$src1" --as-of 2024-07-31 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "'$src1/snapshot.parquet' is corrupt"
[ ! -e "$E/cache/bundles/$n1" ] || fail "a corrupt bundle was cached"
mv "$TMP/snap.bak" "$TMP/art/models/$n1/snapshot.parquet"
expect_exit 1 "$MILKCAST" --home "$E" predict --model "file://$TMP/art/models/no-such-bundle" --as-of 2024-07-31 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "no bundle at 'file://$TMP/art/models/no-such-bundle'"
# A local directory is checked against its hashes too.
cp -r "$b1" "$TMP/edited"
printf 'x' >>"$TMP/edited/snapshot.parquet"
expect_exit 1 "$MILKCAST" --home "$A" predict --model "$TMP/edited" --as-of 2024-07-31 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "$TMP/edited/snapshot.parquet' is corrupt"
pass "predict loads a bundle URI through a checked cache"

# Bundles written before the hash list still load, from a directory and from a store.
mkdir -p "$TMP/old/models"
cp -r "$b1" "$TMP/old/models/bundle-old"
$PY - "$TMP/old/models/bundle-old/bundle.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1])); del j["files"]; json.dump(j, open(sys.argv[1], "w"), indent=2)
PY
expect_exit 0 "$MILKCAST" --home "$F" predict --model "$TMP/old/models/bundle-old" --as-of 2024-07-31 --no-report -o "$TMP/po.csv"
cmp -s "$TMP/pa.csv" "$TMP/po.csv" || fail "an old bundle forecasts differently"
expect_exit 0 "$MILKCAST" --home "$F" predict --model "file://$TMP/old/models/bundle-old" --as-of 2024-07-31 --no-report -o "$TMP/po2.csv"
cmp -s "$TMP/pa.csv" "$TMP/po2.csv" || fail "an old bundle from a store forecasts differently"
pass "bundles without a hash list still load"

# serve in a workspace with no lake of its own: it pulls the remote lake, and serves a
# bundle from the store; the lake's latest data is what it forecasts from.
G="$TMP/g"
"$MILKCAST" --home "$G" serve --listen 127.0.0.1:0 --model "$src1" --poll 0 --no-prediction-log 2>"$TMP/g.err" &
gpid=$!
port=
for _ in $(seq 200); do
	port=$($PY -c "import json,sys; print(([json.loads(l)['port'] for l in open(sys.argv[1]) if '\"listening\"' in l] + [''])[0])" "$TMP/g.err" 2>/dev/null || true)
	[ -n "$port" ] && curl -s -o /dev/null "http://127.0.0.1:$port/readyz" && break
	sleep 0.05
done
[ -n "$port" ] || { kill "$gpid"; cat "$TMP/g.err"; fail "serve did not start"; }
curl -s "http://127.0.0.1:$port/healthz" >"$TMP/g.health"
kill "$gpid"; wait "$gpid" 2>/dev/null || true
[ -s "$G/lake/prices/year=2024/month=07/data.parquet" ] || fail "serve did not pull the remote lake"
assert_contains "$TMP/g.health" "ok"
pass "serve pulls a remote lake and serves a bundle from the store"
