/*
 * libload.c - libpq and libcurl functions that load their library on first
 * use (see libload.h for why).
 *
 * Each function below has the prototype its library's header gives it (the
 * compiler checks them against <libpq-fe.h> and <curl/curl.h>), keeps the
 * library's function in a static pointer, and resolves it on its first
 * call.  The sonames come from the build (the Makefile reads them from the
 * libraries pkg-config names); the defaults are Debian 12's.
 *
 * The three variadic curl functions take exactly one more argument whose
 * type the option's number says (CURLOPTTYPE_*, as curl itself reads it):
 * it is read with that type and passed on.
 */
#define CURL_DISABLE_TYPECHECK
#include "libload.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#ifndef LIBLOAD_PQ_SONAME
#define LIBLOAD_PQ_SONAME "libpq.so.5"
#endif
#ifndef LIBLOAD_CURL_SONAME
#define LIBLOAD_CURL_SONAME "libcurl.so.4"
#endif

static const char *const libload_names[2] = {
	LIBLOAD_PQ_SONAME,
	LIBLOAD_CURL_SONAME,
};
static void *libload_handles[2];

int libload_loaded(int which)
{
	return libload_handles[which] != NULL;
}

/* The address of name in library which.  Exits (127) if it cannot be had. */
static void *libload_sym(int which, const char *name)
{
	void *f;

	if (libload_handles[which] == NULL) {
		libload_handles[which] = dlopen(libload_names[which],
						RTLD_LAZY | RTLD_LOCAL);
		if (libload_handles[which] == NULL) {
			fprintf(stderr, "aggregate: cannot load %s: %s\n",
				libload_names[which], dlerror());
			_exit(127);
		}
	}
	f = dlsym(libload_handles[which], name);
	if (f == NULL) {
		fprintf(stderr, "aggregate: %s has no %s: %s\n",
			libload_names[which], name, dlerror());
		_exit(127);
	}
	return f;
}

/* --- libpq ------------------------------------------------------------ */

void PQclear(PGresult *res)
{
	static void (*fn)(PGresult *res);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQclear");
	fn(res);
}

PostgresPollingStatusType PQconnectPoll(PGconn *conn)
{
	static PostgresPollingStatusType (*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconnectPoll");
	return fn(conn);
}

PGconn *PQconnectStart(const char *conninfo)
{
	static PGconn *(*fn)(const char *conninfo);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconnectStart");
	return fn(conninfo);
}

PGconn *PQconnectdb(const char *conninfo)
{
	static PGconn *(*fn)(const char *conninfo);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconnectdb");
	return fn(conninfo);
}

int PQconnectionNeedsPassword(const PGconn *conn)
{
	static int (*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconnectionNeedsPassword");
	return fn(conn);
}

PQconninfoOption *PQconninfo(PGconn *conn)
{
	static PQconninfoOption *(*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconninfo");
	return fn(conn);
}

void PQconninfoFree(PQconninfoOption *connOptions)
{
	static void (*fn)(PQconninfoOption *connOptions);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconninfoFree");
	fn(connOptions);
}

PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg)
{
	static PQconninfoOption *(*fn)(const char *conninfo, char **errmsg);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconninfoParse");
	return fn(conninfo, errmsg);
}

int PQconsumeInput(PGconn *conn)
{
	static int (*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQconsumeInput");
	return fn(conn);
}

char *PQdb(const PGconn *conn)
{
	static char *(*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQdb");
	return fn(conn);
}

char *PQerrorMessage(const PGconn *conn)
{
	static char *(*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQerrorMessage");
	return fn(conn);
}

char *PQescapeIdentifier(PGconn *conn, const char *str, size_t len)
{
	static char *(*fn)(PGconn *conn, const char *str, size_t len);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQescapeIdentifier");
	return fn(conn, str, len);
}

char *PQescapeLiteral(PGconn *conn, const char *str, size_t len)
{
	static char *(*fn)(PGconn *conn, const char *str, size_t len);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQescapeLiteral");
	return fn(conn, str, len);
}

PGresult *PQexec(PGconn *conn, const char *query)
{
	static PGresult *(*fn)(PGconn *conn, const char *query);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQexec");
	return fn(conn, query);
}

PGresult *PQexecParams(PGconn *conn, const char *command, int nParams,
		       const Oid *paramTypes, const char *const *paramValues,
		       const int *paramLengths, const int *paramFormats,
		       int resultFormat)
{
	static PGresult *(*fn)(PGconn *conn, const char *command, int nParams,
			       const Oid *paramTypes,
			       const char *const *paramValues,
			       const int *paramLengths, const int *paramFormats,
			       int resultFormat);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQexecParams");
	return fn(conn, command, nParams, paramTypes, paramValues, paramLengths,
		  paramFormats, resultFormat);
}

void PQfinish(PGconn *conn)
{
	static void (*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQfinish");
	fn(conn);
}

char *PQfname(const PGresult *res, int field_num)
{
	static char *(*fn)(const PGresult *res, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQfname");
	return fn(res, field_num);
}

void PQfreemem(void *ptr)
{
	static void (*fn)(void *ptr);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQfreemem");
	fn(ptr);
}

int PQfmod(const PGresult *res, int field_num)
{
	static int (*fn)(const PGresult *res, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQfmod");
	return fn(res, field_num);
}

int PQgetlength(const PGresult *res, int tup_num, int field_num)
{
	static int (*fn)(const PGresult *res, int tup_num, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQgetlength");
	return fn(res, tup_num, field_num);
}

int PQserverVersion(const PGconn *conn)
{
	static int (*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQserverVersion");
	return fn(conn);
}

int PQsetSingleRowMode(PGconn *conn)
{
	static int (*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsetSingleRowMode");
	return fn(conn);
}

Oid PQftype(const PGresult *res, int field_num)
{
	static Oid (*fn)(const PGresult *res, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQftype");
	return fn(res, field_num);
}

int PQgetCopyData(PGconn *conn, char **buffer, int async)
{
	static int (*fn)(PGconn *conn, char **buffer, int async);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQgetCopyData");
	return fn(conn, buffer, async);
}

PGresult *PQgetResult(PGconn *conn)
{
	static PGresult *(*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQgetResult");
	return fn(conn);
}

int PQgetisnull(const PGresult *res, int tup_num, int field_num)
{
	static int (*fn)(const PGresult *res, int tup_num, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQgetisnull");
	return fn(res, tup_num, field_num);
}

char *PQgetvalue(const PGresult *res, int tup_num, int field_num)
{
	static char *(*fn)(const PGresult *res, int tup_num, int field_num);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQgetvalue");
	return fn(res, tup_num, field_num);
}

int PQisBusy(PGconn *conn)
{
	static int (*fn)(PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQisBusy");
	return fn(conn);
}

int PQnfields(const PGresult *res)
{
	static int (*fn)(const PGresult *res);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQnfields");
	return fn(res);
}

int PQntuples(const PGresult *res)
{
	static int (*fn)(const PGresult *res);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQntuples");
	return fn(res);
}

const char *PQparameterStatus(const PGconn *conn, const char *paramName)
{
	static const char *(*fn)(const PGconn *conn, const char *paramName);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQparameterStatus");
	return fn(conn, paramName);
}

int PQputCopyData(PGconn *conn, const char *buffer, int nbytes)
{
	static int (*fn)(PGconn *conn, const char *buffer, int nbytes);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQputCopyData");
	return fn(conn, buffer, nbytes);
}

int PQputCopyEnd(PGconn *conn, const char *errormsg)
{
	static int (*fn)(PGconn *conn, const char *errormsg);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQputCopyEnd");
	return fn(conn, errormsg);
}

char *PQresultErrorField(const PGresult *res, int fieldcode)
{
	static char *(*fn)(const PGresult *res, int fieldcode);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQresultErrorField");
	return fn(res, fieldcode);
}

char *PQresultErrorMessage(const PGresult *res)
{
	static char *(*fn)(const PGresult *res);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQresultErrorMessage");
	return fn(res);
}

ExecStatusType PQresultStatus(const PGresult *res)
{
	static ExecStatusType (*fn)(const PGresult *res);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQresultStatus");
	return fn(res);
}

int PQsendDescribePrepared(PGconn *conn, const char *stmt)
{
	static int (*fn)(PGconn *conn, const char *stmt);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsendDescribePrepared");
	return fn(conn, stmt);
}

int PQsendPrepare(PGconn *conn, const char *stmtName, const char *query,
		  int nParams, const Oid *paramTypes)
{
	static int (*fn)(PGconn *conn, const char *stmtName, const char *query,
			 int nParams, const Oid *paramTypes);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsendPrepare");
	return fn(conn, stmtName, query, nParams, paramTypes);
}

int PQsendQuery(PGconn *conn, const char *query)
{
	static int (*fn)(PGconn *conn, const char *query);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsendQuery");
	return fn(conn, query);
}

int PQsetClientEncoding(PGconn *conn, const char *encoding)
{
	static int (*fn)(PGconn *conn, const char *encoding);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsetClientEncoding");
	return fn(conn, encoding);
}

PGVerbosity PQsetErrorVerbosity(PGconn *conn, PGVerbosity verbosity)
{
	static PGVerbosity (*fn)(PGconn *conn, PGVerbosity verbosity);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsetErrorVerbosity");
	return fn(conn, verbosity);
}

PQnoticeProcessor PQsetNoticeProcessor(PGconn *conn, PQnoticeProcessor proc,
				       void *arg)
{
	static PQnoticeProcessor (*fn)(PGconn *conn, PQnoticeProcessor proc,
				       void *arg);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsetNoticeProcessor");
	return fn(conn, proc, arg);
}

PQnoticeReceiver PQsetNoticeReceiver(PGconn *conn, PQnoticeReceiver proc,
				     void *arg)
{
	static PQnoticeReceiver (*fn)(PGconn *conn, PQnoticeReceiver proc,
				      void *arg);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsetNoticeReceiver");
	return fn(conn, proc, arg);
}

int PQsocket(const PGconn *conn)
{
	static int (*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQsocket");
	return fn(conn);
}

ConnStatusType PQstatus(const PGconn *conn)
{
	static ConnStatusType (*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQstatus");
	return fn(conn);
}

PGTransactionStatusType PQtransactionStatus(const PGconn *conn)
{
	static PGTransactionStatusType (*fn)(const PGconn *conn);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_PQ, "PQtransactionStatus");
	return fn(conn);
}

/* --- libcurl ---------------------------------------------------------- */

void curl_easy_cleanup(CURL *curl)
{
	static void (*fn)(CURL *curl);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_cleanup");
	fn(curl);
}

CURL *curl_easy_init(void)
{
	static CURL *(*fn)(void);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_init");
	return fn();
}

CURLcode curl_easy_perform(CURL *curl)
{
	static CURLcode (*fn)(CURL *curl);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_perform");
	return fn(curl);
}

const char *curl_easy_strerror(CURLcode a0)
{
	static const char *(*fn)(CURLcode a0);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_strerror");
	return fn(a0);
}

char *curl_easy_escape(CURL *handle, const char *string, int length)
{
	static char *(*fn)(CURL *handle, const char *string, int length);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_escape");
	return fn(handle, string, length);
}

void curl_free(void *p)
{
	static void (*fn)(void *p);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_free");
	fn(p);
}

time_t curl_getdate(const char *p, const time_t *unused)
{
	static time_t (*fn)(const char *p, const time_t *unused);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_getdate");
	return fn(p, unused);
}

void curl_global_cleanup(void)
{
	static void (*fn)(void);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_global_cleanup");
	fn();
}

CURLcode curl_global_init(long flags)
{
	static CURLcode (*fn)(long flags);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_global_init");
	return fn(flags);
}

CURLMcode curl_multi_add_handle(CURLM *multi_handle, CURL *curl_handle)
{
	static CURLMcode (*fn)(CURLM *multi_handle, CURL *curl_handle);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_add_handle");
	return fn(multi_handle, curl_handle);
}

CURLMcode curl_multi_cleanup(CURLM *multi_handle)
{
	static CURLMcode (*fn)(CURLM *multi_handle);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_cleanup");
	return fn(multi_handle);
}

CURLMsg *curl_multi_info_read(CURLM *multi_handle, int *msgs_in_queue)
{
	static CURLMsg *(*fn)(CURLM *multi_handle, int *msgs_in_queue);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_info_read");
	return fn(multi_handle, msgs_in_queue);
}

CURLM *curl_multi_init(void)
{
	static CURLM *(*fn)(void);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_init");
	return fn();
}

CURLMcode curl_multi_perform(CURLM *multi_handle, int *running_handles)
{
	static CURLMcode (*fn)(CURLM *multi_handle, int *running_handles);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_perform");
	return fn(multi_handle, running_handles);
}

CURLMcode curl_multi_poll(CURLM *multi_handle, struct curl_waitfd extra_fds[],
			  unsigned int extra_nfds, int timeout_ms, int *ret)
{
	static CURLMcode (*fn)(CURLM *multi_handle,
			       struct curl_waitfd extra_fds[],
			       unsigned int extra_nfds, int timeout_ms,
			       int *ret);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_poll");
	return fn(multi_handle, extra_fds, extra_nfds, timeout_ms, ret);
}

CURLMcode curl_multi_remove_handle(CURLM *multi_handle, CURL *curl_handle)
{
	static CURLMcode (*fn)(CURLM *multi_handle, CURL *curl_handle);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_remove_handle");
	return fn(multi_handle, curl_handle);
}

const char *curl_multi_strerror(CURLMcode a0)
{
	static const char *(*fn)(CURLMcode a0);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_strerror");
	return fn(a0);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	static struct curl_slist *(*fn)(struct curl_slist *list,
					const char *data);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_slist_append");
	return fn(list, data);
}

void curl_slist_free_all(struct curl_slist *list)
{
	static void (*fn)(struct curl_slist *list);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_slist_free_all");
	fn(list);
}

CURLU *curl_url(void)
{
	static CURLU *(*fn)(void);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_url");
	return fn();
}

void curl_url_cleanup(CURLU *handle)
{
	static void (*fn)(CURLU *handle);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_url_cleanup");
	fn(handle);
}

CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part,
		       unsigned int flags)
{
	static CURLUcode (*fn)(CURLU *handle, CURLUPart what, char **part,
			       unsigned int flags);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_url_get");
	return fn(handle, what, part, flags);
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part,
		       unsigned int flags)
{
	static CURLUcode (*fn)(CURLU *handle, CURLUPart what, const char *part,
			       unsigned int flags);

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_url_set");
	return fn(handle, what, part, flags);
}


/* --- libcurl: the variadic three ------------------------------------- */

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	static CURLcode (*fn)(CURL *curl, CURLoption option, ...);
	CURLcode rc;
	va_list ap;

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_setopt");
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = fn(curl, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn(curl, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = fn(curl, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		rc = fn(curl, option, va_arg(ap, curl_off_t));
	else
		rc = fn(curl, option, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

CURLMcode curl_multi_setopt(CURLM *multi_handle, CURLMoption option, ...)
{
	static CURLMcode (*fn)(CURLM *multi_handle, CURLMoption option, ...);
	CURLMcode rc;
	va_list ap;

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_multi_setopt");
	va_start(ap, option);
	if (option < CURLOPTTYPE_OBJECTPOINT)
		rc = fn(multi_handle, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		rc = fn(multi_handle, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		rc = fn(multi_handle, option, va_arg(ap, void (*)(void)));
	else
		rc = fn(multi_handle, option, va_arg(ap, curl_off_t));
	va_end(ap);
	return rc;
}

/* Every CURLINFO_* takes a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	static CURLcode (*fn)(CURL *curl, CURLINFO info, ...);
	CURLcode rc;
	va_list ap;

	if (fn == NULL)
		fn = libload_sym(LIBLOAD_CURL, "curl_easy_getinfo");
	va_start(ap, info);
	rc = fn(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}
