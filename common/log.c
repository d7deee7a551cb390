/* log.c - leveled logging to stderr (OpenSMTPD's log.h conventions). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

static enum log_level log_level = LOG_INFO;
static enum log_style log_style = LOG_STYLE_PLAIN;

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void
log_set_style(enum log_style style)
{
	log_style = style;
}

/*
 * journald's stream protocol: JOURNAL_STREAM names the device and inode of
 * the stream it reads; it counts only when stderr is that stream (a child
 * of a service whose stderr went elsewhere inherits the variable).
 */
enum log_style
log_style_for_stderr(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (js && sscanf(js, "%llu:%llu%c", &dev, &ino, &tail) == 2 &&
	    fstat(2, &st) == 0 && (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino)
		return LOG_STYLE_JOURNAL;
	return LOG_STYLE_TIME;
}

/* "2026-12-06T09:30:01.123Z " */
static void
add_time(struct buf *b)
{
	struct timeval tv;
	struct tm tm;
	char s[32];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_addf(b, "%s.%03dZ ", s, (int)(tv.tv_usec / 1000));
}

static void
vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	/* sd-daemon(3): err, warning, info, debug */
	static const int prio[] = { 3, 4, 6, 7 };
	struct buf b = BUF_INIT, line = BUF_INIT;
	int saved = errno;

	if (lvl > log_level)
		return;
	buf_vaddf(&b, fmt, ap);
	if (with_errno)
		buf_addf(&b, ": %s", strerror(saved));
	if (log_style == LOG_STYLE_JOURNAL) {
		buf_addf(&line, "<%d>", prio[lvl]);
	} else {
		if (log_style == LOG_STYLE_TIME)
			add_time(&line);
		buf_addf(&line, "%s: ", names[lvl]);
	}
	/* one line, whatever the message carries: callers escape untrusted
	 * text themselves (escape_log); this is the guard for the one they
	 * missed */
	escape_log_line(&line, b.ptr, b.len);
	buf_putc(&line, '\n');
	fwrite(line.ptr, 1, line.len, stderr);
	buf_release(&b);
	buf_release(&line);
	errno = saved;
}

#define LOG_FN(name, lvl, e)                        \
	void name(const char *fmt, ...)             \
	{                                           \
		va_list ap;                         \
		va_start(ap, fmt);                  \
		vlog(lvl, e, fmt, ap);              \
		va_end(ap);                         \
	}

LOG_FN(log_error, LOG_ERROR, 0)
LOG_FN(log_warn, LOG_WARN, 1)
LOG_FN(log_warnx, LOG_WARN, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)
