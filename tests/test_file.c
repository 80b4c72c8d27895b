/*
 * test_file.c - the file provider (providers/file.c) run in-process through
 * the real provider runtime into a real ring, which the test then drains
 * (tests/helpers/provtest.h):
 * CSV and JSON Lines, plain and gzip, globs, NULL rules, column mapping,
 * rejects with their positions, the resume token (every checkpoint of a
 * run resumes to exactly the rest of that run), and --check; JSON arrays
 * (against what Python's json module reads from the same files) and files
 * in other encodings (against Python's codecs).
 *
 * Each test works in its own temporary folder (Criterion runs every test in
 * its own process, so chdir is safe) and compares a text dump of the
 * frames the provider sent.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "../ipc/record.h"
#include "../common/buf.h"
#include "../providers/file.h"
#include "../providers/file_conf.h"
#include "../providers/provider.h"
#include "helpers/provtest.h"
#include "helpers/testutil.h"

#define MAXF 8

struct fixture {
	char *dir;
	struct cfg cfg;
	struct cfg_provider p;
	struct file_conf fc;     /* p's options */
	struct rec_field fields[MAXF];
	char *sources[MAXF];
	char names[MAXF][32];
};

static struct fixture fx;

/* Work in a fresh folder; the schema is "name:type name:type ...". */
static void fx_init(const char *schema)
{
	char spec[256], *save = NULL;

	memset(&fx, 0, sizeof fx);
	fx.dir = tu_tmpdir();
	cr_assert_eq(chdir(fx.dir), 0);
	snprintf(spec, sizeof spec, "%s", schema);
	for (char *tok = strtok_r(spec, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		int i = fx.cfg.schema.nfields++;
		char *colon = strchr(tok, ':');

		cr_assert(colon != NULL && i < MAXF);
		*colon = '\0';
		snprintf(fx.names[i], sizeof fx.names[i], "%s", tok);
		fx.fields[i].name = fx.names[i];
		cr_assert_eq(rec_type_parse(colon + 1, &fx.fields[i].type), 0,
			     "%s", colon + 1);
		fx.sources[i] = fx.names[i];
	}
	fx.cfg.schema.fields = fx.fields;
	fx.p.schema = fx.cfg.schema; /* the provider's copy: no zone */
	fx.p.name = "drops";
	fx.p.type = CFG_PROV_FILE;
	fx.p.enabled = true;
	fx.p.source = fx.sources;
	fx.p.opts = &fx.fc;
	fx.p.max_rejects = 100;
	fx.fc.file_format = CFG_FMT_AUTO;
	fx.fc.delimiter = ',';
	fx.fc.quote = '"';
	fx.fc.header = true;
	fx.fc.nulls = NULL;
	fx.fc.nnulls = 0;
	fx.p.batch = 0;
	fx.fc.path = "a.csv";
	fx.cfg.providers = &fx.p;
	fx.cfg.nproviders = 1;
}

static void fx_fini(void)
{
	if (chdir("/") != 0)
		cr_log_warn("chdir / failed");
	tu_rmrf(fx.dir);
	free(fx.dir);
}

/* Map field name to source (the string must outlive the run). */
static void fx_map(const char *field, const char *source)
{
	for (int i = 0; i < fx.cfg.schema.nfields; i++) {
		if (strcmp(fx.names[i], field) == 0) {
			fx.sources[i] = (char *)source;
			return;
		}
	}
	cr_assert_fail("no field %s", field);
}

static void write_file(const char *name, const char *content, size_t len)
{
	FILE *f = fopen(name, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(content, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void write_text(const char *name, const char *content)
{
	write_file(name, content, strlen(content));
}

static void write_gz(const char *name, const char *content)
{
	gzFile g = gzopen(name, "wb");

	cr_assert_not_null(g);
	cr_assert_eq(gzwrite(g, content, (unsigned)strlen(content)),
		     (int)strlen(content));
	cr_assert_eq(gzclose(g), Z_OK);
}

/* --- running the provider and dumping what it sent -------------------- */

/*
 * Run the provider from token (NULL: the start), in this process, through
 * tests/helpers/provtest.h.  Returns the dump (pt_dump_inline):
 *   rec V|V|...      one record
 *   rej POS REASON [RAW]
 *   ckpt RECORDS/REJECTS TOKEN
 *   done / error MESSAGE
 * and the status in *status.  A frame that does not decode fails the test.
 */
static char *run_from(const char *token, int *status)
{
	struct pt_result r;
	char *dump = pt_dump_inline(&fx.cfg, 0, token,
				    token ? strlen(token) : 0, &r);

	cr_assert_not_null(dump);
	cr_assert(!r.bad, "%s, dump:\n%s", r.error, dump);
	*status = r.status;
	pt_result_free(&r);
	return dump;
}

/* Only the rec and rej lines of a dump (drops checkpoints). */
static char *data_lines(const char *dump)
{
	struct buf d = { 0 };

	cr_assert_eq(buf_addstr(&d, ""), 0);
	for (const char *l = dump; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) + 1 : strlen(l);

		if (strncmp(l, "rec ", 4) == 0 || strncmp(l, "rej ", 4) == 0)
			cr_assert_eq(buf_add(&d, l, n), 0);
		l += n;
	}
	return (char *)buf_take(&d);
}

static void expect_run(const char *want, int want_status)
{
	int st;
	char *got = run_from(NULL, &st);
	char *data = data_lines(got);

	cr_assert_eq(st, want_status, "status %d, dump:\n%s", st, got);
	cr_assert_str_eq(data, want, "dump:\n%s", got);
	free(data);
	free(got);
}

/* The error line of a run that failed with want_status. */
static void expect_error(const char *want_error, int want_status)
{
	int st;
	char *got = run_from(NULL, &st);

	cr_assert_eq(st, want_status, "status %d, dump:\n%s", st, got);
	cr_assert(strstr(got, want_error) != NULL, "want \"%s\" in:\n%s",
		  want_error, got);
	free(got);
}

/*
 * The resume property: with a checkpoint after every record, resuming from
 * any checkpoint's token yields exactly the records after it.
 */
static void check_every_resume(void)
{
	int st;
	char *full, *all;
	size_t checked = 0;

	fx.p.batch = 1;
	full = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE, "%s", full);
	all = data_lines(full);
	for (const char *l = full; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = (size_t)(e - l) + 1;

		if (strncmp(l, "ckpt ", 5) == 0) {
			char token[256], *rest, *tail, *again;
			const char *sp = strchr(l + 5, ' ') + 1;
			size_t before = 0;

			snprintf(token, sizeof token, "%.*s", (int)(e - sp), sp);
			/* Records and rejects before this checkpoint. */
			for (const char *m = full; m < l;) {
				const char *me = strchr(m, '\n') + 1;

				if (strncmp(m, "rec ", 4) == 0 ||
				    strncmp(m, "rej ", 4) == 0)
					before += (size_t)(me - m);
				m = me;
			}
			rest = run_from(token, &st);
			cr_assert_eq(st, PROV_DONE, "from %s: %s", token, rest);
			tail = data_lines(rest);
			again = all + before;
			cr_assert_str_eq(tail, again, "resumed from %s", token);
			free(tail);
			free(rest);
			checked++;
		}
		l += n;
	}
	cr_assert_gt(checked, 1);
	free(all);
	free(full);
}

/* --- CSV -------------------------------------------------------------- */

Test(file, csv_every_type)
{
	fx_init("id:int name:text amount:float ok:bool day:timestamp");
	write_text("a.csv",
		   "id,name,amount,ok,day\r\n"
		   "1,alice,12.5,true,2026-11-22T03:00:01Z\r\n"
		   "2,\"b, \"\"bob\"\"\",-0.25,no,2026-11-22 05:00:01+02:00\r\n"
		   "3,\"multi\nline\",1e3,1,2024-02-29\r\n");
	expect_run("rec 1|'alice'|12.5|true|2026-11-22T03:00:01Z\n"
		   "rec 2|'b, \"bob\"'|-0.25|false|2026-11-22T03:00:01Z\n"
		   "rec 3|'multi\\nline'|1000|true|2024-02-29T00:00:00Z\n",
		   PROV_DONE);
	fx_fini();
}

Test(file, csv_nulls_default)
{
	fx_init("id:int name:text");
	write_text("a.csv", "id,name\n1,\n,\"\"\n\"\",x\n");
	/* Unquoted empty is NULL; quoted empty is "" (a reject for int). */
	expect_run("rec 1|NULL\n"
		   "rec NULL|''\n"
		   "rej a.csv:4 field id: invalid int \"\" [\"\",x]\n",
		   PROV_DONE);
	fx_fini();
}

Test(file, csv_null_text)
{
	static char *nulls[] = { "NA", "N/A", "-" };

	fx_init("id:int name:text");
	fx.fc.nulls = nulls;
	fx.fc.nnulls = 1;
	/* a marker adds to the unquoted empty field; a quoted one is text */
	write_text("a.csv", "id,name\nNA,NA\n2,\"NA\"\n3,\n4,\"\"\n");
	expect_run("rec NULL|NULL\n"
		   "rec 2|'NA'\n"
		   "rec 3|NULL\n"
		   "rec 4|''\n",
		   PROV_DONE);
	fx_fini();

	/* several markers, on the general path (quoted fields) as well */
	fx_init("id:int name:text");
	fx.fc.nulls = nulls;
	fx.fc.nnulls = 3;
	write_text("a.csv", "id,name\n-,N/A\n\"5\",-\nN/A,\"-\"\n6,NA\n");
	expect_run("rec NULL|NULL\n"
		   "rec 5|NULL\n"
		   "rec NULL|'-'\n"
		   "rec 6|NULL\n",
		   PROV_DONE);
	fx_fini();
}

Test(file, csv_columns_by_name)
{
	fx_init("id:int name:text");
	fx_map("name", "full_name");
	write_text("a.csv", "full_name,extra,id\nann,x,1\n");
	/* Mapped by name in any order; extra columns are not read. */
	expect_run("rec 1|'ann'\n", PROV_DONE);
	fx_fini();
}

Test(file, csv_field_without_column_is_a_config_error)
{
	/* an unmapped field whose name is no column: no silent NULL */
	fx_init("id:int name:text amount:float");
	write_text("a.csv", "id,name,amnt\n1,ann,2.5\n");
	expect_error("error a.csv:1: field amount: the header has no column "
		     "\"amount\" (name one with map = amount=COLUMN) (columns: "
		     "id, name, amnt; did you mean \"amnt\"?)",
		     PROV_FAIL_CONFIG);
	fx_fini();

	/* each file of a glob: the second one lacks the column */
	fx_init("id:int name:text");
	fx.fc.path = "*.csv";
	write_text("a.csv", "id,name\n1,ann\n");
	write_text("b.csv", "id,nom\n2,bob\n");
	expect_error("error b.csv:1: field name: the header has no column "
		     "\"name\" (name one with map = name=COLUMN) (columns: id, "
		     "nom)", PROV_FAIL_CONFIG);
	fx_fini();
}

/* Several paths and brace globs: one sorted list, a file matched twice once. */
Test(file, several_paths_and_braces_read_each_file_once)
{
	static char *paths[] = { "b.csv", "{a,c}.csv", "*.csv" };

	fx_init("id:int name:text");
	fx.fc.paths = paths;
	fx.fc.npaths = 3;
	fx.fc.path = paths[0];
	write_text("a.csv", "id,name\n1,ann\n");
	write_text("b.csv", "id,name\n2,bob\n");
	write_text("c.csv", "id,name\n3,cy\n");
	write_text("d.txt", "id,name\n4,dee\n");
	expect_run("rec 1|'ann'\n"
		   "rec 2|'bob'\n"
		   "rec 3|'cy'\n",
		   PROV_DONE);
	fx_fini();

	/* braces alone select, and none matching names every path */
	static char *only[] = { "{a,c}.csv" };
	fx_init("id:int name:text");
	fx.fc.paths = only;
	fx.fc.npaths = 1;
	fx.fc.path = only[0];
	write_text("a.csv", "id,name\n1,ann\n");
	write_text("b.csv", "id,name\n2,bob\n");
	expect_run("rec 1|'ann'\n", PROV_DONE);
	fx_fini();

	static char *none[] = { "x.csv", "y/*.csv" };
	fx_init("id:int name:text");
	fx.fc.paths = none;
	fx.fc.npaths = 2;
	fx.fc.path = none[0];
	expect_error("error no file matches x.csv, y/*.csv",
		     PROV_FAIL_PERMANENT);
	fx_fini();
}

Test(file, csv_default_pointer_source_is_the_name)
{
	fx_init("id:int name:text");
	fx_map("name", "/name");
	write_text("a.csv", "name,id\nann,1\n");
	expect_run("rec 1|'ann'\n", PROV_DONE);
	fx_fini();
}

Test(file, csv_mapped_column_missing_fails)
{
	fx_init("id:int name:text");
	fx_map("name", "full_name");
	write_text("a.csv", "id,name\n1,x\n");
	expect_error("a.csv:1: field name is mapped to column \"full_name\", "
		     "which the header does not have (columns: id, name)",
		     PROV_FAIL_CONFIG);
	fx_fini();
}

Test(file, csv_without_header)
{
	fx_init("id:int name:text amount:float");
	fx.fc.header = false;
	fx_map("amount", "4");
	write_text("a.csv", "1,ann,x,2.5\n2,bob,y,3.5,extra\n3,cy\n");
	expect_run("rec 1|'ann'|2.5\n"
		   "rec 2|'bob'|3.5\n"
		   "rej a.csv:3 expected at least 4 columns, got 2 [3,cy]\n",
		   PROV_DONE);
	fx_fini();
}

Test(file, csv_without_header_needs_numbers)
{
	fx_init("id:int name:text");
	fx.fc.header = false;
	fx_map("name", "full_name");
	write_text("a.csv", "1,ann\n");
	expect_error("field name: with header = false the source \"full_name\" "
		     "must be a column number", PROV_FAIL_PERMANENT);
	fx_fini();
}

Test(file, csv_rejects_and_goes_on)
{
	fx_init("id:int name:text");
	write_text("a.csv",
		   "id,name\n"
		   "1,a\n"
		   "2\n"
		   "x,b\n"
		   "4,\"bad\"quote\n"
		   "5,\"e\"\n"
		   "6,\"open\n");
	expect_run("rec 1|'a'\n"
		   "rej a.csv:3 expected 2 columns, got 1 [2]\n"
		   "rej a.csv:4 field id: invalid int \"x\" [x,b]\n"
		   "rej a.csv:5 text after closing quote of field 2 [4,\"bad\"quote]\n"
		   "rec 5|'e'\n"
		   "rej a.csv:7 end of input inside quoted field 2 [6,\"open\\n]\n",
		   PROV_DONE);
	fx_fini();
}

Test(file, csv_too_many_rejects_fails)
{
	fx_init("id:int");
	fx.p.max_rejects = 1;
	write_text("a.csv", "id\nx\ny\n1\n");
	expect_error("too many rejects", PROV_FAIL_PERMANENT);
	fx_fini();
}

Test(file, csv_blank_lines)
{
	fx_init("id:int name:text");
	write_text("a.csv", "id,name\n\n1,a\n\r\n\n2,b\n\n");
	expect_run("rec 1|'a'\nrec 2|'b'\n", PROV_DONE);
	fx_fini();
}

Test(file, csv_blank_line_in_one_column_file_is_null)
{
	fx_init("name:text");
	write_text("a.csv", "name\na\n\nb\n");
	expect_run("rec 'a'\nrec NULL\nrec 'b'\n", PROV_DONE);
	fx_fini();
}

Test(file, csv_bom_and_custom_delimiter)
{
	fx_init("id:int name:text");
	fx.fc.delimiter = ';';
	fx.fc.quote = '\'';
	write_text("a.csv", "\xef\xbb\xbfid;name\n1;'x;y'\n");
	expect_run("rec 1|'x;y'\n", PROV_DONE);
	fx_fini();
}

Test(file, csv_empty_file)
{
	fx_init("id:int");
	write_text("a.csv", "");
	expect_run("", PROV_DONE);
	fx_fini();
}

Test(file, csv_invalid_utf8_is_a_reject)
{
	fx_init("id:int name:text");
	write_text("a.csv", "id,name\n1,caf\xe9\n2,ok\n");
	expect_run("rej a.csv:2 field name: invalid UTF-8 [1,caf\xe9]\n"
		   "rec 2|'ok'\n", PROV_DONE);
	fx_fini();
}

/* --- files, globs, gzip ----------------------------------------------- */

Test(file, glob_reads_in_sorted_order)
{
	fx_init("id:int");
	fx.fc.path = "in/*.csv";
	cr_assert_eq(mkdir("in", 0700), 0);
	cr_assert_eq(mkdir("in/sub.csv", 0700), 0); /* a folder: skipped */
	write_text("in/b.csv", "id\n2\n");
	write_text("in/a.csv", "id\n1\n");
	write_text("in/C.csv", "id\n0\n");
	write_text("in/c.txt", "id\n9\n");
	expect_run("rec 0\nrec 1\nrec 2\n", PROV_DONE);
	fx_fini();
}

Test(file, no_match_fails_for_good)
{
	fx_init("id:int");
	fx.fc.path = "nothing/*.csv";
	expect_error("no file matches nothing/*.csv", PROV_FAIL_PERMANENT);
	fx.fc.path = "missing.csv";
	expect_error("no file matches missing.csv", PROV_FAIL_PERMANENT);
	fx_fini();
}

Test(file, unreadable_file_fails_for_good)
{
	fx_init("id:int");
	fx.fc.path = "a.csv";
	write_text("a.csv", "id\n1\n");
	cr_assert_eq(chmod("a.csv", 0), 0);
	/* Root reads anything: run as a user the mode applies to. */
	cr_assert_eq(tu_drop_root(fx.dir), 0, "%s", strerror(errno));
	cr_assert_neq(access("a.csv", R_OK), 0);
	expect_error("a.csv: Permission denied", PROV_FAIL_PERMANENT);
	fx_fini();
}

Test(file, unknown_extension_fails)
{
	fx_init("id:int");
	fx.fc.path = "a.dat";
	write_text("a.dat", "id\n1\n");
	expect_error("a.dat: cannot tell the format", PROV_FAIL_PERMANENT);
	fx.fc.file_format = CFG_FMT_CSV;
	expect_run("rec 1\n", PROV_DONE);
	fx_fini();
}

Test(file, gzip_files)
{
	fx_init("id:int name:text");
	fx.fc.path = "*.gz";
	write_gz("a.csv.gz", "id,name\n1,a\n2,b\n");
	write_gz("b.jsonl.gz", "{\"id\":3,\"name\":\"c\"}\n");
	expect_run("rec 1|'a'\nrec 2|'b'\nrec 3|'c'\n", PROV_DONE);
	fx_fini();
}

Test(file, corrupt_gzip_fails)
{
	fx_init("id:int");
	fx.fc.path = "a.csv.gz";
	/* A gzip header, then garbage. */
	write_file("a.csv.gz", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!",
		   18);
	expect_error("a.csv.gz: bad gzip data", PROV_FAIL_PERMANENT);
	fx_fini();
}

/* --- JSON Lines ------------------------------------------------------- */

Test(file, jsonl_values)
{
	fx_init("id:int name:text amount:float ok:bool day:timestamp");
	fx.fc.path = "a.jsonl";
	fx_map("name", "/user/name");
	fx_map("amount", "/amounts/1");
	write_text("a.jsonl",
		   "{\"id\":1,\"user\":{\"name\":\"ann\"},\"amounts\":[0,2.5],"
		   "\"ok\":true,\"day\":\"2026-11-22T03:00:01Z\"}\n"
		   "\n"
		   "  \r\n"
		   "{\"id\":\"2\",\"user\":{},\"amounts\":[1,\"7\"],\"ok\":\"no\","
		   "\"day\":null}\r\n"
		   "{\"id\":3.0,\"amounts\":[1,2],\"ok\":0}");
	expect_run("rec 1|'ann'|2.5|true|2026-11-22T03:00:01Z\n"
		   "rec 2|NULL|7|false|NULL\n"
		   "rec 3|NULL|2|false|NULL\n",
		   PROV_DONE);
	fx_fini();
}

/*
 * A record's line ends at its line feed, whatever follows it on that line
 * or the next: blanks and a CR before it are the line's, anything else
 * after the object makes the line a reject, and a line feed inside the
 * object ends the line there.
 */
Test(file, jsonl_what_ends_a_line)
{
	fx_init("id:int");
	fx.fc.path = "a.jsonl";
	write_text("a.jsonl",
		   "{\"id\":1} \t\r\n"
		   "{\"id\":2}{\"id\":3}\n"
		   "{\"id\":4} x\n"
		   "{\"id\":5}\r\r\n"
		   "{\"id\" :\n6}\n"
		   "{\"id\":7}\n"
		   "{\"id\":8}  ");
	expect_run("rec 1\n"
		   "rej a.jsonl:2 invalid JSON: end of file expected near '{' "
		   "at column 9 [{\"id\":2}{\"id\":3}]\n"
		   "rej a.jsonl:3 invalid JSON: end of file expected near 'x' "
		   "at column 10 [{\"id\":4} x]\n"
		   "rec 5\n"
		   "rej a.jsonl:5 invalid JSON: unexpected token near end of "
		   "file at column 7 [{\"id\" :]\n"
		   "rej a.jsonl:6 invalid JSON: end of file expected near '}' "
		   "at column 2 [6}]\n"
		   "rec 7\n"
		   "rec 8\n",
		   PROV_DONE);
	fx_fini();
}

/*
 * Lines cut by the end of the 1 MiB read buffer at each of their bytes: a
 * blank line first, one byte longer each time, moves the cut.  Every
 * record once, in order, and the line numbers after the cut still right
 * (the last line, a reject without its line feed).
 */
Test(file, jsonl_lines_across_the_read_buffer)
{
	/* 17 bytes a line: the cut falls in the number, before the '}',
	 * in the blanks, on the CR and on the LF for one pad or another. */
	enum { LINE = 17, N = 80 };
	size_t blank = ((size_t)1 << 20) - N / 2 * LINE;

	for (size_t pad = 0; pad < LINE; pad++) {
		struct buf in = { 0 }, want = { 0 };
		char line[64];
		char *got, *data;
		int st, n;

		fx_init("id:int");
		fx.fc.path = "a.jsonl";
		cr_assert_eq(buf_reserve(&in, blank + pad + 1), 0);
		memset(in.p, ' ', blank + pad);
		in.p[blank + pad] = '\n';
		in.len = blank + pad + 1;
		for (int i = 1; i <= N; i++) {
			n = snprintf(line, sizeof line, "{\"id\":%d} \r\n",
				     1000000 + i);
			cr_assert_eq(n, LINE);
			cr_assert_eq(buf_add(&in, line, (size_t)n), 0);
			n = snprintf(line, sizeof line, "rec %d\n",
				     1000000 + i);
			cr_assert_eq(buf_add(&want, line, (size_t)n), 0);
		}
		cr_assert_eq(buf_add(&in, "{\"id\":\"x\"}", 10), 0);
		n = snprintf(line, sizeof line, "rej a.jsonl:%d field id: "
			     "invalid int \"x\" [{\"id\":\"x\"}]\n", N + 2);
		cr_assert_eq(buf_add(&want, line, (size_t)n + 1), 0);
		write_file("a.jsonl", (const char *)in.p, in.len);
		got = run_from(NULL, &st);
		data = data_lines(got);
		cr_assert_eq(st, PROV_DONE, "pad %zu: status %d", pad, st);
		cr_assert_str_eq(data, (const char *)want.p, "pad %zu", pad);
		free(data);
		free(got);
		buf_free(&in);
		buf_free(&want);
		fx_fini();
	}
}

/*
 * A line the buffer cuts just before a '{' inside it: its end, read into
 * the carry, is not a record of its own.
 */
Test(file, jsonl_cut_before_an_inner_object)
{
	/* A blank line, its line feed and "7," fill the buffer. */
	size_t blank = ((size_t)1 << 20) - 3;
	char *in = malloc(blank + 32);
	int n;

	cr_assert_not_null(in);
	memset(in, ' ', blank);
	n = snprintf(in + blank, 32, "\n7,{\"id\":1}\n{\"id\":2}\n");
	fx_init("id:int");
	fx.fc.path = "a.jsonl";
	write_file("a.jsonl", in, blank + (size_t)n);
	expect_run("rej a.jsonl:2 invalid JSON: end of file expected near ',' "
		   "at column 2 [7,{\"id\":1}]\n"
		   "rec 2\n",
		   PROV_DONE);
	free(in);
	fx_fini();
}

Test(file, jsonl_keys_and_pointer_escapes)
{
	fx_init("a:text b:text c:text");
	fx.fc.path = "a.ndjson";
	fx_map("a", "/a~1b");
	fx_map("b", "m~n");
	fx_map("c", "/m~0n");
	write_text("a.ndjson", "{\"a/b\":\"slash\",\"m~n\":\"tilde\"}\n");
	expect_run("rec 'slash'|'tilde'|'tilde'\n", PROV_DONE);
	fx_fini();
}

Test(file, jsonl_numbers_and_objects_into_text)
{
	fx_init("a:text b:text c:text d:text");
	fx.fc.path = "a.jsonl";
	write_text("a.jsonl",
		   "{\"a\":12,\"b\":0.1,\"c\":{\"x\":[1,true]},\"d\":false}\n");
	expect_run("rec '12'|'0.1'|'{\"x\":[1,true]}'|'false'\n", PROV_DONE);
	fx_fini();
}

Test(file, jsonl_rejects)
{
	fx_init("id:int");
	fx.fc.path = "a.jsonl";
	write_text("a.jsonl",
		   "{\"id\":1}\n"
		   "{\"id\":\n"
		   "[1,2]\n"
		   "17\n"
		   "{\"id\":{\"x\":1}}\n"
		   "{\"id\":1.5}\n"
		   "{\"id\":\"abc\"}\n"
		   "{\"id\":2}\n");
	expect_run("rec 1\n"
		   "rej a.jsonl:2 invalid JSON: unexpected token near end of "
		   "file at column 6 [{\"id\":]\n"
		   "rej a.jsonl:3 not a JSON object [[1,2]]\n"
		   "rej a.jsonl:4 not a JSON object [17]\n"
		   "rej a.jsonl:5 field id: cannot convert a JSON object to int "
		   "[{\"id\":{\"x\":1}}]\n"
		   "rej a.jsonl:6 field id: float 1.5 is not an integer "
		   "[{\"id\":1.5}]\n"
		   "rej a.jsonl:7 field id: invalid int \"abc\" [{\"id\":\"abc\"}]\n"
		   "rec 2\n",
		   PROV_DONE);
	fx_fini();
}

/* --- JSON arrays ------------------------------------------------------ */

/*
 * Run tests/fixtures/json_array_oracle.py: it writes file (3000 records,
 * as Python's json module writes them, at pointer) and returns what
 * Python's json.load reads back from it, as dump lines.
 */
static char *json_oracle(const char *file, const char *pointer,
			 const char *style)
{
	char cmd[1024], line[65536];
	struct buf out = { 0 };
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/json_array_oracle.py' 20261206 "
		 "'%s' '%s' '%s'", tu_srcdir(), file, pointer, style);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(buf_addstr(&out, ""), 0);
	while (fgets(line, sizeof line, p) != NULL)
		cr_assert_eq(buf_addstr(&out, line), 0);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	return (char *)buf_take(&out);
}

/* file into file.gz (zlib), and file gone. */
static void gzip_file(const char *file)
{
	char gz[256];
	size_t len;
	char *text = tu_read(file, &len);
	gzFile g;

	cr_assert_not_null(text);
	snprintf(gz, sizeof gz, "%s.gz", file);
	g = gzopen(gz, "wb");
	cr_assert_not_null(g);
	cr_assert_eq(gzwrite(g, text, (unsigned)len), (int)len);
	cr_assert_eq(gzclose(g), Z_OK);
	cr_assert_eq(unlink(file), 0);
	free(text);
}

Test(file, json_array_values_as_pythons_json_reads_them)
{
	static const char *const cases[][4] = {
		/* file, records, style, its .gz */
		{ "top.json", "", "compact", "top.json.gz" },
		{ "in.json", "/data/items", "indent", "in.json.gz" },
		{ "in2.json", "/data/items", "compact", "in2.json.gz" },
	};

	fx_init("id:int name:text amount:float deep:text");
	fx_map("deep", "/extra/deep/1");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char *want = json_oracle(cases[k][0], cases[k][1], cases[k][2]);
		int lines = 0;

		for (const char *l = want; (l = strchr(l, '\n')); l++)
			lines++;
		cr_assert_eq(lines, 3000, "%s", cases[k][0]);
		fx.fc.path = (char *)cases[k][0];
		fx.fc.records = (char *)cases[k][1];
		expect_run(want, PROV_DONE);
		/* The same bytes through gzip: elements cut by other ends. */
		gzip_file(cases[k][0]);
		fx.fc.path = (char *)cases[k][3];
		expect_run(want, PROV_DONE);
		cr_assert_eq(unlink(cases[k][3]), 0);
		free(want);
	}
	fx_fini();
}

Test(file, json_format_by_key_and_extension)
{
	fx_init("id:int");
	fx.fc.path = "a.txt";
	fx.fc.file_format = CFG_FMT_JSONL;
	fx.fc.json = true;
	write_text("a.txt", "[{\"id\":1},\n{\"id\":2}]");
	expect_run("rec 1\nrec 2\n", PROV_DONE);
	/* By extension, any case, with a UTF-8 byte order mark. */
	fx.fc.file_format = CFG_FMT_AUTO;
	fx.fc.json = false;
	fx.fc.path = "b.JSON";
	write_text("b.JSON", "\xef\xbb\xbf [ {\"id\":3} ]\r\n");
	expect_run("rec 3\n", PROV_DONE);
	fx_fini();
}

Test(file, json_empty_arrays)
{
	fx_init("id:int");
	fx.fc.path = "[ab].json";
	write_text("a.json", "[]");
	write_text("b.json", " \n[\n\n ]\n\n");
	write_text("c.json", "{\"data\": {\"items\": [], \"n\": 0}}");
	expect_run("", PROV_DONE);
	fx.fc.path = "c.json";
	fx.fc.records = "/data/items";
	expect_run("", PROV_DONE);
	fx_fini();
}

Test(file, json_brackets_quotes_and_escapes_in_elements)
{
	fx_init("id:int s:text o:text");
	fx.fc.path = "a.json";
	write_text("a.json",
		   "[{\"id\":1,\"s\":\"]},[{\\\"\",\"o\":{\"a\":[\"]\",{\"b\":\"}\"}]}},\n"
		   " {\"id\":2,\"s\":\"back\\\\\",\"o\":[]} ,{\"s\":\"\\u005d\\ud83d\\ude00\","
		   "\"id\":3}]\n");
	expect_run("rec 1|']},[{\"'|'{\"a\":[\"]\",{\"b\":\"}\"}]}'\n"
		   "rec 2|'back\\'|'[]'\n"
		   "rec 3|']\xf0\x9f\x98\x80'|NULL\n", PROV_DONE);
	fx_fini();
}

Test(file, json_rejects_name_line_and_record)
{
	fx_init("id:int");
	fx.fc.path = "a.json";
	write_text("a.json",
		   "[\n"
		   "  {\"id\": 1},\n"
		   "  {\"id\": \"abc\"},\n"
		   "  17, \"x\",\n"
		   "  {\"id\":\n"
		   "     tru},\n"
		   "  {\"id\": 2}\n"
		   "]\n");
	expect_run("rec 1\n"
		   "rej a.json:3 (record 2) field id: invalid int \"abc\" "
		   "[{\"id\": \"abc\"}]\n"
		   "rej a.json:4 (record 3) not a JSON object [17]\n"
		   "rej a.json:4 (record 4) not a JSON object [\"x\"]\n"
		   "rej a.json:5 (record 5) invalid JSON: invalid token near "
		   "'tru' at column 8 [{\"id\":\\n     tru}]\n"
		   "rec 2\n", PROV_DONE);
	fx_fini();
}

Test(file, json_not_an_array_fails_for_good)
{
	static const char *const cases[][3] = {
		/* content, records, the error */
		{ "{\"a\": 1}", "", "a.json:1: not a JSON array but an object" },
		{ "\n\n17", "", "a.json:3: not a JSON array" },
		{ "", "", "a.json:1: no JSON document: the file is empty" },
		{ "[{\"id\":1},\n{\"id\":2}", "",
		  "a.json:2: the file ends inside the JSON document" },
		{ "[{\"id\":1}]\n,", "",
		  "a.json:2: trailing characters after the JSON document: "
		  "unexpected ','" },
		{ "[{\"id\":1}] [{\"id\":2}]", "",
		  "a.json:1: trailing characters after the JSON document: "
		  "unexpected '['" },
		{ "[{\"id\":1}}", "",
		  "a.json:1: unexpected '}'" },
		{ "{\"data\": {\"items\": 1}}", "/data/items",
		  "a.json:1: not a JSON array (records = /data/items)" },
		{ "{\"data\": {\"item\": []}}", "/data/items",
		  "a.json:1: no array at the records pointer (records = /data/items)" },
		{ "[[{\"id\":1}]]", "/data/items",
		  "a.json:1: no array at the records pointer (records = /data/items)" },
		{ "{\"data\": [{\"id\":1}],\n \"x\" 1}", "/data",
		  "a.json:2: expected ':', not '1' (records = /data)" },
	};

	fx_init("id:int");
	fx.fc.path = "a.json";
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		write_text("a.json", cases[k][0]);
		fx.fc.records = (char *)cases[k][1];
		expect_error(cases[k][2], PROV_FAIL_PERMANENT);
	}
	fx_fini();
}

Test(file, json_records_pointer_escapes_and_indexes)
{
	fx_init("id:int");
	fx.fc.path = "a.json";
	write_text("a.json",
		   "{\"a/b\": {\"x\": [{\"id\": 9}]}, \"pages\": [[], "
		   "{\"m~n\\u0021\": [{\"id\": 1}, {\"id\": 2}]}]}");
	fx.fc.records = "/pages/1/m~0n!";
	expect_run("rec 1\nrec 2\n", PROV_DONE);
	fx.fc.records = "/a~1b/x";
	expect_run("rec 9\n", PROV_DONE);
	fx_fini();
}

/* --- other encodings -------------------------------------------------- */

/*
 * Run tests/fixtures/encoding_oracle.py: it writes file (20000 records of
 * kind, encoded by Python's codec) and returns what Python reads back
 * from it, as dump lines.
 */
static char *encoding_oracle(const char *file, const char *codec,
			     const char *kind)
{
	char cmd[1024], line[4096];
	struct buf out = { 0 };
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "python3 '%s/tests/fixtures/encoding_oracle.py' 20261206 "
		 "'%s' '%s' '%s'", tu_srcdir(), file, codec, kind);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(buf_addstr(&out, ""), 0);
	while (fgets(line, sizeof line, p) != NULL)
		cr_assert_eq(buf_addstr(&out, line), 0);
	cr_assert_eq(pclose(p), 0, "the oracle failed");
	return (char *)buf_take(&out);
}

Test(file, encodings_read_as_pythons_codecs_decode_them)
{
	static const char *const cases[][4] = {
		/* file, Python's codec, kind, our encoding (iconv's name) */
		{ "l1.csv", "latin-1", "csv", "ISO-8859-1" },
		{ "cp.tsv", "cp1252", "tsv", "WINDOWS-1252" },
		{ "cp.jsonl", "cp1252", "jsonl", "WINDOWS-1252" },
		{ "u16.csv", "utf-16", "csv", "UTF-16" },
		{ "u16.json", "utf-16", "json", "UTF-16" },
		{ "le.jsonl", "utf-16-le", "jsonl", "UTF-16LE" },
		/* No byte order mark: UTF-16 is little-endian. */
		{ "nobom.csv", "utf-16-le:nobom", "csv", "UTF-16" },
		{ "be.json", "utf-16-be", "json", "UTF-16BE" },
	};

	fx_init("id:int name:text");
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		char *want = encoding_oracle(cases[k][0], cases[k][1],
					     cases[k][2]);

		fx.fc.path = (char *)cases[k][0];
		fx.fc.encoding = cases[k][3];
		fx.fc.delimiter = strcmp(cases[k][2], "tsv") == 0 ? '\t' : ',';
		fx.fc.file_format = strcmp(cases[k][2], "tsv") == 0 ?
				    CFG_FMT_CSV : CFG_FMT_AUTO;
		expect_run(want, PROV_DONE);
		free(want);
	}
	fx_fini();
}

Test(file, resume_in_other_encodings)
{
	fx_init("id:int name:text");
	fx.fc.path = "*.*";
	fx.fc.encoding = "UTF-16";
	/*
	 * Python's "utf-16" encoding (a byte order mark, little-endian) of
	 * 'id,name\n1,\u00e9\n2,"\n"\nx,y\n3,\U0001F600\n',
	 * '{"id":4}\n{"id":5,"name":"\u03a9"}' and '[{"id":6},\n{"id":7}]'.
	 */
	write_file("a.csv", "\xff\xfe\x69\x00\x64\x00\x2c\x00\x6e\x00\x61\x00\x6d\x00"
		   "\x65\x00\x0a\x00\x31\x00\x2c\x00\xe9\x00\x0a\x00\x32\x00"
		   "\x2c\x00\x22\x00\x0a\x00\x22\x00\x0a\x00\x78\x00\x2c\x00"
		   "\x79\x00\x0a\x00\x33\x00\x2c\x00\x3d\xd8\x00\xde\x0a\x00",
		   56);
	write_file("b.jsonl", "\xff\xfe\x7b\x00\x22\x00\x69\x00\x64\x00\x22\x00\x3a\x00"
		   "\x34\x00\x7d\x00\x0a\x00\x7b\x00\x22\x00\x69\x00\x64\x00"
		   "\x22\x00\x3a\x00\x35\x00\x2c\x00\x22\x00\x6e\x00\x61\x00"
		   "\x6d\x00\x65\x00\x22\x00\x3a\x00\x22\x00\xa9\x03\x22\x00"
		   "\x7d\x00",
		   58);
	write_file("c.json", "\xff\xfe\x5b\x00\x7b\x00\x22\x00\x69\x00\x64\x00\x22\x00"
		   "\x3a\x00\x36\x00\x7d\x00\x2c\x00\x0a\x00\x7b\x00\x22\x00"
		   "\x69\x00\x64\x00\x22\x00\x3a\x00\x37\x00\x7d\x00\x5d\x00",
		   42);
	check_every_resume();
	fx.fc.encoding = "ISO-8859-1";
	cr_assert_eq(unlink("a.csv"), 0);
	cr_assert_eq(unlink("b.jsonl"), 0);
	cr_assert_eq(unlink("c.json"), 0);
	write_text("d.jsonl", "{\"id\":8,\"name\":\"\xe9t\xe9\"}\n"
		   "{\"id\":9,\"name\":\"\xff\"}\n");
	write_gz("e.json.gz", "[{\"id\":10,\"name\":\"\xc0\"},\n{\"id\":11}]");
	check_every_resume();
	fx_fini();
}

Test(file, bytes_invalid_in_the_encoding_fail_with_their_place)
{
	int st;
	char *out;

	fx_init("id:int name:text");
	fx.fc.path = "a.csv";
	fx.fc.encoding = "WINDOWS-1252";
	/* 0x81 is no character in windows-1252 (nor in Python's cp1252). */
	write_text("a.csv", "id,name\n1,\x80\n2,\x81x\n3,z\n");
	out = run_from(NULL, &st);
	cr_assert_eq(st, PROV_FAIL_PERMANENT, "%s", out);
	cr_assert(strstr(out, "error a.csv: byte 14 (line 3) is not valid "
			 "windows-1252") != NULL, "%s", out);
	free(out);
	fx_fini();
	/* UTF-16 cut inside a character, and an unpaired surrogate. */
	fx_init("id:int");
	fx.fc.path = "a.csv";
	fx.fc.encoding = "UTF-16LE";
	write_file("a.csv", "i\0d\0\n\0" "1\0\n\0" "2", 11);
	expect_error("a.csv: the file ends inside a utf-16le character "
		     "(line 3)", PROV_FAIL_PERMANENT);
	write_file("a.csv", "i\0d\0\n\0" "1\0\n\0" "\x00\xdc\n\0", 14);
	expect_error("a.csv: byte 10 (line 3) is not valid utf-16le",
		     PROV_FAIL_PERMANENT);
	fx_fini();
}

/* --- resuming --------------------------------------------------------- */

Test(file, resume_csv_everywhere)
{
	fx_init("id:int name:text");
	fx.fc.path = "*.csv";
	write_text("a.csv", "\xef\xbb\xbfid,name\r\n1,a\r\n2,\"b\nb\"\r\nx,bad\r\n\r\n3,c");
	write_text("b.csv", "id,name\n4,d\n5,e\n");
	check_every_resume();
	fx_fini();
}

Test(file, resume_csv_without_header)
{
	fx_init("id:int name:text");
	fx.fc.path = "a.csv";
	fx.fc.header = false;
	write_text("a.csv", "1,a\n2,b\n3,c\n");
	check_every_resume();
	fx_fini();
}

Test(file, resume_jsonl_and_gzip)
{
	fx_init("id:int name:text");
	fx.fc.path = "*.gz";
	write_gz("a.jsonl.gz", "{\"id\":1,\"name\":\"a\"}\n\n{\"id\":\"x\"}\n"
			       "{\"id\":2,\"name\":\"b\"}");
	write_gz("b.csv.gz", "id,name\n3,c\n4,d\n");
	check_every_resume();
	fx_fini();
}

Test(file, resume_json_everywhere)
{
	fx_init("id:int name:text");
	fx.fc.path = "*.json*";
	fx.fc.records = "/data/items";
	write_text("a.json",
		   "\xef\xbb\xbf{\"meta\": [\"]\", {\"items\": 0}],\n"
		   " \"data\": {\"items\": [\n"
		   "  {\"id\": 1, \"name\": \"a,]\"},\n"
		   "  {\"id\": \"x\"},\n"
		   "  {\"id\": 2,\n   \"name\": \"b\\\"\\n\"}, {\"id\": 3}\n"
		   " ], \"after\": {\"items\": [9]}}}\n");
	write_gz("b.json.gz", "{\"data\":{\"items\":[{\"id\":4},{\"id\":5}]}}");
	check_every_resume();
	fx_fini();
}

Test(file, resume_json_between_elements_only)
{
	int st;
	char *out, *ck, tok[128], *fp, *data;

	fx_init("id:int");
	fx.fc.path = "a.json";
	write_text("a.json", "[{\"id\":1},{\"id\":2}]");
	fx.p.batch = 1;
	out = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE);
	/* The first checkpoint: just after the first element, offset 9. */
	ck = strstr(out, "ckpt 1/0 file1 0 9 1 ");
	cr_assert_not_null(ck, "%s", out);
	fp = ck + strlen("ckpt 1/0 file1 0 9 1 ");
	snprintf(tok, sizeof tok, "file1 0 9 1 %.16s", fp);
	free(out);
	out = run_from(tok, &st);
	cr_assert_eq(st, PROV_DONE);
	data = data_lines(out);
	cr_assert_str_eq(data, "rec 2\n");
	free(data);
	free(out);
	/* An offset inside an element: the file is not the one read. */
	tok[strlen("file1 0 ")] = '4';
	out = run_from(tok, &st);
	cr_assert_eq(st, PROV_FAIL_PERMANENT, "%s", out);
	cr_assert(strstr(out, "a.json: no record ends at the resume point 4: "
			 "input files changed") != NULL, "%s", out);
	free(out);
	fx_fini();
}

Test(file, resume_token_of_other_files_fails)
{
	int st;
	char *out;

	fx_init("id:int");
	fx.fc.path = "*.csv";
	write_text("a.csv", "id\n1\n");
	write_text("b.csv", "id\n2\n");
	fx.p.batch = 1;
	out = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE);
	free(out);
	/* Tokens name b.csv as file 2; now file 2 is c.csv. */
	cr_assert_eq(rename("b.csv", "c.csv"), 0);
	out = run_from("file1 1 0 1 0000000000000000", &st);
	cr_assert_eq(st, PROV_FAIL_PERMANENT, "%s", out);
	cr_assert(strstr(out, "input files changed") != NULL, "%s", out);
	free(out);
	out = run_from("garbage", &st);
	cr_assert_eq(st, PROV_FAIL_PERMANENT, "%s", out);
	cr_assert(strstr(out, "bad resume token") != NULL, "%s", out);
	free(out);
	fx_fini();
}

Test(file, checkpoints_at_end_of_each_file)
{
	int st;
	char *out;

	fx_init("id:int");
	fx.fc.path = "*.csv";
	write_text("a.csv", "id\n1\n");
	write_text("b.csv", "id\n2\n");
	out = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE);
	cr_assert_str_eq(out,
			 "rec 1\n"
			 "ckpt 1/0 file1 1 0 1 71b321a5a99ce12b\n"
			 "rec 2\n"
			 "ckpt 2/0 file1 2 0 1 cbf29ce484222325\n"
			 "done\n");
	free(out);
	fx_fini();
}

/* --- check ------------------------------------------------------------ */

Test(file, check_counts_files)
{
	char msg[256];

	fx_init("id:int");
	fx.fc.path = "*.csv";
	write_text("a.csv", "id\n1\n");
	write_text("b.csv", "id\n2\n3\n");
	cr_assert_eq(file_provider_ops.check(&fx.cfg, &fx.p, msg, sizeof msg), 0);
	cr_assert_str_eq(msg, "2 files, 12 bytes");
	fx.fc.path = "a.csv";
	cr_assert_eq(file_provider_ops.check(&fx.cfg, &fx.p, msg, sizeof msg), 0);
	cr_assert_str_eq(msg, "1 file, 5 bytes");
	fx.fc.path = "none*.csv";
	cr_assert_eq(file_provider_ops.check(&fx.cfg, &fx.p, msg, sizeof msg), -1);
	cr_assert_str_eq(msg, "no file matches none*.csv");
	fx_fini();
}

/* --- bigger input ----------------------------------------------------- */

Test(file, many_rows_across_buffers)
{
	int rows = getenv("AGG_TEST_SCALE") ? 20000 : 200000, st;
	FILE *f;
	char *out;
	long long sum = 0, want = 0;

	fx_init("id:int name:text amount:float");
	fx.fc.path = "big.csv";
	f = fopen("big.csv", "w");
	cr_assert_not_null(f);
	fprintf(f, "id,name,amount\n");
	for (int k = 0; k < rows; k++) {
		fprintf(f, "%d,\"name %d with a, comma\",%d.25\n", k, k, k);
		want += k;
	}
	cr_assert_eq(fclose(f), 0);
	out = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE);
	for (const char *l = out; (l = strstr(l, "rec ")) != NULL; l += 4)
		sum += atoll(l + 4);
	cr_assert_eq(sum, want);
	free(out);
	fx_fini();
}

/* --- shipped data (gzip made by gzip(1), not by zlib in this test) ----- */

Test(file, shipped_sample_files)
{
	char *dir;

	fx_init("region:text day:timestamp amount:float customer:int");
	dir = tu_path(tu_srcdir(), "tests/data/file");
	cr_assert_eq(chdir(dir), 0, "%s", dir);
	free(dir);
	fx.fc.path = "orders*";
	expect_run("rec 'north'|2026-11-22T03:00:01Z|12.5|1\n"
		   "rec 'south, coast'|2026-11-22T03:00:00Z|0.1|2\n"
		   "rec 'east'|2026-11-23T00:00:00Z|NULL|3\n"
		   "rej orders.csv.gz:5 field day: invalid timestamp "
		   "\"not a date\" [west,not a date,7,4]\n"
		   "rec 'north'|2026-11-22T03:00:01Z|12.5|1\n"
		   "rec 'south'|2026-11-22T03:00:01.25Z|3|2\n"
		   "rec NULL|NULL|NULL|NULL\n"
		   "rec 'north'|2026-11-22T03:00:01Z|12.5|1\n"
		   "rec 'south, coast'|2026-11-22T03:00:00Z|0.1|2\n"
		   "rec 'east'|2026-11-23T00:00:00Z|NULL|3\n"
		   "rej orders_plain.csv:5 field day: invalid timestamp "
		   "\"not a date\" [west,not a date,7,4]\n",
		   PROV_DONE);
	fx_fini();
}

/* id, region, day, amount grouped by region with count(*), sum(amount). */
static void fx_init_group_by_region(void)
{
	static int by[] = { 1 };
	static struct cfg_agg aggs[] = {
		{ .kind = CFG_AGG_COUNT_STAR, .field = -1, .filter = -1 },
		{ .kind = CFG_AGG_SUM, .field = 3, .filter = -1 },
	};

	fx_init("id:int region:text day:text amount:float");
	fx.cfg.mode = CFG_MODE_GROUP;
	fx.cfg.group_by = by;
	fx.cfg.ngroup_by = 1;
	fx.cfg.aggs = aggs;
	fx.cfg.naggs = 2;
}

Test(file, group_mode_sends_only_the_fields_it_reads)
{
	fx_init_group_by_region();
	write_text("a.csv", "id,region,day,amount\n"
			    "1,r1,d1,2.5\n"
			    "x,r2,d2,1\n"
			    "3,r3,d3,4\n");
	/* id and day are still converted (a bad id is a reject), sent NULL. */
	expect_run("rec NULL|'r1'|NULL|2.5\n"
		   "rej a.csv:3 field id: invalid int \"x\" [x,r2,d2,1]\n"
		   "rec NULL|'r3'|NULL|4\n",
		   PROV_DONE);
	fx_fini();
}

/*
 * Plain records (the fast path, which encodes them straight into the
 * frame) between records it declines (quoted, rejects, too few columns,
 * blank lines, non-ASCII text), in group mode (fields left out) and with
 * checkpoints falling anywhere: the same records as the general path
 * gives, frames holding exactly their records, and every checkpoint
 * resuming to the rest.
 */
Test(file, fast_and_declined_records_share_frames)
{
	struct buf in = { 0 }, want = { 0 };
	char line[160], rec[160];

	fx_init_group_by_region();
	cr_assert_eq(buf_addstr(&in, "id,region,day,amount\n"), 0);
	cr_assert_eq(buf_addstr(&want, ""), 0);
	for (int k = 0; k < 80; k++) {
		rec[0] = '\0';
		switch (k % 8) {
		case 0:
		case 1:
		case 2:
		case 3:
			snprintf(line, sizeof line, "%d,r%d,2025-01-%02d,%d.5\n",
				 k, k, k % 28 + 1, k);
			snprintf(rec, sizeof rec, "rec NULL|'r%d'|NULL|%d.5\n",
				 k, k);
			break;
		case 4:
			snprintf(line, sizeof line, "%d,\"q,%d\",d,%d\r\n", k,
				 k, k);
			snprintf(rec, sizeof rec, "rec NULL|'q,%d'|NULL|%d\n",
				 k, k);
			break;
		case 5:
			snprintf(line, sizeof line, "x%d,r,d,1\n", k);
			snprintf(rec, sizeof rec, "rej a.csv:%d field id: "
				 "invalid int \"x%d\" [x%d,r,d,1]\n", k + 2, k,
				 k);
			break;
		case 6:
			snprintf(line, sizeof line, "%d,r\xc3\xa9,d,2\n", k);
			snprintf(rec, sizeof rec,
				 "rec NULL|'r\xc3\xa9'|NULL|2\n");
			break;
		default:
			/* A blank line: nothing, but it counts as a line. */
			snprintf(line, sizeof line, "\n");
			break;
		}
		cr_assert_eq(buf_addstr(&in, line), 0);
		cr_assert_eq(buf_addstr(&want, rec), 0);
	}
	write_text("a.csv", buf_str(&in));
	expect_run(buf_str(&want), PROV_DONE);
	check_every_resume();
	buf_free(&in);
	buf_free(&want);
	fx_fini();
}

/*
 * A record larger than a usual frame (256 KiB) travels whole in a frame of
 * its own, fast path or not, between the records around it.
 */
Test(file, csv_record_larger_than_a_usual_frame_passes_whole)
{
	size_t big = 300 * 1024;
	char *content = malloc(big + 64), *want = malloc(big + 64);
	size_t n;
	int st;

	cr_assert_not_null(content);
	cr_assert_not_null(want);
	fx_init("id:int name:text");
	n = (size_t)sprintf(content, "id,name\n1,a\n2,");
	memset(content + n, 'b', big);
	n += big;
	memcpy(content + n, "\n3,c\n", 6);
	write_text("a.csv", content);
	free(content);
	n = (size_t)sprintf(want, "rec 1|'a'\nrec 2|'");
	memset(want + n, 'b', big);
	n += big;
	strcpy(want + n, "'\nrec 3|'c'\n");
	content = run_from(NULL, &st);
	cr_assert_eq(st, PROV_DONE, "%d\n%.300s", st, content);
	cr_assert(strstr(content, want) != NULL, "%.300s", content);
	free(content);
	free(want);
	fx_fini();
}

/*
 * JSON Lines in group mode: every record goes through prov_emit() and the
 * encoding planned for the fields the group-by reads (id and day dropped).
 * Region text of every length from 0 to 40 and NULLs of both kept
 * fields, over frames that fill up (a record meets a frame's end: the
 * bounded walk), and one record larger than a frame (sized by the plan,
 * alone in its frame): each record as the plan's drop set says, none of
 * a dropped field's value anywhere.
 */
Test(file, jsonl_group_mode_records_by_plan)
{
	struct buf in = { 0 }, want = { 0 };
	size_t big = 300 * 1024;
	char line[160], rec[160], region[48], amount[32], *huge;

	fx_init_group_by_region();
	fx.fc.path = "a.jsonl";
	huge = malloc(big + 1);
	cr_assert_not_null(huge);
	memset(huge, 'b', big);
	huge[big] = '\0';
	cr_assert_eq(buf_addstr(&want, ""), 0);
	for (int k = 0; k < 12000; k++) {
		int len = k % 41;

		for (int i = 0; i < len; i++)
			region[i] = (char)('a' + (k + i) % 26);
		region[len] = '\0';
		snprintf(amount, sizeof amount, "%d.5", k);
		snprintf(line, sizeof line,
			 "{\"id\":%d,\"region\":%s%s%s,\"day\":\"2025-01-01\","
			 "\"amount\":%s}\n", k, k % 17 == 5 ? "" : "\"",
			 k % 17 == 5 ? "null" : k == 6000 ? "" : region,
			 k % 17 == 5 ? "" : "\"", k % 13 == 4 ? "null" : amount);
		snprintf(rec, sizeof rec, "rec NULL|%s%s%s|NULL|%s\n",
			 k % 17 == 5 ? "" : "'",
			 k % 17 == 5 ? "NULL" : k == 6000 ? "" : region,
			 k % 17 == 5 ? "" : "'", k % 13 == 4 ? "NULL" : amount);
		if (k == 6000) {
			/* The large one: its region in the middle. */
			char *at = strstr(line, "\"region\":\"") + 10;
			char *r = strchr(rec, '\'') + 1;

			cr_assert_eq(buf_add(&in, line, (size_t)(at - line)), 0);
			cr_assert_eq(buf_addstr(&in, huge), 0);
			cr_assert_eq(buf_addstr(&in, at), 0);
			cr_assert_eq(buf_add(&want, rec, (size_t)(r - rec)), 0);
			cr_assert_eq(buf_addstr(&want, huge), 0);
			cr_assert_eq(buf_addstr(&want, r), 0);
			continue;
		}
		cr_assert_eq(buf_addstr(&in, line), 0);
		cr_assert_eq(buf_addstr(&want, rec), 0);
	}
	write_text("a.jsonl", (const char *)in.p);
	expect_run((const char *)want.p, PROV_DONE);
	free(huge);
	buf_free(&in);
	buf_free(&want);
	fx_fini();
}

/* --- decimal, date, timestamp formats, zones ---------------------------- */

/*
 * The rec and rej lines of a run of the first provider of a config given
 * as text (fields, timezone, ...), in fx's folder.
 */
static char *run_config(const char *text)
{
	struct cfg cfg;
	struct pt_result r;
	char *dump, *data;

	cr_assert_eq(pt_config(text, &cfg), 0, "%s", text);
	dump = pt_dump_inline(&cfg, 0, NULL, 0, &r);
	cr_assert_not_null(dump);
	cr_assert(!r.bad, "%s, dump:\n%s", r.error, dump);
	cr_assert_eq(r.status, PROV_DONE, "%s", dump);
	data = data_lines(dump);
	pt_result_free(&r);
	free(dump);
	cfg_free(&cfg);
	return data;
}

#define TYPED_FIELDS                                                          \
	"fields = id:int, price:decimal(10,2), day:date, "                    \
	"at:timestamp('%d/%m/%Y %H:%M', epoch_ms), plain:timestamp\n"

Test(file, csv_decimal_date_formats_and_zone)
{
	char *got;

	fx_init("id:int");
	/* Rows 1-3 go through the fast path's reader; row 4's quotes and
	 * row 5's reject through the general one: the same values. */
	write_text("a.csv",
		   "id,price,day,at,plain\n"
		   "1,37.625,2024-02-29,31/03/2024 02:30,2024-07-01 12:00:00\n"
		   "2,-0.005,2024-01-01T23:30:00+05,1711848600000,2024-01-01T00:00:00Z\n"
		   "3, 1e3 ,2024-12-31 23:59:59,01/01/2024 00:00,2024-10-27 02:30:00\n"
		   "4,\"12.3\",\"2000-02-29\",\"27/10/2024 02:30\",\"2024-03-31 03:00:00\"\n"
		   "5,123456789,2024-01-01,01/01/2024 00:00,2024-01-01\n"
		   "6,1.5,2024-02-30,01/01/2024 00:00,2024-01-01\n"
		   "7,1.5,2024-01-01,2024-01-01 00:00,2024-01-01\n");
	got = run_config("[aggregate]\noutput = o.csv\n" TYPED_FIELDS
			 "timezone = Asia/Tokyo\n"
			 "[provider drops]\ntype = file\npath = a.csv\n"
			 "timezone = Europe/Paris\nmax_rejects = 10\n");
	cr_assert_str_eq(got,
		"rec 1|37.63|2024-02-29|2024-03-31T01:30:00Z|2024-07-01T10:00:00Z\n"
		"rec 2|-0.01|2024-01-01|2024-03-31T01:30:00Z|2024-01-01T00:00:00Z\n"
		"rec 3|1000.00|2024-12-31|2023-12-31T23:00:00Z|2024-10-27T01:30:00Z\n"
		"rec 4|12.30|2000-02-29|2024-10-27T01:30:00Z|2024-03-31T01:00:00Z\n"
		"rej a.csv:6 field price: decimal(10,2) overflow \"123456789\" "
		"[5,123456789,2024-01-01,01/01/2024 00:00,2024-01-01]\n"
		"rej a.csv:7 field day: invalid date \"2024-02-30\" "
		"[6,1.5,2024-02-30,01/01/2024 00:00,2024-01-01]\n"
		"rej a.csv:8 field at: invalid timestamp \"2024-01-01 00:00\" "
		"[7,1.5,2024-01-01,2024-01-01 00:00,2024-01-01]\n");
	free(got);
	fx_fini();
}

Test(file, jsonl_decimal_date_and_epoch_numbers)
{
	char *got;

	fx_init("id:int");
	write_text("a.jsonl",
		   "{\"id\":1,\"price\":\"12.345\",\"day\":\"2024-02-29\","
		   "\"at\":1517966773840,\"plain\":\"2024-07-01 12:00:00\"}\n"
		   "{\"id\":2,\"price\":12.345,\"day\":null,"
		   "\"at\":1517966773840.5,\"plain\":null}\n"
		   "{\"id\":3,\"price\":-7,\"at\":\"31/03/2024 02:30\"}\n"
		   "{\"id\":4,\"price\":0.1,\"at\":\"1517966773840\"}\n"
		   "{\"id\":5,\"price\":true}\n"
		   "{\"id\":6,\"price\":1e300}\n"
		   "{\"id\":7,\"day\":20240101}\n"
		   "{\"id\":8,\"price\":[1]}\n");
	got = run_config("[aggregate]\noutput = o.csv\n" TYPED_FIELDS
			 "[provider drops]\ntype = file\npath = a.jsonl\n"
			 "timezone = Europe/Paris\nmax_rejects = 10\n");
	cr_assert_str_eq(got,
		"rec 1|12.35|2024-02-29|2018-02-07T01:26:13.84Z|2024-07-01T10:00:00Z\n"
		"rec 2|12.35|NULL|2018-02-07T01:26:13.8405Z|NULL\n"
		"rec 3|-7.00|NULL|2024-03-31T01:30:00Z|NULL\n"
		"rec 4|0.10|NULL|2018-02-07T01:26:13.84Z|NULL\n"
		"rec 5|1.00|NULL|NULL|NULL\n"
		"rej a.jsonl:6 field price: decimal(10,2) overflow \"1e+300\" "
		"[{\"id\":6,\"price\":1e300}]\n"
		"rej a.jsonl:7 field day: cannot convert int 20240101 to date "
		"[{\"id\":7,\"day\":20240101}]\n"
		"rej a.jsonl:8 field price: cannot convert a JSON array to "
		"decimal(10,2) [{\"id\":8,\"price\":[1]}]\n");
	free(got);
	fx_fini();
}
