/* log.c - leveled logging to stderr (OpenSMTPD's log.h conventions). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

static enum log_level log_level = LOG_INFO;

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

static void
vlog(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	struct buf b = BUF_INIT, line = BUF_INIT;
	int saved = errno;

	if (lvl > log_level)
		return;
	buf_vaddf(&b, fmt, ap);
	if (with_errno)
		buf_addf(&b, ": %s", strerror(saved));
	/* one line, whatever the message carries: callers escape untrusted
	 * text themselves (escape_log); this is the guard for the one they
	 * missed */
	buf_addf(&line, "%s: ", names[lvl]);
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

LOG_FN(log_warn, LOG_WARN, 1)
LOG_FN(log_warnx, LOG_WARN, 0)
LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_debug, LOG_DEBUG, 0)
