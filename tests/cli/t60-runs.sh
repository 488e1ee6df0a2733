#!/usr/bin/env bash
# Tracking: train logs a run with a child per trial; runs list/show/compare; an interrupted
# train is marked FAILED by the next one; the database stays consistent.
. "$(dirname "$0")/lib.sh"
"$MILKCAST" -q ingest "$MC_SRC/data/sniim/raw/Leche31032025.xlsx"
DB="$MILKCAST_HOME/milkcast.db"

expect_exit 0 "$MILKCAST" --json train --until 2024-12-31 --trials 4
run1=$(json_get "$TMP/out" "j['run_id']")
expect_exit 0 "$MILKCAST" --json runs list
assert_eq "$(json_get "$TMP/out" "[(r['run_id'], r['status'], r['trials']) for r in j]")" "[('$run1', 'FINISHED', '4')]" "runs list"
expect_exit 0 "$MILKCAST" --json runs show "$run1"
cp "$TMP/out" "$TMP/show.json"
assert_eq "$(json_get "$TMP/show.json" "{p['key']: p['value'] for p in j['params']}['trials']")" 4 "param trials"
assert_eq "$(json_get "$TMP/show.json" "len(j['children'])")" 4 "child runs"
assert_eq "$(json_get "$TMP/show.json" "(j['artifacts'], j['run']['artifact_uri'] == {t['key']: t['value'] for t in j['tags']}['milkcast.bundle'])")" "(['bundle.json', 'model.ubj', 'snapshot.parquet'], True)" "run artifacts"
assert_eq "$(json_get "$TMP/show.json" "all(c['status'] == 'FINISHED' for c in j['children'])")" True "children finished"
assert_eq "$(json_get "$TMP/show.json" "{t['key']: t['value'] for t in j['tags']}['milkcast.data_sha256'] == json.load(open({t['key']: t['value'] for t in j['tags']}['milkcast.bundle'] + '/bundle.json'))['training']['data_sha256']")" True "data hash tag = bundle's"
# Each trial's validation curve: one metric per boosting round (best + 1 + patience of 20,
# or the round limit).
child=$(json_get "$TMP/show.json" "j['children'][0]['run_id']")
rounds=$(sqlite3 "$DB" "select count(*) from metrics where run_uuid='$child' and key='valid_rmse_curve'")
best=$(sqlite3 "$DB" "select cast(value as int) from metrics where run_uuid='$child' and key='best_iteration'")
limit=$(sqlite3 "$DB" "select value from params where run_uuid='$child' and key='n_estimators'")
[ "$rounds" -eq $((best + 21)) ] || [ "$rounds" -eq "$limit" ] || fail "curve has $rounds rounds (best $best, limit $limit)"
pass "train logs a run, its trials and their curves"

# Registry: the first version is champion; the next is judged on its test window.
expect_exit 0 "$MILKCAST" --json models show milkcast-forecast
assert_eq "$(json_get "$TMP/out" "[(v['version'], v['aliases'], v['run_id']) for v in j['versions']]")" "[('1', 'champion', '$run1')]" "version 1"
expect_exit 0 "$MILKCAST" --json train --until 2024-12-31 --trials 3 --seed 9
run2=$(json_get "$TMP/out" "j['run_id']")
reg=$(json_get "$TMP/out" "j['registry']")
case "$reg" in
"version 2 is the new champion"*|"version 2 is the challenger"*) ;;
*) fail "registry said: $reg" ;;
esac
expect_exit 0 "$MILKCAST" --json models show milkcast-forecast
cp "$TMP/out" "$TMP/models.json"
assert_eq "$(json_get "$TMP/models.json" "len(j['versions'])")" 2 "versions"
assert_eq "$(json_get "$TMP/models.json" "j['versions'][1]['run_id']")" "$run2" "lineage: version 2 -> run"
assert_eq "$(json_get "$TMP/models.json" "j['alias_history'][1]['reason'].split(' ')[0] in ('beats', 'does')")" True "the move's reason"
# promote, then rollback, both recorded.
expect_exit 0 "$MILKCAST" models promote milkcast-forecast 2
expect_exit 0 "$MILKCAST" --json models list
assert_eq "$(json_get "$TMP/out" "j[0]['champion']")" 2 "promoted"
expect_exit 0 "$MILKCAST" models rollback milkcast-forecast
expect_exit 0 "$MILKCAST" --json models show milkcast-forecast
assert_eq "$(json_get "$TMP/out" "[(h['alias'], h['new_version'], h['reason']) for h in j['alias_history']][-2:]")" "[('champion', '2', 'promoted'), ('champion', '1', 'rollback')]" "alias history"
expect_exit 1 "$MILKCAST" models promote milkcast-forecast 9
assert_contains "$TMP/err" "no version 9"
expect_exit 2 "$MILKCAST" models promote milkcast-forecast two
pass "registry: versions, champion gate, promote, rollback"

expect_exit 0 "$MILKCAST" runs compare "$run1" "$run1"
assert_contains "$TMP/out" "best_valid_rmse"
expect_exit 1 "$MILKCAST" runs show 0123456789abcdef0123456789abcdef
assert_contains "$TMP/err" "no run '0123456789abcdef0123456789abcdef'"
expect_exit 2 "$MILKCAST" runs frobnicate
pass "runs show/compare and errors"

# kill -9 in the middle of a search: the next train marks that run FAILED (interrupted).
"$MILKCAST" -q train --until 2024-12-31 --trials 400 --strategy direct &
pid=$!
for _ in $(seq 100); do
	n=$(sqlite3 "$DB" "select count(*) from runs where status='RUNNING' and parent_run_uuid is null" 2>/dev/null || echo 0)
	[ "$n" = 1 ] && break
	sleep 0.1
done
sleep 1
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
killed=$(sqlite3 "$DB" "select run_uuid from runs where status='RUNNING' and parent_run_uuid is null")
[ -n "$killed" ] || fail "no RUNNING run was left by the killed train"
expect_exit 0 "$MILKCAST" -q train --until 2024-12-31 --trials 2
assert_eq "$(sqlite3 "$DB" "select status from runs where run_uuid='$killed'")" FAILED "killed run"
assert_eq "$(sqlite3 "$DB" "select value from tags where run_uuid='$killed' and key='milkcast.error'")" interrupted "reason"
assert_eq "$(sqlite3 "$DB" "pragma integrity_check")" ok "integrity"
assert_eq "$(sqlite3 "$DB" "select count(*) from runs where parent_run_uuid is null and status='FINISHED'")" 3 "finished runs"
assert_eq "$(sqlite3 "$DB" "select count(*) from model_versions v where not exists (select 1 from runs r where r.run_uuid = v.run_id and r.status = 'FINISHED')")" 0 "no version without a finished run"
pass "an interrupted train is marked FAILED"

# Tags and descriptions on versions and the model, validated like MLflow's.
expect_exit 0 "$MILKCAST" models tag milkcast-forecast 1 stage=reviewed "note=looks fine"
expect_exit 0 "$MILKCAST" models describe milkcast-forecast "Consumer milk prices, SNIIM"
expect_exit 0 "$MILKCAST" models describe milkcast-forecast 2 "tuned with seed 9"
expect_exit 0 "$MILKCAST" models untag milkcast-forecast 1 note
expect_exit 0 "$MILKCAST" models tag milkcast-forecast team=pricing owner=analytics
expect_exit 0 "$MILKCAST" models untag milkcast-forecast owner
expect_exit 0 "$MILKCAST" --json models show milkcast-forecast
assert_eq "$(json_get "$TMP/out" "(j['description'], j['tags'], j['versions'][0]['tags'], j['versions'][1]['description'])")" "('Consumer milk prices, SNIIM', {'team': 'pricing'}, {'stage': 'reviewed'}, 'tuned with seed 9')" "tags and descriptions"
expect_exit 1 "$MILKCAST" models tag milkcast-forecast 1 "bad key!=x"
assert_contains "$TMP/err" "invalid tag key 'bad key!'"
expect_exit 1 "$MILKCAST" models tag milkcast-forecast 99 a=b
assert_contains "$TMP/err" "no version 99"
expect_exit 1 "$MILKCAST" models describe nosuchmodel "x"
assert_contains "$TMP/err" "no registered model 'nosuchmodel'"
expect_exit 2 "$MILKCAST" models tag milkcast-forecast 1 novalue
pass "version tags and descriptions"

# A backtest is a run too: its parameters, a score per horizon and baseline, lineage tags.
expect_exit 0 "$MILKCAST" --json backtest --from 2025-01-01 --to 2025-02-28 --horizons 2
bt=$(json_get "$TMP/out" "j['run_id']")
rmse=$(json_get "$TMP/out" "j['horizons'][1]['last_value']['rmse']")
expect_exit 0 "$MILKCAST" --json runs show "$bt"
assert_eq "$(json_get "$TMP/out" "j['run']['status']")" FINISHED "backtest run status"
assert_eq "$(json_get "$TMP/out" "{p['key']: p['value'] for p in j['params']}['from']")" 2025-01-01 "backtest param"
assert_eq "$(sqlite3 "$DB" "select value = $rmse from metrics where run_uuid='$bt' and key='backtest_last_value_h2_rmse'")" 1 "logged score = printed score"
assert_eq "$(sqlite3 "$DB" "select count(*) from tags where run_uuid='$bt' and key in ('mlflow.source.git.commit', 'milkcast.sqlite_version', 'milkcast.xgboost_version')")" 3 "lineage tags"
pass "backtest logs a run"
