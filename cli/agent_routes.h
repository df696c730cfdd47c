/* SPDX-License-Identifier: Apache-2.0 */
/* agent_routes.h - what `smolder agent` (cmd_agent.c) shares with its HTTP handlers
 * (agent_routes.c). Internal to cli/. */
#ifndef SMOLDER_CLI_AGENT_ROUTES_H
#define SMOLDER_CLI_AGENT_ROUTES_H

#include <stddef.h>
#include <stdint.h>

struct agent_opts;
struct daemon;
struct pusher;
struct httpd;

/* A running agent. */
struct agent_run {
	const struct agent_opts *opts;
	struct daemon *daemon;
	struct pusher *pusher; /* NULL without --push */
	struct httpd *httpd;   /* NULL with --listen off */
	double retention;      /* in force now (SIGHUP may change them) */
	uint64_t max_size;
};

/* Serve /metrics, /healthz, POST /deploy, /flamegraph and /profile for @run on
 * @listen. NULL with one line in @msg on failure. */
struct httpd *agent_routes__start(struct agent_run *run, const char *listen, char *msg,
				  size_t msglen);

#endif /* SMOLDER_CLI_AGENT_ROUTES_H */
