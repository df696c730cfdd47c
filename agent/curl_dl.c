/* SPDX-License-Identifier: Apache-2.0 */
/*
 * curl_dl.c - libcurl, loaded when the agent is asked to push rather than linked.
 * Linked, libcurl and what it pulls in (OpenSSL, Kerberos, LDAP, SSH, ...) cost every
 * run of every command, push or not: with libdebuginfod, loaded the same way, 21
 * libraries, 3.5 MiB of RSS and about half of smolder's start-up CPU
 * (docs/platform.md). Only push.c uses it.
 *
 * This file defines the libcurl functions push.c calls, under their own names, each
 * forwarding to the one dlsym found in libcurl.so.4 (loaded once, at the first call,
 * curl_global_init in practice). push.c is written against curl/curl.h as usual and
 * keeps libcurl's compile-time checks of option types. The definitions are hidden:
 * nothing outside this binary (libdebuginfod's own libcurl, dlopened by the
 * symbolizer) can bind to them. When libcurl.so.4 cannot be loaded, every call
 * fails the way libcurl reports failure, and curl_easy_strerror says why.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* The definitions below are the functions themselves, not calls of the checking
 * macros curl/typecheck-gcc.h puts in front of some of them. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#define HIDDEN __attribute__((visibility("hidden")))

static struct {
	CURLcode (*global_init)(long flags);
	curl_version_info_data *(*version_info)(CURLversion v);
	char *(*easy_escape)(CURL *c, const char *s, int len);
	void (*free)(void *p);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	const char *(*easy_strerror)(CURLcode rc);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *c);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
} api;
static bool loaded;
static char why[256] = "libcurl.so.4 is not loaded";
static pthread_once_t once = PTHREAD_ONCE_INIT;

#define LOOKUP(h, field, name) (*(void **)&api.field = dlsym(h, name))

static void load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(why, sizeof(why), "cannot load libcurl: %s", dlerror());
		return;
	}
	loaded = LOOKUP(h, global_init, "curl_global_init") &&
		 LOOKUP(h, version_info, "curl_version_info") &&
		 LOOKUP(h, easy_escape, "curl_easy_escape") && LOOKUP(h, free, "curl_free") &&
		 LOOKUP(h, easy_init, "curl_easy_init") &&
		 LOOKUP(h, easy_setopt, "curl_easy_setopt") &&
		 LOOKUP(h, easy_perform, "curl_easy_perform") &&
		 LOOKUP(h, easy_strerror, "curl_easy_strerror") &&
		 LOOKUP(h, easy_getinfo, "curl_easy_getinfo") &&
		 LOOKUP(h, easy_cleanup, "curl_easy_cleanup") &&
		 LOOKUP(h, slist_append, "curl_slist_append") &&
		 LOOKUP(h, slist_free_all, "curl_slist_free_all");
	if (!loaded) {
		snprintf(why, sizeof(why), "libcurl.so.4 lacks a function smolder uses");
		dlclose(h);
	}
}

static bool ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

HIDDEN CURLcode curl_global_init(long flags)
{
	return ready() ? api.global_init(flags) : CURLE_FAILED_INIT;
}

HIDDEN const char *curl_easy_strerror(CURLcode rc)
{
	return ready() ? api.easy_strerror(rc) : why;
}

HIDDEN curl_version_info_data *curl_version_info(CURLversion v)
{
	return ready() ? api.version_info(v) : NULL;
}

HIDDEN char *curl_easy_escape(CURL *c, const char *s, int len)
{
	return ready() ? api.easy_escape(c, s, len) : NULL;
}

HIDDEN void curl_free(void *p)
{
	if (ready())
		api.free(p);
}

HIDDEN CURL *curl_easy_init(void)
{
	return ready() ? api.easy_init() : NULL;
}

/* The third argument's type follows from the option's number, as libcurl reads it. */
HIDDEN CURLcode curl_easy_setopt(CURL *c, CURLoption opt, ...)
{
	CURLcode rc;
	va_list ap;

	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		rc = api.easy_setopt(c, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		rc = api.easy_setopt(c, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		rc = api.easy_setopt(c, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		rc = api.easy_setopt(c, opt, va_arg(ap, curl_off_t));
	else
		rc = api.easy_setopt(c, opt, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* Every CURLINFO takes a pointer to where the answer goes. */
HIDDEN CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	CURLcode rc;
	va_list ap;

	if (!ready())
		return CURLE_FAILED_INIT;
	va_start(ap, info);
	rc = api.easy_getinfo(c, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

HIDDEN CURLcode curl_easy_perform(CURL *c)
{
	return ready() ? api.easy_perform(c) : CURLE_FAILED_INIT;
}

HIDDEN void curl_easy_cleanup(CURL *c)
{
	if (ready())
		api.easy_cleanup(c);
}

HIDDEN struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? api.slist_append(l, s) : NULL;
}

HIDDEN void curl_slist_free_all(struct curl_slist *l)
{
	if (ready())
		api.slist_free_all(l);
}
