/*
 * The scheduler's pure logic (no process, signal or database): its config
 * file, the idempotency keys of fires, which missed fires to catch up, the
 * parameters of a fire's run, and the queue that keeps one run at a time
 * per flow.  `milkcast scheduler` (cmd_scheduler.c) drives it; see
 * docs/user-guide.md ("Scheduler").
 *
 * Ownership: mc_sched_config_parse() / mc_sched_config_load() /
 * mc_sched_config_free(); mc_sched_plan_release(); mc_sched_fire_release();
 * mc_sched_queue_release().
 */
#ifndef MILKCAST_SCHED_SCHEDULE_H
#define MILKCAST_SCHED_SCHEDULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/cron.h"
#include "milkcast/error.h"

/* A fire at most this old when looked at is due, not missed. */
#define MC_SCHED_DUE_WINDOW_S 60
#define MC_SCHED_NAME_MAX 64
#define MC_SCHED_MAX_CATCH_UP 1000
#define MC_SCHED_DEFAULT_MAX_CATCH_UP 10
/* "scheduler:NAME:SECONDS" */
#define MC_SCHED_KEY_MAX (MC_SCHED_NAME_MAX + 40)

/* What to do with the fires missed while the scheduler was down. */
typedef enum mc_catch_up {
	MC_CATCH_UP_NONE = 0,	/* skip them */
	MC_CATCH_UP_LATEST = 1, /* run the most recent one */
	MC_CATCH_UP_ALL = 2,	/* run every one in order, at most max_catch_up */
} mc_catch_up;

const char *mc_catch_up_name(mc_catch_up c);

typedef struct mc_schedule {
	char *name; /* [a-z0-9_.-], 1 … MC_SCHED_NAME_MAX */
	char *flow; /* as given, or the schedule's name when no `flow` key */
	mc_cron *cron;
	char *tz_name;
	mc_tz *tz;
	json_t *params; /* object of strings: `params = k=v …` */
	bool enabled;
	mc_catch_up catch_up;
	int max_catch_up;
	/* Lines of the file, for messages: the section and the keys (0 = not given). */
	int line, flow_line, params_line;
} mc_schedule;

typedef struct mc_sched_config {
	char *path; /* as named in messages */
	char *tz_name;
	mc_catch_up catch_up;
	int max_catch_up;
	mc_schedule *items;
	size_t n;
} mc_sched_config;

/* The configuration used when the default file does not exist. */
extern const char mc_sched_default_config[];

/*
 * Parse a config file's text.  Every error is MC_ERR_INVALID (or
 * MC_ERR_NOT_FOUND for a zone without a file) with a message
 * "PATH:LINE: ..." naming the key or section.  Cron expressions and zones
 * are checked here (an expression that never fires is an error); flows and
 * their parameters are the caller's to check.
 */
mc_code mc_sched_config_parse(const char *text, const char *path, mc_sched_config **out,
			      mc_error *err);
/* Read and parse a file (MC_ERR_NOT_FOUND when it does not exist). */
mc_code mc_sched_config_load(const char *path, mc_sched_config **out, mc_error *err);
void mc_sched_config_free(mc_sched_config *c);

/* "scheduler:NAME:FIRE" (FIRE in Unix seconds): a fire's idempotency key. */
void mc_sched_key(const char *name, int64_t fire, char *buf, size_t size);
/* The fire of a key made by mc_sched_key for schedule `name`; false for any other key. */
bool mc_sched_key_fire(const char *key, const char *name, int64_t *fire);

/* One fire to run. */
typedef struct mc_sched_slot {
	int64_t fire;
	bool catch_up; /* missed while down (older than the due window) */
} mc_sched_slot;

typedef struct mc_sched_plan {
	mc_sched_slot *run; /* in order */
	size_t nrun;
	size_t nmissed;			     /* fires older than the due window */
	size_t nskipped;		     /* of those, not run */
	int64_t first_skipped, last_skipped; /* when nskipped > 0 */
	int64_t latest;			     /* the newest fire looked at, or `last` */
} mc_sched_plan;

/*
 * The fires after `last` up to `now` and which to run: a fire in
 * (now - MC_SCHED_DUE_WINDOW_S, now] is due and runs; older ones were
 * missed: NONE skips them, LATEST runs only the newest fire of all
 * (the due one when there is one), ALL runs the newest max_catch_up missed
 * ones in order, then the due one.
 */
mc_code mc_sched_plan_fires(const mc_cron *c, const mc_tz *tz, mc_catch_up policy, int max_catch_up,
			    int64_t last, int64_t now, mc_sched_plan *p, mc_error *err);
void mc_sched_plan_release(mc_sched_plan *p);

/*
 * The parameters of a fire's run: the schedule's, and for flow "daily" the
 * date = the fire's local date in the schedule's zone.  A new object.
 */
mc_code mc_sched_fire_params(const mc_schedule *s, int64_t fire, json_t **out, mc_error *err);

/*
 * "2025-03-14T14:00", "2025-03-14 14:00:30", with "Z" or an offset
 * ("-06:00", "+0530"), or "@SECONDS": an instant.  Without an offset the
 * time is read in tz (a gap's time is the instant the gap ends, an
 * ambiguous one the first).
 */
mc_code mc_sched_parse_time(const char *s, const mc_tz *tz, int64_t *out, mc_error *err);

/* ---- the queue: fires waiting for their flow ---- */

typedef struct mc_sched_fire {
	char *schedule, *flow; /* owned */
	json_t *params;	       /* owned reference */
	int64_t fire;
	bool catch_up;
	bool keep;	/* never collapsed (catch-up `all`) */
	bool announced; /* the caller logged that it waits */
} mc_sched_fire;

typedef struct mc_sched_queue {
	mc_sched_fire *items;
	size_t n, cap;
} mc_sched_queue;

void mc_sched_fire_release(mc_sched_fire *f);

/*
 * Append f (taken, whatever the result).  Unless f->keep, fires of the
 * same schedule still waiting that are not `keep` collapse into f: they
 * are dropped and f takes the place of the first of them.  *ncollapsed
 * (nullable) counts them and *collapsed_fire (nullable) gets the newest.
 */
mc_code mc_sched_queue_push(mc_sched_queue *q, mc_sched_fire *f, size_t *ncollapsed,
			    int64_t *collapsed_fire, mc_error *err);
/* Move the first waiting fire whose flow is not busy to *out; false when none. */
bool mc_sched_queue_take(mc_sched_queue *q, bool (*busy)(void *user, const char *flow), void *user,
			 mc_sched_fire *out);
void mc_sched_queue_release(mc_sched_queue *q);

#endif
