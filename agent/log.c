/* SPDX-License-Identifier: Apache-2.0 */
/* log.c - agent/'s messages and libbpf's, to the program's log callback (log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "log.h"

static agent_log_fn log_fn;
static void *log_ctx;

static void vlog(enum agent_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (!log_fn)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		log_fn(level, line, log_ctx);
}

void agent_log(enum agent_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, fmt, ap);
	va_end(ap);
}

/* libbpf's warnings explain verifier and attach failures, so they are kept - as debug
 * lines: smolder's own one-line error says what failed and what to do. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char buf[1024];

	if (level == LIBBPF_DEBUG || !log_fn)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	agent_log(AGENT_LOG_DEBUG, "%s", buf); /* libbpf prefixes its own */
	return 0;
}

void agent_log_route_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}

void agent__set_log(agent_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
	agent_log_route_libbpf();
}
