/*
 * provtest.h - run one provider attempt in a test, the way the supervisor
 * and the aggregator would, and collect everything it sent.
 *
 * pt_run() forks a child that runs prov_main() as the producer of a fresh
 * ring, while the calling process consumes the ring: it decodes every
 * record into a text row, and keeps the checkpoints, rejects, DONE, the
 * ERROR text and the child's exit status.  No supervisor, no aggregator,
 * no heartbeat pipe; the child dies with the test (PR_SET_PDEATHSIG).
 *
 * Rows are the record's fields joined by '|': ints in decimal, floats in
 * the shortest form (conv_format_float), bools as true/false, timestamps in
 * RFC 3339 UTC, dates as YYYY-MM-DD, decimals with their scale's digits
 * (dec_format: 37.60), text as is, NULL as the four letters NULL.
 */
#ifndef AGG_PROVTEST_H
#define AGG_PROVTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../common/config.h"
#include "../../providers/provider.h"

struct pt_checkpoint {
	uint64_t records;           /* counted so far, all attempts */
	uint64_t rejects;
	uint64_t filtered;          /* dropped by a `where`, so far */
	size_t rows;                /* rows of this attempt it covers */
	unsigned char token[PROV_TOKEN_MAX];
	size_t token_len;
};

struct pt_reject {
	char *position;
	char *reason;
	char *raw;
};

struct pt_result {
	int status;                 /* exit status (prov_status), 128 + signal */
	char **rows;                /* every record received, in order */
	size_t nrows;
	size_t folded;              /* rows covered by the last checkpoint/DONE */
	struct pt_checkpoint *cps;  /* every checkpoint, in order */
	size_t ncps;
	struct pt_reject *rejects;
	size_t nrejects;
	bool done;                  /* a DONE frame arrived */
	uint64_t filtered;          /* its count of records dropped by a
				       `where` */
	char error[1024];           /* the ERROR frame's text, "" if none */
	bool bad;                   /* a frame did not decode (then see error) */
};

/*
 * Load a config from text (cfg_load_string).  Returns 0, or -1 after
 * printing the error on stderr.
 */
int pt_config(const char *text, struct cfg *cfg);

/*
 * Run attempt `attempt` (1 for the first) of provider index of cfg with the
 * given resume token (NULL/0: from the start) and the counts the earlier
 * attempts left (records, rejects).  env, if not NULL, is a NULL-terminated
 * list of "NAME=value" set in the child only (e.g. AGG_FAULT).  Fills out
 * and returns out->status, or -1 if the harness itself failed.
 */
int pt_run(const struct cfg *cfg, int index, uint16_t attempt,
	   const void *token, size_t token_len, uint64_t records,
	   uint64_t rejects, const char *const *env, struct pt_result *out);

/*
 * Same, without a fault environment, run in the calling process (so that
 * the sanitizer's leak check at the test's exit covers the provider), the
 * ring read only after the provider returned: its whole output must fit in
 * 16M.  The provider must not fork children that outlive the call (so no
 * postgres snapshot holder: they would be the test runner's children).
 */
int pt_run_inline(const struct cfg *cfg, int index, uint16_t attempt,
		  const void *token, size_t token_len, uint64_t records,
		  uint64_t rejects, struct pt_result *out);

/*
 * pt_run_inline of attempt 1 from token (NULL/0: the start) with no
 * earlier counts, in a ring of 64M, that also writes every frame as one
 * line of text, in the order sent:
 *   rec V|V|...            a record; text in single quotes
 *   rej POSITION REASON [RAW]
 *   ckpt RECORDS/REJECTS TOKEN
 *   done
 *   error MESSAGE
 * CR and LF in text, positions, reasons and raw input are spelled \r and
 * \n, so a line is a frame.  Returns the lines (free() them), NULL if the
 * harness had no memory; out as pt_run_inline fills it (out->bad: a frame
 * did not decode, and the lines stop before it).
 */
char *pt_dump_inline(const struct cfg *cfg, int index, const void *token,
		     size_t token_len, struct pt_result *out);

/* The last checkpoint of r, or NULL if there was none. */
const struct pt_checkpoint *pt_last_checkpoint(const struct pt_result *r);

/* All rows joined by '\n' (each row followed by '\n'); free() it. */
char *pt_rows_text(const struct pt_result *r, size_t from, size_t to);

/*
 * A dump of pt_dump_inline() without what may differ between two reads
 * of the same rows from differently spelled input: the checkpoints'
 * tokens (byte offsets) and the rejects' raw text.  free() it; NULL: no
 * memory.
 */
char *pt_dump_comparable(const char *dump);

/* Only a dump's rec and rej lines.  free() it; NULL: no memory. */
char *pt_dump_data(const char *dump);

/*
 * For every every-th checkpoint of dump (a run of provider 0 of cfg from
 * the start), run it again from that checkpoint's token: its records and
 * rejects must be exactly the rest of dump's.  Returns how many were
 * tried, or -1 with why.
 */
int pt_resumes_to_rest(const struct cfg *cfg, const char *dump, int every,
		       char *why, size_t whylen);

void pt_result_free(struct pt_result *r);

#endif
