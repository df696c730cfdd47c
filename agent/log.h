/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h - how agent/ code says something to the user without printing: through the
 * callback the program set with agent__set_log (agent.h), or nowhere. libbpf's own
 * messages are routed the same way, as debug lines. Internal to agent/.
 */
#ifndef SMOLDER_AGENT_LOG_H
#define SMOLDER_AGENT_LOG_H

#include "agent.h"

void agent_log(enum agent_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Send libbpf's messages to agent_log; call before any libbpf call that may log. */
void agent_log_route_libbpf(void);

#endif /* SMOLDER_AGENT_LOG_H */
