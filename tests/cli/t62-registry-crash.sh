#!/usr/bin/env bash
# Reliability of tracking and the registry: two trains at once lose no run and
# take distinct versions and bundles; a kill -9 at each step of registration
# (after the version row, inside the alias move) and at random moments leaves
# a consistent database: integrity_check ok, no version without its bundle or
# its finished run, no alias pointing at a missing version.
. "$(dirname "$0")/lib.sh"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
DB="$MILKCAST_HOME/milkcast.db"
TRAIN=(train --until 2024-12-31 --trials 3 --horizons 2)

consistent() {
	assert_eq "$(sqlite3 "$DB" "pragma integrity_check")" ok "integrity ($1)"
	assert_eq "$(sqlite3 "$DB" "pragma foreign_key_check")" "" "foreign keys ($1)"
	assert_eq "$(sqlite3 "$DB" "select count(*) from model_versions v where not exists (select 1 from runs r where r.run_uuid = v.run_id and r.status = 'FINISHED')")" 0 "versions without a finished run ($1)"
	assert_eq "$(sqlite3 "$DB" "select count(*) from registered_model_aliases a where not exists (select 1 from model_versions v where v.name = a.name and v.version = a.version)")" 0 "dangling aliases ($1)"
	local src
	while read -r src; do
		[ -f "$src/bundle.json" ] && [ -f "$src/model.ubj" ] && [ -f "$src/snapshot.parquet" ] ||
			fail "version source '$src' is incomplete ($1)"
	done < <(sqlite3 "$DB" "select source from model_versions")
	# Versions are numbered 1..n without gaps or repeats.
	assert_eq "$(sqlite3 "$DB" "select count(*) = count(distinct version) and max(version) = count(*) from model_versions")" 1 "version numbers ($1)"
}

# Two trains at once.
"$MILKCAST" -q "${TRAIN[@]}" --seed 1 >"$TMP/a.out" 2>"$TMP/a.err" & pa=$!
"$MILKCAST" -q "${TRAIN[@]}" --seed 2 >"$TMP/b.out" 2>"$TMP/b.err" & pb=$!
wait "$pa" || { cat "$TMP/a.err"; fail "first concurrent train failed"; }
wait "$pb" || { cat "$TMP/b.err"; fail "second concurrent train failed"; }
assert_eq "$(sqlite3 "$DB" "select count(*) from runs where parent_run_uuid is null and status = 'FINISHED'")" 2 "finished runs"
assert_eq "$(sqlite3 "$DB" "select count(*) from runs where parent_run_uuid is not null")" 6 "trial runs"
assert_eq "$(sqlite3 "$DB" "select count(distinct source) || ' ' || count(distinct run_id) from model_versions")" "2 2" "distinct bundles and runs"
assert_eq "$(sqlite3 "$DB" "select count(*) from registered_model_aliases where alias = 'champion'")" 1 "one champion"
consistent "concurrent trains"
pass "two trains at once: two runs, versions 1 and 2, distinct bundles"

# A crash right after the version row, then one inside the alias move.
for point in registry.version registry.alias; do
	before=$(sqlite3 "$DB" "select count(*) from model_versions")
	champion=$(sqlite3 "$DB" "select version from registered_model_aliases where alias = 'champion'")
	moves=$(sqlite3 "$DB" "select count(*) from alias_history")
	set +e
	MILKCAST_FAULT=$point "$MILKCAST" -q "${TRAIN[@]}" --seed 3 >/dev/null 2>&1
	code=$?
	set -e
	assert_eq "$code" 137 "train killed at $point"
	consistent "$point"
	assert_eq "$(sqlite3 "$DB" "select count(*) from model_versions")" $((before + 1)) "version row kept at $point"
	assert_eq "$(sqlite3 "$DB" "select version from registered_model_aliases where alias = 'champion'")" "$champion" "champion unmoved at $point"
	assert_eq "$(sqlite3 "$DB" "select count(*) from alias_history")" "$moves" "no half-recorded move at $point"
done
pass "kill -9 after the version row and inside the alias move"

# kill -9 at random moments of whole trains.
for delay in 0.15 0.5 0.9 1.3 1.6 1.9; do
	"$MILKCAST" -q "${TRAIN[@]}" --seed 4 >/dev/null 2>&1 & pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	consistent "killed after ${delay}s"
done
pass "kill -9 at random moments"

# The workspace still works: the next train marks leftovers and registers.
expect_exit 0 "$MILKCAST" --json "${TRAIN[@]}" --seed 5
assert_eq "$(sqlite3 "$DB" "select count(*) from runs where status = 'RUNNING'")" 0 "no run left RUNNING"
consistent "after recovery"
pass "a train after the crashes registers normally"
