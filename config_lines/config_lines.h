/* SPDX-License-Identifier: MIT */
/*
 * Lines of an ini file as busd and busbridge feed them to inih.
 *
 * inih parses key = value lines but does not count lines for its handler,
 * and it reports only the sections that hold keys.  Both programs read the
 * file through this reader instead: it counts nothing itself but hands
 * every line over with what it is, so that the caller can count lines,
 * see every [section] line (an empty [queue NAME] still counts) and name
 * the line in each message.  A broken line is blanked, so that inih skips
 * it rather than report it a second time.
 */
#ifndef CONFIG_LINES_H
#define CONFIG_LINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum config_line {
	CONFIG_LINE_PLAIN,   /* for inih as it is */
	CONFIG_LINE_SECTION, /* a [section] line: its name in section */
	CONFIG_LINE_BROKEN,  /* a sentence in why; blanked for inih */
};

/*
 * Reads the next line of file into line (size bytes, as inih's reader
 * gets them); first: it is the file's first line (a UTF-8 byte order mark
 * may open it).  NULL at the end of the file.  *kind says what the line
 * is; section (section_size bytes) gets a section's name, why (why_size
 * bytes) the sentence for a broken line: a NUL byte, a line longer than
 * the buffer (the rest is skipped), a section line without ']' or with a
 * name longer than section_size - 1.
 */
char *config_line_read(char *line, int size, FILE *file, bool first,
		       enum config_line *kind, char *section,
		       size_t section_size, char *why, size_t why_size);

#endif /* CONFIG_LINES_H */
