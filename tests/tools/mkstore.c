/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkstore.c - build a profile store with planted times, for the integration tests of
 * time windows (--peak, --diff-deploy, --warmup): `smolder record --store` can only
 * store what it samples now, and these tests need hours of known history.
 *
 * usage: mkstore DIR < SPEC
 * SPEC, one directive per line ('#' starts a comment):
 *   T COUNT LABELS STACK   COUNT samples (one record of that weight) at unix second T,
 *                          LABELS "k=v,k=v" or "-" (pid= and tid= set those fields),
 *                          STACK "comm;outermost;..;innermost" ("_[k]" marks kernel)
 *   lost N                 N lost samples in the current batch
 *   rate HZ                the sample rate batches carry (default 19)
 *   span                   from here on, batches carry their minute as their time
 *                          range (start_ns, end_ns), as an agent's batches carry their
 *                          flush interval; before it they carry none
 * A batch is appended whenever T enters another minute, as an agent flushing every
 * minute would; T must not go back in time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "store.h"

#define NS 1000000000ull

static int flush(struct store *s, struct profile *p, uint64_t hz, uint64_t minute, int span)
{
	struct profile_info info = { .period_ns = NS / hz };
	int err;

	if (!profile__sample_count(p) && !profile__counts(p)->lost)
		return 0;
	if (span && minute != UINT64_MAX) {
		info.start_ns = minute * 60 * NS;
		info.end_ns = (minute + 1) * 60 * NS;
	}
	profile__set_info(p, &info);
	err = store__append(s, p);
	profile__clear_samples(p);
	return err;
}

static int add_line(struct profile *p, char *line)
{
	char *ts = strtok(line, " "), *cnt = strtok(NULL, " "), *labels = strtok(NULL, " ");
	char *stack = strtok(NULL, "\n");
	struct profile_label l[PROFILE_MAX_LABELS];
	struct sample_meta meta = { 0 };
	uint32_t ids[256];
	size_t n = 0, nl = 0;
	char *tok, *save;

	if (!ts || !cnt || !labels || !stack)
		return -EINVAL;
	meta.time_ns = (uint64_t)(strtod(ts, NULL) * NS);
	if (strcmp(labels, "-")) {
		for (tok = strtok_r(labels, ",", &save); tok && nl < PROFILE_MAX_LABELS;
		     tok = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(tok, '=');

			if (!eq)
				return -EINVAL;
			*eq = '\0';
			if (!strcmp(tok, "pid"))
				meta.pid = atoi(eq + 1);
			else if (!strcmp(tok, "tid"))
				meta.tid = atoi(eq + 1);
			else
				l[nl++] = (struct profile_label){ tok, eq + 1 };
		}
	}
	meta.labels = l;
	meta.nlabels = nl;
	tok = strtok_r(stack, ";", &save);
	meta.comm = tok;
	while ((tok = strtok_r(NULL, ";", &save)) && n < 256) {
		size_t len = strlen(tok);
		enum frame_kind kind = FRAME_USER;
		int err;

		if (len > 4 && !strcmp(tok + len - 4, "_[k]")) {
			tok[len - 4] = '\0';
			kind = FRAME_KERNEL;
		}
		err = profile__intern_frame(p, tok, kind, &ids[n++]);
		if (err)
			return err;
	}
	return profile__add_sample(p, ids, n, &meta, strtoull(cnt, NULL, 10));
}

int main(int argc, char **argv)
{
	struct store *s;
	struct profile *p;
	char line[8192];
	uint64_t minute = UINT64_MAX, hz = 19;
	size_t lineno = 0;
	int err = 0, span = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: mkstore DIR < SPEC\n");
		return 2;
	}
	s = store__open(argv[1], NULL);
	p = profile__new();
	if (!s || !p) {
		fprintf(stderr, "mkstore: cannot open store %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (!err && fgets(line, sizeof(line), stdin)) {
		uint64_t t;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strncmp(line, "lost ", 5)) {
			struct profile_counts c = { .lost = strtoull(line + 5, NULL, 10) };

			profile__add_counts(p, &c);
			continue;
		}
		if (!strcmp(line, "span\n")) {
			span = 1;
			continue;
		}
		if (!strncmp(line, "rate ", 5)) {
			hz = strtoull(line + 5, NULL, 10);
			if (!hz)
				err = -EINVAL;
			continue;
		}
		t = strtoull(line, NULL, 10) / 60;
		if (minute != UINT64_MAX && t != minute)
			err = flush(s, p, hz, minute, span);
		minute = t;
		if (!err)
			err = add_line(p, line);
	}
	if (!err)
		err = flush(s, p, hz, minute, span);
	if (!err)
		err = store__seal(s);
	if (err)
		fprintf(stderr, "mkstore: line %zu: %s\n", lineno, strerror(-err));
	profile__free(p);
	store__close(s);
	return err ? 1 : 0;
}
