/* Migrations of milkcast.db; append new steps, never edit a released one. */
#include "store/schema.h"

const char *const mc_schema_steps[] = {
	/* 1: ingest manifest, quarantine, revisions of past values, lake partitions */
	"CREATE TABLE ingest_runs ("
	"  id INTEGER PRIMARY KEY,"
	"  started_at TEXT NOT NULL, finished_at TEXT,"
	"  status TEXT NOT NULL CHECK (status IN ('running','completed','failed')),"
	"  inputs INTEGER NOT NULL DEFAULT 0,"
	"  dates_added INTEGER NOT NULL DEFAULT 0, rows_read INTEGER NOT NULL DEFAULT 0,"
	"  rows_added INTEGER NOT NULL DEFAULT 0, rows_missing INTEGER NOT NULL DEFAULT 0,"
	"  rows_unchanged INTEGER NOT NULL DEFAULT 0, rows_quarantined INTEGER NOT NULL DEFAULT 0,"
	"  rows_changed INTEGER NOT NULL DEFAULT 0, error TEXT);"
	"CREATE TABLE ingest_files ("
	"  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES ingest_runs(id),"
	"  path TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL,"
	"  format TEXT NOT NULL, first_date TEXT, last_date TEXT,"
	"  rows_read INTEGER NOT NULL, rows_added INTEGER NOT NULL,"
	"  rows_quarantined INTEGER NOT NULL, rows_changed INTEGER NOT NULL);"
	"CREATE INDEX ingest_files_sha ON ingest_files(sha256);"
	"CREATE TABLE quarantine ("
	"  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES ingest_runs(id),"
	"  source TEXT NOT NULL, position TEXT NOT NULL, date TEXT, state TEXT, city TEXT,"
	"  milk_type TEXT, channel TEXT, raw_value TEXT, reason TEXT NOT NULL);"
	"CREATE TABLE revisions ("
	"  id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES ingest_runs(id),"
	"  source TEXT NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,"
	"  city TEXT NOT NULL, milk_type TEXT NOT NULL, channel TEXT NOT NULL,"
	"  old_price REAL, new_price REAL, applied INTEGER NOT NULL);"
	"CREATE TABLE lake_partitions ("
	"  year INTEGER NOT NULL, month INTEGER NOT NULL, path TEXT NOT NULL,"
	"  rows INTEGER NOT NULL, first_date TEXT, last_date TEXT, sha256 TEXT NOT NULL,"
	"  written_at TEXT NOT NULL, run_id INTEGER REFERENCES ingest_runs(id),"
	"  PRIMARY KEY (year, month));",
};

const int mc_schema_count = (int)(sizeof mc_schema_steps / sizeof *mc_schema_steps);
