/*
 * A client of the AWS Lambda Runtime API (version 2018-06-01), for running
 * milkcast as a custom runtime ("provided.al2023"): the loop asks for the
 * next invocation, hands its event to a handler and posts the handler's
 * response or error.
 *
 *   GET  /2018-06-01/runtime/invocation/next            the next event
 *   POST /2018-06-01/runtime/invocation/{id}/response   202 accepted, 413 too large
 *   POST /2018-06-01/runtime/invocation/{id}/error      202 accepted
 *   POST /2018-06-01/runtime/init/error                 202 accepted
 *
 * A 500 from the API means the environment is broken: the loop stops with
 * an error and the process should exit.
 */
#ifndef MILKCAST_LAMBDA_H
#define MILKCAST_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "milkcast/buf.h"
#include "milkcast/error.h"

/* Lambda's limit on a synchronous response payload. */
#define MC_LAMBDA_MAX_RESPONSE ((size_t)6 * 1024 * 1024)

typedef struct mc_lambda_runtime mc_lambda_runtime;

typedef struct mc_lambda_invocation {
	char request_id[128];
	int64_t deadline_ms; /* Unix time in ms; 0 when absent */
	char function_arn[256];
	char trace_id[256];
	const uint8_t *event; /* the event payload (JSON), valid during the handler */
	size_t event_len;
	/* A handler that fails may name the errorType posted here; empty means
	 * "milkcast.CODE" from the returned error's code. */
	char error_type[64];
} mc_lambda_invocation;

/*
 * Handle one event: fill `response` (the JSON Lambda returns) or return an
 * error, which is posted as the invocation's error (errorType
 * inv->error_type when the handler set it, else "milkcast.CODE").
 */
typedef mc_code (*mc_lambda_handler)(void *ud, mc_lambda_invocation *inv, mc_buf *response,
				     mc_error *err);

/* Connect to host:port (the AWS_LAMBDA_RUNTIME_API variable). */
mc_code mc_lambda_runtime_open(const char *api, mc_lambda_runtime **out, mc_error *err);
void mc_lambda_runtime_free(mc_lambda_runtime *rt);

/* Report a failed initialisation (init/error) with the error's code and message. */
mc_code mc_lambda_init_error(mc_lambda_runtime *rt, const mc_error *failure, mc_error *err);

/*
 * Serve invocations until the API fails (an error is returned) or, when
 * max_invocations > 0, after that many.  A handler error or a response over
 * MC_LAMBDA_MAX_RESPONSE is posted as the invocation's error and the loop
 * goes on.
 */
mc_code mc_lambda_loop(mc_lambda_runtime *rt, mc_lambda_handler handler, void *ud,
		       long max_invocations, mc_error *err);

/*
 * The milkcast handler: an API Gateway HTTP API event (payload format 2.0) is
 * routed through the serving router and answered with a 2.0 response
 * ({statusCode, headers, body, isBase64Encoded}); the stage prefix of a named
 * stage is removed from rawPath and base64 bodies decoded.  Any other JSON
 * event is a direct invocation: the event is the body of POST /v1/predict,
 * the answer is the router's JSON, and an HTTP error status becomes the
 * invocation's error.
 */
struct mc_router;
mc_code mc_lambda_route(struct mc_router *r, const uint8_t *event, size_t n, mc_buf *out,
			mc_error *err);

/* --- a milkcast command per invocation (`milkcast lambda --run`) --------- */

#define MC_LAMBDA_MAX_ARGS 64			       /* the event's "args": at most this many */
#define MC_LAMBDA_MAX_ARG_LEN 1024		       /* bytes each */
#define MC_LAMBDA_MAX_OUTPUT ((size_t)4 * 1024 * 1024) /* stdout kept by default */
#define MC_LAMBDA_MAX_OK_EXITS 16

/* In the forked child: run the command (argv[0] is its name, argv[argc] is
 * NULL) and return its exit status.  stdout and stderr are pipes. */
typedef int (*mc_lambda_child_fn)(void *ud, int argc, char **argv);
/* In the runtime: a piece of the command's stderr, as it arrives. */
typedef void (*mc_lambda_stderr_fn)(void *ud, const char *data, size_t n);

typedef struct mc_lambda_command {
	const char *const *argv; /* the command and its fixed arguments, NULL-terminated */
	mc_lambda_child_fn run;
	void *run_ud;
	mc_lambda_stderr_fn on_stderr; /* may be NULL: stderr is then only scanned */
	void *stderr_ud;
	int ok_exits[MC_LAMBDA_MAX_OK_EXITS]; /* exit statuses that are success besides 0 */
	int n_ok_exits;
	size_t max_output; /* bytes of stdout kept in the response */
	long grace_ms;	   /* SIGTERM, then SIGKILL this much later */
	long reserve_ms;   /* time left after SIGKILL to post the error */
} mc_lambda_command;

/* Defaults: no extra ok exits, MC_LAMBDA_MAX_OUTPUT, 2 s grace, 0.5 s reserve. */
void mc_lambda_command_init(mc_lambda_command *c);

/*
 * Parse a "--ok-exit" list ("0,3"): whole numbers 0-255 separated by commas,
 * at most MC_LAMBDA_MAX_OK_EXITS; into c->ok_exits.
 */
mc_code mc_lambda_ok_exits_parse(mc_lambda_command *c, const char *list, mc_error *err);

/*
 * The extra arguments an event carries: {"args": ["--param", "k=v", ...]}
 * (an array of at most MC_LAMBDA_MAX_ARGS strings of at most
 * MC_LAMBDA_MAX_ARG_LEN bytes).  An object without "args" (EventBridge
 * Scheduler's payload, {}), an empty event or null give none.  *out is a
 * NULL-terminated array of copies (free with mc_lambda_args_free).
 */
mc_code mc_lambda_event_args(const uint8_t *event, size_t n, char ***out, int *count,
			     mc_error *err);
void mc_lambda_args_free(char **args);

/*
 * The --run handler: the command and the event's args run in a forked child
 * (its own process group, killed with the runtime) with stdout captured (up
 * to max_output bytes, then truncated with a note) and stderr handed to
 * on_stderr.  Exit 0 or an ok exit: the response
 * {"command": "milkcast ...", "exit": N, "output": <JSON output, or text>}.
 * Otherwise an error with inv->error_type "CommandFailed" (other exit
 * status), "Crashed" (killed by a signal) or "Timeout" (still running
 * grace_ms + reserve_ms before the invocation's deadline: SIGTERM, SIGKILL
 * grace_ms later), the message naming the command, the status and the last
 * line of its stderr.  A bad event is an MC_ERR_INVALID error naming the field.
 */
mc_code mc_lambda_command_run(const mc_lambda_command *c, mc_lambda_invocation *inv,
			      mc_buf *response, mc_error *err);

/* --- keeping HOME's reports and flow history (`milkcast lambda --run`) ---- */

/*
 * A Lambda execution environment's /tmp, where the daily flow's HOME lives,
 * does not outlive it.  The sync copies what must last to artifact stores
 * (s3:// or directories): after each invocation, every file under
 * HOME/reports that is new or changed since the last copy goes to the
 * reports store under the same relative key, and a consistent snapshot of
 * HOME/milkcast.db (flow runs, task cache, alert deduplication; SQLite's
 * VACUUM INTO, so a WAL is folded in) to the state store as "milkcast.db"
 * when it changed.  At init, a HOME without milkcast.db gets the state
 * store's copy back, checked (PRAGMA quick_check) before it is moved into
 * place.  Either store may be absent.
 */
typedef struct mc_lambda_sync mc_lambda_sync;

typedef struct mc_lambda_sync_stats {
	size_t reports_uploaded; /* files copied by this push */
	size_t reports_unchanged;
	bool state_uploaded;
} mc_lambda_sync_stats;

/* reports_uri and state_uri may be NULL or "" (that part is off). */
mc_code mc_lambda_sync_new(const char *home, const char *reports_uri, const char *state_uri,
			   mc_lambda_sync **out, mc_error *err);
void mc_lambda_sync_free(mc_lambda_sync *s);

/* Bring back HOME/milkcast.db when HOME has none; *restored says whether it did (no
 * copy in the store is not an error).  A copy that fails the check is MC_ERR_FORMAT
 * and HOME is left without one. */
mc_code mc_lambda_sync_restore(mc_lambda_sync *s, bool *restored, mc_error *err);

/* Copy what changed; a failed file is an error naming it, the files before it are
 * copied and the ones after it are tried again by the next push. */
mc_code mc_lambda_sync_push(mc_lambda_sync *s, mc_lambda_sync_stats *st, mc_error *err);

#endif
