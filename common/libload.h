/*
 * libload.h - libpq and libcurl, loaded on first use.
 *
 * The program is not linked against libpq and libcurl: together they bring
 * some thirty shared libraries (GnuTLS, Kerberos, LDAP, ...) whose loading,
 * relocation and constructors cost every run ~25 ms of CPU, most of its
 * start-up, even a run that reads only files.  libload.c defines every
 * libpq and libcurl function the project calls, with the libraries' own
 * prototypes (from their headers, found with pkg-config); the first call
 * of one loads its library with dlopen and resolves the function with
 * dlsym.  Callers include <libpq-fe.h> and <curl/curl.h> and call the
 * functions as usual: nothing else changes for them.
 *
 * A library or function that cannot be loaded is a broken installation:
 * the process writes why on stderr and exits with status 127, as a shell
 * does for a command it cannot run.
 *
 * Process rules: the first call of each function is not thread-safe in
 * principle (two threads could both resolve it; they store the same
 * pointer); every caller in this project is single-threaded.
 */
#ifndef AGG_LIBLOAD_H
#define AGG_LIBLOAD_H

/* Has this process loaded libpq / libcurl yet?  (For tests.) */
int libload_loaded(int which);

#define LIBLOAD_PQ 0
#define LIBLOAD_CURL 1

#endif
