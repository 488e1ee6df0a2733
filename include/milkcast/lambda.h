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
} mc_lambda_invocation;

/*
 * Handle one event: fill `response` (the JSON Lambda returns) or return an
 * error, which is posted as the invocation's error (errorType "milkcast.CODE").
 */
typedef mc_code (*mc_lambda_handler)(void *ud, const mc_lambda_invocation *inv, mc_buf *response,
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

#endif
