/* SPDX-License-Identifier: Apache-2.0 */
/*
 * xml_check.h - for the flame graph tests: a small XML well-formedness check that
 * needs no XML library (tags nest and match, attribute values are quoted and hold no
 * "<", text holds no raw "<" nor "]]>", every "&" starts a known entity, comments,
 * CDATA and the prolog are closed), and xmllint as a second opinion where installed.
 * Shared by the flame graph tests.
 */
#ifndef SMOLDER_TEST_XML_CHECK_H
#define SMOLDER_TEST_XML_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int xml_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == ':' || c == '.';
}

static int xml_entity_ok(const char *s)
{
	static const char *const known[] = { "&amp;", "&lt;", "&gt;", "&quot;", "&apos;" };

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strncmp(s, known[i], strlen(known[i])))
			return 1;
	return 0;
}

static int xml_well_formed(const char *s)
{
	const char *stack[256];
	size_t stack_len[256], depth = 0;
	int seen_root = 0;

	while (*s) {
		if (!strncmp(s, "<?", 2)) {
			s = strstr(s, "?>");
			if (!s)
				return 0;
			s += 2;
		} else if (!strncmp(s, "<!--", 4)) {
			s = strstr(s + 4, "-->");
			if (!s)
				return 0;
			s += 3;
		} else if (!strncmp(s, "<![CDATA[", 9)) {
			s = strstr(s, "]]>");
			if (!s || !depth)
				return 0;
			s += 3;
		} else if (!strncmp(s, "</", 2)) {
			const char *name = s + 2;
			size_t n = 0;

			while (xml_name_char(name[n]))
				n++;
			if (!depth || n != stack_len[depth - 1] ||
			    strncmp(name, stack[depth - 1], n) || name[n] != '>')
				return 0;
			depth--;
			s = name + n + 1;
		} else if (*s == '<') {
			const char *name = s + 1;
			size_t n = 0;

			while (xml_name_char(name[n]))
				n++;
			if (!n || (seen_root && !depth))
				return 0;
			s = name + n;
			for (;;) {
				while (*s == ' ' || *s == '\n' || *s == '\t')
					s++;
				if (*s == '>' || !strncmp(s, "/>", 2))
					break;
				if (!xml_name_char(*s))
					return 0;
				while (xml_name_char(*s))
					s++;
				if (s[0] != '=' || s[1] != '"')
					return 0;
				for (s += 2; *s != '"'; s++)
					if (!*s || *s == '<' || (*s == '&' && !xml_entity_ok(s)))
						return 0;
				s++;
			}
			seen_root = 1;
			if (*s == '>') {
				if (depth == 256)
					return 0;
				stack[depth] = name;
				stack_len[depth++] = n;
				s++;
			} else {
				s += 2;
			}
		} else {
			if ((*s == '&' && !xml_entity_ok(s)) || !strncmp(s, "]]>", 3) ||
			    (!depth && *s != '\n' && *s != ' '))
				return 0;
			s++;
		}
	}
	return seen_root && !depth;
}

/* When xmllint is installed, let a real parser agree too. */
static void xmllint_if_present(const char *svg)
{
	char path[] = "/tmp/test_flamegraph_xml_XXXXXX";
	char cmd[128];
	int fd;

	if (system("command -v xmllint >/dev/null 2>&1") != 0)
		return;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, svg, strlen(svg)), (ssize_t)strlen(svg));
	close(fd);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

#endif /* SMOLDER_TEST_XML_CHECK_H */
