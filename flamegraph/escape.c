/* SPDX-License-Identifier: Apache-2.0 */
/*
 * escape.c - make arbitrary bytes (symbol names, comms, titles) safe as SVG text and
 * attribute values: XML's special characters become entities, and whatever XML cannot
 * carry (invalid UTF-8, control characters, U+FFFE/U+FFFF) becomes '?'.
 */
#include <stdbool.h>
#include <string.h>

#include "flamegraph.h"
#include "flamegraph_internal.h"

/* Length of the valid UTF-8 sequence at @s that starts with lead byte s[0] >= 0x80, or
 * 0 when it is not one (bad lead, bad or missing continuation, overlong, surrogate,
 * beyond U+10FFFF). The ranges are RFC 3629's table. */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;

	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* UTF-16 surrogates */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* beyond U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	/* A NUL terminator is never a continuation byte, so this stops at the end. */
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

size_t fg_escape_unit(const char *str, const char **text, size_t *len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n;

	switch (s[0]) {
	case '&': *text = "&amp;"; *len = 5; return 1;
	case '<': *text = "&lt;"; *len = 4; return 1;
	case '>': *text = "&gt;"; *len = 4; return 1;
	case '"': *text = "&quot;"; *len = 6; return 1;
	case '\'': *text = "&apos;"; *len = 6; return 1;
	}
	if (s[0] < 0x80) {
		/* XML 1.0 forbids most C0 controls; DEL is legal but never meant in a name. */
		if ((s[0] < 0x20 && s[0] != '\t') || s[0] == 0x7f)
			*text = "?";
		else
			*text = str;
		*len = 1;
		return 1;
	}
	n = utf8_seq_len(s);
	/* U+FFFE and U+FFFF are not XML characters either. */
	if (n == 0 || (n == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)) {
		*text = "?";
		*len = 1;
		return 1;
	}
	*text = str;
	*len = n;
	return n;
}

size_t flamegraph__escape(const char *in, char *out, size_t size)
{
	size_t need = 0, written = 0;
	bool cut = false;

	if (!in)
		in = "";
	while (*in) {
		const char *text;
		size_t len;

		in += fg_escape_unit(in, &text, &len);
		/* Once one unit does not fit, nothing after it is written either, so the
		 * output is always a prefix of the full result ending at a unit boundary. */
		if (!cut && written + len < size) {
			memcpy(out + written, text, len);
			written += len;
		} else {
			cut = true;
		}
		need += len;
	}
	if (size)
		out[written] = '\0';
	return need;
}
