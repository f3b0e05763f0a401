/* SPDX-License-Identifier: MIT */
/* Lines of an ini file for inih, each with what it is (config_lines.h). */
#include <stdio.h>
#include <string.h>

#include "config_lines.h"

/* Discards the rest of an overlong line; returns how many bytes it had. */
static size_t skip_line(FILE *file)
{
	size_t skipped = 0;
	int c;

	while ((c = getc(file)) != EOF && c != '\n')
		skipped++;
	return skipped;
}

/*
 * Spots a [section] line the way inih does: after leading white space (and
 * a UTF-8 byte order mark on the first line) it starts with '['.
 */
static enum config_line see_section(const char *line, bool first,
				    char *section, size_t section_size,
				    char *why, size_t why_size)
{
	const char *end;

	if (first && !strncmp(line, "\xef\xbb\xbf", 3))
		line += 3;
	line += strspn(line, " \t\r\f\v");
	if (*line != '[')
		return CONFIG_LINE_PLAIN;
	end = strchr(line, ']');
	if (!end) {
		snprintf(why, why_size, "section line has no closing ']'");
		return CONFIG_LINE_BROKEN;
	}
	if ((size_t)(end - line) > section_size) {
		snprintf(why, why_size, "section name is too long");
		return CONFIG_LINE_BROKEN;
	}
	memcpy(section, line + 1, (size_t)(end - line - 1));
	section[end - line - 1] = '\0';
	return CONFIG_LINE_SECTION;
}

char *config_line_read(char *line, int size, FILE *file, bool first,
		       enum config_line *kind, char *section,
		       size_t section_size, char *why, size_t why_size)
{
	const char *newline;

	/* Cleared first, so that a newline found after a NUL byte is this
	 * line's. */
	memset(line, 0, (size_t)size);
	if (!fgets(line, size, file))
		return NULL;
	newline = memchr(line, '\n', (size_t)size);
	if (newline && strlen(line) < (size_t)(newline - line)) {
		snprintf(why, why_size, "line holds a NUL byte");
		*kind = CONFIG_LINE_BROKEN;
	} else if (!newline && skip_line(file)) {
		snprintf(why, why_size, "line is longer than %d characters",
			 size - 2);
		*kind = CONFIG_LINE_BROKEN;
	} else {
		*kind = see_section(line, first, section, section_size, why,
				    why_size);
	}
	if (*kind == CONFIG_LINE_BROKEN)
		strcpy(line, "\n");
	return line;
}
