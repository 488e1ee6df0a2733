#!/usr/bin/env bash
# The lake and the model bundles on S3 (moto_server with SigV4 checking on, awscli as the
# oracle): ingest uploads partitions then the manifest; a fresh workspace reads the same
# lake; train uploads the bundle (bundle.json last) and registers its s3:// URI; predict in
# a fresh workspace loads it and gives the local bundle's numbers; a corrupted partition or
# bundle file is refused, naming the key, and leaves local copies alone.
# Skips (77) without moto_server or aws.
. "$(dirname "$0")/lib.sh"
DATA="$MC_SRC/data/sniim"

trap 'stop_moto; rm -rf "$TMP"' EXIT
start_moto --auth # as t50: SigV4 checked against an IAM user's key
unset MILKCAST_LAKE MILKCAST_ARTIFACTS
# One bucket each, listed whole: moto mis-verifies list prefixes holding '/' (docs/internals/artifact.md).
"${AWS[@]}" s3 mb s3://mc-lake >/dev/null || fail "aws s3 mb"
"${AWS[@]}" s3 mb s3://mc-models >/dev/null || fail "aws s3 mb"
export MILKCAST_S3_ENDPOINT="$EP"
LAKE=s3://mc-lake/shared
A="$TMP/a" B="$TMP/b" C="$TMP/c" D="$TMP/d" E="$TMP/e"

# The object PUTs moto saw since line $1 of its log, in order.
puts_since() { tail -n +"$1" "$TMP/moto.log" | grep -o '"PUT /[^ ]*' | sed 's/^"PUT //'; }

# Ingest into the S3 lake: 15 partitions, then the manifest.
mark=$(($(wc -l <"$TMP/moto.log") + 1))
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$A" --json ingest "$DATA"
assert_eq "$(json_get "$TMP/out" "(j['rows_added'], j['partitions_written'])")" "(41216, 15)" "ingest"
assert_eq "$(json_get "$TMP/out" "(j['remote']['uri'], j['remote']['uploaded'], j['remote']['generation'])")" \
	"('$LAKE', 15, 1)" "remote summary"
"${AWS[@]}" s3 ls --recursive s3://mc-lake >"$TMP/ls.txt" || fail "aws s3 ls"
assert_eq "$(grep -c 'shared/prices/20[0-9][0-9]-[01][0-9]/[0-9a-f]\{64\}\.parquet$' "$TMP/ls.txt")" 15 "partition objects"
assert_contains "$TMP/ls.txt" "shared/manifest.json"
"${AWS[@]}" s3 cp "$LAKE/manifest.json" "$TMP/manifest.json" >/dev/null
# Every partition the manifest names is there, with the bytes and hash it says; and the
# local copies are the same files.
$PY - "$TMP/manifest.json" "$TMP/ls.txt" "$A/lake/prices" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
assert m["format"] == "milkcast-lake/1" and m["generation"] == 1, m
sizes = {l.split()[3]: int(l.split()[2]) for l in open(sys.argv[2])}
assert len(m["partitions"]) == 15
for p in m["partitions"]:
    y, mo = p["month"].split("-")
    assert p["key"] == f"prices/{p['month']}/{p['sha256']}.parquet", p
    assert sizes["shared/" + p["key"]] == p["bytes"], p
    local = open(f"{sys.argv[3]}/year={y}/month={mo}/data.parquet", "rb").read()
    assert hashlib.sha256(local).hexdigest() == p["sha256"] and len(local) == p["bytes"], p
PY
puts_since "$mark" >"$TMP/puts.txt"
assert_eq "$(wc -l <"$TMP/puts.txt")" 16 "PUTs of the ingest"
assert_eq "$(tail -1 "$TMP/puts.txt")" "/mc-lake/shared/manifest.json" "the manifest is written last"
pass "ingest uploads the partitions, then the manifest"

# A second, empty workspace reads the same lake.
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$A" lake export -o "$TMP/a.csv"
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$B" -v lake export -o "$TMP/b.csv"
assert_contains "$TMP/err" "15 partitions downloaded from $LAKE"
cmp -s "$TMP/a.csv" "$TMP/b.csv" || fail "workspace B exports a different lake"
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$B" --json lake ls
json_get "$TMP/out" "[(p['month'], p['rows'], p['bytes']) for p in j]" >"$TMP/b.ls"
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$A" --json lake ls
json_get "$TMP/out" "[(p['month'], p['rows'], p['bytes']) for p in j]" >"$TMP/a.ls"
cmp -s "$TMP/a.ls" "$TMP/b.ls" || fail "lake ls differs between workspaces"
# Nothing changed remotely: a second read downloads nothing.
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$B" --json lake pull
assert_eq "$(json_get "$TMP/out" "(j['downloaded'], j['generation'], j['partitions'])")" "(0, 1, 15)" "pull again"
pass "a fresh workspace reads the same lake"

# train uploads the bundle to S3, bundle.json last, and registers its s3:// URI.
mark=$(($(wc -l <"$TMP/moto.log") + 1))
MILKCAST_LAKE=$LAKE MILKCAST_ARTIFACTS=s3://mc-models/ml expect_exit 0 \
	"$MILKCAST" --home "$A" --json train --trials 3 --horizons 2
src=$(json_get "$TMP/out" "j['source']")
bundle=$(json_get "$TMP/out" "j['bundle']")
name=$(basename "$bundle")
assert_eq "$src" "s3://mc-models/ml/models/$name" "source"
expect_exit 0 "$MILKCAST" --home "$A" --json models show milkcast-forecast
assert_eq "$(json_get "$TMP/out" "[v['source'] for v in j['versions']]")" "['$src']" "registered source"
puts_since "$mark" >"$TMP/puts.txt"
assert_eq "$(grep -c "^/mc-models/ml/models/$name/" "$TMP/puts.txt")" 3 "bundle files uploaded"
assert_eq "$(tail -1 "$TMP/puts.txt")" "/mc-models/ml/models/$name/bundle.json" "bundle.json uploaded last"
"${AWS[@]}" s3 ls --recursive s3://mc-models >"$TMP/ls.txt"
for f in model.ubj bundle.json snapshot.parquet; do assert_contains "$TMP/ls.txt" "ml/models/$name/$f"; done
"${AWS[@]}" s3 cp "$src/model.ubj" "$TMP/model.ubj" >/dev/null
cmp -s "$TMP/model.ubj" "$bundle/model.ubj" || fail "the uploaded model differs"
assert_eq "$(json_get "$bundle/bundle.json" "j['files']['model.ubj']['sha256']")" "$(sha256sum <"$bundle/model.ubj" | cut -d' ' -f1)" "hash listed in bundle.json"
pass "train uploads the bundle and registers its s3:// source"

# predict in a fresh workspace, from S3 (lake and bundle), as with the local bundle.
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$A" predict --as-of 2025-03-31 --no-report -o "$TMP/pa.csv"
mark=$(($(wc -l <"$TMP/moto.log") + 1))
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$C" predict --model "$src" --as-of 2025-03-31 --no-report -o "$TMP/pc.csv"
cmp -s "$TMP/pa.csv" "$TMP/pc.csv" || { diff "$TMP/pa.csv" "$TMP/pc.csv" | head; fail "the S3 bundle forecasts differently"; }
[ -s "$C/cache/bundles/$name/model.ubj" ] || fail "no cached bundle"
tail -n +"$mark" "$TMP/moto.log" | grep -q "\"GET /mc-models/ml/models/$name/model.ubj" || fail "the bundle was not fetched from S3"
assert_eq "$(wc -l <"$TMP/pc.csv")" $((193 * 2 + 1)) "forecast rows"
# Again from the cache: no bundle GET this time.
mark=$(($(wc -l <"$TMP/moto.log") + 1))
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$C" predict --model "$src" --as-of 2025-03-31 --no-report -o "$TMP/pc2.csv"
cmp -s "$TMP/pa.csv" "$TMP/pc2.csv" || fail "the cached bundle forecasts differently"
! tail -n +"$mark" "$TMP/moto.log" | grep -q '"GET /mc-models' || fail "a complete cached bundle was fetched again"
pass "predict in a fresh workspace loads the bundle from S3: same numbers"

# A second train is judged against the champion, loaded from its s3:// source.
MILKCAST_LAKE=$LAKE MILKCAST_ARTIFACTS=s3://mc-models/ml expect_exit 0 \
	"$MILKCAST" --home "$A" --json train --trials 3 --horizons 2 --seed 5
assert_contains "$TMP/out" "champion version 1 on"
assert_eq "$(json_get "$TMP/out" "j['source'].startswith('s3://mc-models/ml/models/bundle-')")" True "second source"
[ -s "$A/cache/bundles/$name/model.ubj" ] || fail "the champion was not loaded from S3"
pass "the registry's champion loads from its s3:// source"

# A corrupted partition: workspace D holds its own copy of every month (ingested without
# the remote, so other bytes); its pull downloads, detects the bad object and keeps D's files.
"$MILKCAST" -q --home "$D" ingest "$DATA"
(cd "$D/lake/prices" && find . -name '*.parquet' -exec sha256sum {} + | sort) >"$TMP/d.before"
key=$(json_get "$TMP/manifest.json" "[p['key'] for p in j['partitions'] if p['month'] == '2024-06'][0]")
printf 'not a parquet file' >"$TMP/garbage"
"${AWS[@]}" s3 cp "$TMP/garbage" "$LAKE/$key" >/dev/null
MILKCAST_LAKE=$LAKE expect_exit 1 "$MILKCAST" --home "$D" lake ls
assert_contains "$TMP/err" "partition '$key' in '$LAKE' is corrupt"
assert_contains "$TMP/err" "the local copy was kept"
(cd "$D/lake/prices" && find . -name '*.parquet' -exec sha256sum {} + | sort) | cmp -s - "$TMP/d.before" ||
	fail "a failed pull changed the local lake"
# train and predict read through the same pull: refused too.
MILKCAST_LAKE=$LAKE expect_exit 1 "$MILKCAST" --home "$D" predict --model "$src" --as-of 2025-03-31 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "$key"
[ ! -e "$TMP/x.csv" ] || fail "predict wrote output from a corrupt lake"
# Put the right bytes back: D's copy becomes the shared lake.
"${AWS[@]}" s3 cp "$A/lake/prices/year=2024/month=06/data.parquet" "$LAKE/$key" >/dev/null
MILKCAST_LAKE=$LAKE expect_exit 0 "$MILKCAST" --home "$D" lake export -o "$TMP/d.csv"
cmp -s "$TMP/a.csv" "$TMP/d.csv" || fail "workspace D does not hold the shared lake after the pull"
pass "a corrupted partition is refused with its key, the local copy kept"

# A corrupted bundle file on S3: refused by name, nothing cached.
"${AWS[@]}" s3 cp "$TMP/garbage" "$src/model.ubj" >/dev/null
MILKCAST_LAKE=$LAKE expect_exit 1 "$MILKCAST" --home "$E" predict --model "$src" --as-of 2025-03-31 --no-report -o "$TMP/x.csv"
assert_contains "$TMP/err" "'$src/model.ubj' is corrupt"
[ ! -e "$E/cache/bundles/$name" ] || fail "a corrupt bundle was cached"
pass "a corrupted bundle file on S3 is refused"
