/* SPDX-License-Identifier: MIT */
/* busd's messages on stderr. */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/layout.h"
#include "error_log.h"
#include "log.h"
#include "log_page_writer.h"

static char busd_log_bus[BUS_NAME_MAX + 1] = "default";
static enum busd_log_level busd_log_threshold = BUSD_LOG_INFO;

static const char *const busd_log_labels[] = {
	[BUSD_LOG_ERROR] = "error: ",
	[BUSD_LOG_WARNING] = "warning: ",
	[BUSD_LOG_INFO] = "",
	[BUSD_LOG_DEBUG] = "debug: ",
};

/* syslog priorities (sd-daemon.h's SD_ERR ...), for journald. */
static const char *const busd_log_priorities[] = {
	[BUSD_LOG_ERROR] = "<3>",
	[BUSD_LOG_WARNING] = "<4>",
	[BUSD_LOG_INFO] = "<6>",
	[BUSD_LOG_DEBUG] = "<7>",
};

static bool busd_log_journal;

/* The error log page; the metrics thread may log too, hence the mutex. */
static struct bus_log_page *busd_log_page;
static pthread_mutex_t busd_log_page_lock = PTHREAD_MUTEX_INITIALIZER;

void busd_log_attach(struct bus_log_page *page)
{
	pthread_mutex_lock(&busd_log_page_lock);
	busd_log_page = page;
	pthread_mutex_unlock(&busd_log_page_lock);
}

static void busd_log_keep(enum busd_log_level level, const char *text)
{
	struct timespec now;

	if (level > BUSD_LOG_WARNING)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&busd_log_page_lock);
	if (busd_log_page)
		busd_log_append(busd_log_page,
				(uint64_t)now.tv_sec * 1000000000u +
					(uint64_t)now.tv_nsec,
				level == BUSD_LOG_ERROR ? BUS_LOG_ERROR
							: BUS_LOG_WARNING,
				text);
	pthread_mutex_unlock(&busd_log_page_lock);
}

/*
 * systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * to stderr; a match means our stderr still is that stream (not a file a
 * child of the service was redirected to).
 */
static bool busd_log_to_journal(void)
{
	const char *stream = getenv("JOURNAL_STREAM");
	unsigned long long device, inode;
	struct stat st;

	if (!stream || sscanf(stream, "%llu:%llu", &device, &inode) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == device &&
	       (unsigned long long)st.st_ino == inode;
}

void busd_log_init(const char *bus_name, bool verbose)
{
	snprintf(busd_log_bus, sizeof(busd_log_bus), "%s", bus_name);
	busd_log_threshold = verbose ? BUSD_LOG_DEBUG : BUSD_LOG_INFO;
	busd_log_journal = busd_log_to_journal();
}

void busd_log_set_level(enum busd_log_level level)
{
	busd_log_threshold = level;
}

/*
 * One fprintf per line: stderr is unbuffered, so a line written in pieces
 * could interleave with another process writing to the same terminal.
 */
static void busd_log_line(enum busd_log_level level, const char *prefix,
			  const char *label, const char *format, va_list args)
{
	const char *priority = busd_log_journal ? busd_log_priorities[level]
						: "";
	char text[1024];

	vsnprintf(text, sizeof(text), format, args);
	fprintf(stderr, "%s%s%s%s\n", priority, prefix, label, text);
	busd_log_keep(level, text);
}

void busd_log(enum busd_log_level level, const char *format, ...)
{
	char prefix[BUS_NAME_MAX + 16];
	va_list args;

	if (level > busd_log_threshold)
		return;
	snprintf(prefix, sizeof(prefix), "busd[%s]: ", busd_log_bus);
	va_start(args, format);
	busd_log_line(level, prefix, busd_log_labels[level], format, args);
	va_end(args);
}

void busd_refuse(const char *format, ...)
{
	va_list args;

	va_start(args, format);
	busd_log_line(BUSD_LOG_ERROR, "busd: ", "", format, args);
	va_end(args);
}
