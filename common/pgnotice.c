/*
 * pgnotice.c - PostgreSQL notices to the log (pgnotice.h).
 */
#include "pgnotice.h"

#include <stddef.h>
#include <string.h>

#include "log.h"

/* One line of a server's message text: blanks for line breaks and tabs. */
static void notice_line(const char *s, char *out, size_t len)
{
	size_t k = 0;

	for (; s != NULL && *s && k + 1 < len; s++)
		out[k++] = *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s;
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

void pgnotice_log(void *name, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	char msg[1024], detail[512], hint[512];
	enum log_level level = LOG_WARN;

	if (sev == NULL)
		sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
	if (sev == NULL)
		sev = "NOTICE";
	if (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "LOG") == 0)
		level = LOG_INFO;
	else if (strcmp(sev, "DEBUG") == 0)
		level = LOG_DEBUG;
	if (!log_enabled(level))
		return;
	notice_line(PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY), msg,
		    sizeof msg);
	notice_line(PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL), detail,
		    sizeof detail);
	notice_line(PQresultErrorField(res, PG_DIAG_MESSAGE_HINT), hint,
		    sizeof hint);
	/* Detail and hint only when the server gave them. */
	if (detail[0] && hint[0])
		log_event(level, name, "server message", "severity", sev,
			  "message", msg, "detail", detail, "hint", hint, NULL);
	else if (detail[0] || hint[0])
		log_event(level, name, "server message", "severity", sev,
			  "message", msg, detail[0] ? "detail" : "hint",
			  detail[0] ? detail : hint, NULL);
	else
		log_event(level, name, "server message", "severity", sev,
			  "message", msg, NULL);
}
