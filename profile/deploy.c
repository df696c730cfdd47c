/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deploy.c - the deploy-event log beside a store's segments: deploys.jsonl, one JSON
 * object per line, appended with a single O_APPEND write + fsync, read back leniently
 * (a torn last line or a hand-edited one is skipped, never fatal). JSON by jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile_internal.h"
#include "store.h"

#define DEPLOY_LOG "deploys.jsonl"
#define DEPLOY_MAX_FIELD 4096
#define DEPLOY_MAX_LINE (4 * DEPLOY_MAX_FIELD)
#define DEPLOY_MAX_LINES 10000000

int store__add_deploy(const char *dir, const struct deploy_event *ev)
{
	char when[64], path[4096];
	json_t *obj = NULL;
	char *text = NULL, *line = NULL;
	size_t len;
	int fd = -1, err = 0;

	if (!ev->service || !ev->version || !*ev->service || !*ev->version ||
	    strlen(ev->service) > DEPLOY_MAX_FIELD || strlen(ev->version) > DEPLOY_MAX_FIELD)
		return -EINVAL;
	profile__format_time(ev->time_ns, when, sizeof(when));
	obj = json_pack("{s:s, s:I, s:s, s:s}", "time", when, "time_ns", (json_int_t)ev->time_ns,
			"service", ev->service, "version", ev->version);
	if (!obj) {
		err = -EINVAL; /* jansson refuses strings that are not UTF-8 */
		goto cleanup;
	}
	text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text || asprintf(&line, "%s\n", text) < 0) {
		line = NULL;
		err = -ENOMEM;
		goto cleanup;
	}
	len = strlen(line);
	snprintf(path, sizeof(path), "%s/" DEPLOY_LOG, dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	/* One write: with O_APPEND concurrent writers' lines never interleave. */
	ssize_t n = write(fd, line, len);
	if (n != (ssize_t)len) {
		err = n < 0 ? -errno : -ENOSPC;
		/* A short write leaves a torn line; a reader skips it. Cut it off if we can. */
		if (n > 0) {
			off_t end = lseek(fd, 0, SEEK_END);
			if (end >= n && ftruncate(fd, end - n)) {
				/* nothing more to do: the reader skips the torn line */
			}
		}
		goto cleanup;
	}
	if (fsync(fd))
		err = -errno;
cleanup:
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	free(line);
	free(text);
	json_decref(obj);
	return err;
}

int store__for_each_deploy(const char *dir, uint64_t from_ns, uint64_t to_ns,
			   const char *service,
			   int (*fn)(const struct deploy_event *ev, void *ctx), void *ctx,
			   size_t *skipped)
{
	char path[4096];
	char *line = NULL;
	size_t cap = 0, bad = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/" DEPLOY_LOG, dir);
	f = fopen(path, "re");
	if (!f) {
		if (skipped)
			*skipped = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	for (size_t lines = 0; lines < DEPLOY_MAX_LINES && (len = getline(&line, &cap, f)) >= 0;
	     lines++) {
		json_error_t jerr;
		json_t *obj;
		json_int_t t = 0;
		const char *svc = NULL, *ver = NULL;

		if (len == 0 || (size_t)len > DEPLOY_MAX_LINE || line[len - 1] != '\n') {
			bad++; /* over-long, or the torn last line of an interrupted write */
			continue;
		}
		obj = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!obj || json_unpack(obj, "{s:I, s:s, s:s}", "time_ns", &t, "service", &svc,
					"version", &ver) || t < 0) {
			bad++;
			json_decref(obj);
			continue;
		}
		struct deploy_event ev = { (uint64_t)t, svc, ver };
		if ((!from_ns || ev.time_ns >= from_ns) && (!to_ns || ev.time_ns < to_ns) &&
		    (!service || !strcmp(service, svc)))
			err = fn(&ev, ctx);
		json_decref(obj);
		if (err)
			break;
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	free(line);
	if (skipped)
		*skipped = bad;
	return err;
}
