/*
 * proctitle.h - name each process so that ps and top show who is who
 * ("aggregate: supervisor", "aggregate: provider orders_api"), the way
 * PostgreSQL and nginx do.
 */
#ifndef AGG_PROCTITLE_H
#define AGG_PROCTITLE_H

/*
 * Call once at the top of main() with main's own argc/argv, before anything
 * reads argv or environ: the environment is moved to the heap so that the
 * memory after argv can hold a longer title.  Later use argv only through
 * the copy this returns (NULL on no memory: titles then stay unchanged).
 */
char **proctitle_init(int argc, char **argv);

/* Set the title that ps -o args shows. */
void proctitle_set(const char *title);

#endif
