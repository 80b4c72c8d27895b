/*
 * test_output.c - the writers behind aggregator/output.h: CSV and JSON Lines
 * byte for byte, the SQLite writer's transaction, and out_describe()
 * (the table outputs end to end are in test_dbout.c).
 *
 * Every test builds a struct cfg by hand, writes into a fresh temporary
 * folder and compares the exact bytes of the result; the atomic-write tests
 * look at the folder's listing between the steps.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../aggregator/output.h"
#include "helpers/testutil.h"

static char *tmpdir;
static char outpath[512];

static void make_tmpdir(void)
{
	tmpdir = tu_tmpdir();
}

static void remove_tmpdir(void)
{
	tu_tmpdir_free(&tmpdir);
}

TestSuite(output, .init = make_tmpdir, .fini = remove_tmpdir);

static void set_cfg(struct cfg *cfg, const char *name, enum cfg_format fmt)
{
	memset(cfg, 0, sizeof(*cfg));
	if (strcmp(name, "-") == 0)
		snprintf(outpath, sizeof(outpath), "-");
	else
		snprintf(outpath, sizeof(outpath), "%s/%s", tmpdir, name);
	cfg->output = outpath;
	cfg->format = fmt;
}

/* The whole file, NUL-terminated; *len its size.  Caller frees. */
static char *slurp(const char *path, size_t *len)
{
	char *buf = tu_read(path, len);

	cr_assert_not_null(buf, "open %s: %s", path, strerror(errno));
	return buf;
}

static void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static int count_entries(void)
{
	int n = tu_count_entries(tmpdir);

	cr_assert_geq(n, 0, "%s: %s", tmpdir, strerror(errno));
	return n;
}

static struct rec_value T(const char *s)
{
	struct rec_value v = { .null = false };

	v.u.s.p = s;
	v.u.s.len = (uint32_t)strlen(s);
	return v;
}

static struct rec_value TN(const char *s, size_t n)
{
	struct rec_value v = { .null = false };

	v.u.s.p = s;
	v.u.s.len = (uint32_t)n;
	return v;
}

static struct rec_value I(int64_t i)
{
	struct rec_value v = { .null = false };

	v.u.i = i;
	return v;
}

static struct rec_value F(double f)
{
	struct rec_value v = { .null = false };

	v.u.f = f;
	return v;
}

static struct rec_value B(bool b)
{
	struct rec_value v = { .null = false };

	v.u.b = b;
	return v;
}

static const struct rec_value N = { .null = true };

static const struct out_col cols5[] = {
	{ .name = "name", .type = REC_TEXT },
	{ .name = "n", .type = REC_INT },
	{ .name = "x", .type = REC_FLOAT },
	{ .name = "ok", .type = REC_BOOL },
	{ .name = "at", .type = REC_TIMESTAMP },
};

/* 2026-11-22T03:00:01Z in microseconds since the epoch. */
#define TS_2026 INT64_C(1795316401000000)

/* Rows covering every type, NULLs, quoting and the float forms. */
static void write_rows5(struct out_writer *w)
{
	char err[256] = "";
	struct rec_value rows[][5] = {
		{ T("plain"), I(1), F(0.1), B(true), I(TS_2026) },
		{ N, N, N, N, N },
		{ T(""), I(-42), F(1e300), B(false), I(TS_2026 + 250000) },
		{ T("a,b"), I(INT64_MAX), F(-0.0), B(true), I(0) },
		{ T("say \"hi\""), I(INT64_MIN), F(3.0), N, I(-1) },
		{ T("line1\nline2"), I(0), F(-2.5e-7), B(false), N },
		{ T("cr\rhere"), N, F(123456789012.0), N, N },
		{ T(" padded "), N, N, N, N },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert_eq(out_row(w, rows[i], err, sizeof(err)), 0, "%s",
			     err);
}

Test(output, csv_every_type_exact_bytes)
{
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	char *got;

	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols5, 5, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	write_rows5(w);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got,
			 "name,n,x,ok,at\n"
			 "plain,1,0.1,true,2026-11-22T03:00:01Z\n"
			 ",,,,\n"
			 "\"\",-42,1e+300,false,2026-11-22T03:00:01.25Z\n"
			 "\"a,b\",9223372036854775807,-0,true,"
			 "1970-01-01T00:00:00Z\n"
			 "\"say \"\"hi\"\"\",-9223372036854775808,3,,"
			 "1969-12-31T23:59:59.999999Z\n"
			 "\"line1\nline2\",0,-2.5e-07,false,\n"
			 "\"cr\rhere\",,123456789012,,\n"
			 " padded ,,,,\n");
	free(got);
}

Test(output, jsonl_every_type_exact_bytes)
{
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	char *got;

	set_cfg(&cfg, "out.jsonl", CFG_FMT_JSONL);
	w = out_open(&cfg, cols5, 5, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	write_rows5(w);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(
		got,
		"{\"name\":\"plain\",\"n\":1,\"x\":0.1,\"ok\":true,"
		"\"at\":\"2026-11-22T03:00:01Z\"}\n"
		"{\"name\":null,\"n\":null,\"x\":null,\"ok\":null,\"at\":null}\n"
		"{\"name\":\"\",\"n\":-42,\"x\":1e+300,\"ok\":false,"
		"\"at\":\"2026-11-22T03:00:01.25Z\"}\n"
		"{\"name\":\"a,b\",\"n\":9223372036854775807,\"x\":-0,"
		"\"ok\":true,\"at\":\"1970-01-01T00:00:00Z\"}\n"
		"{\"name\":\"say \\\"hi\\\"\",\"n\":-9223372036854775808,"
		"\"x\":3,\"ok\":null,\"at\":\"1969-12-31T23:59:59.999999Z\"}\n"
		"{\"name\":\"line1\\nline2\",\"n\":0,\"x\":-2.5e-07,"
		"\"ok\":false,\"at\":null}\n"
		"{\"name\":\"cr\\rhere\",\"n\":null,\"x\":123456789012,"
		"\"ok\":null,\"at\":null}\n"
		"{\"name\":\" padded \",\"n\":null,\"x\":null,\"ok\":null,"
		"\"at\":null}\n");
	free(got);
}

Test(output, jsonl_escapes_control_and_replaces_invalid_utf8)
{
	static const struct out_col cols[] = { { .name = "s", .type = REC_TEXT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	char *got;
	/* Valid: 2-, 3- and 4-byte sequences, kept as they are. */
	const char *valid = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";
	const char ctl[] = "\x01\t\b\f\\/\x1f\x7f";
	struct rec_value rows[][1] = {
		{ T(valid) },
		{ TN(ctl, sizeof(ctl) - 1) },
		{ TN("a\0b", 3) },
		/* lone byte 0xFF; truncated E2 82; overlong C0 AF */
		{ T("x\xFFy\xE2\x82z\xC0\xAF") },
		/* surrogate ED A0 80; F4 90 past U+10FFFF; truncated at end */
		{ T("\xED\xA0\x80|\xF4\x90\x80\x80|\xF0\x9F\x98") },
	};
	size_t i;

	set_cfg(&cfg, "u.jsonl", CFG_FMT_JSONL);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		cr_assert_eq(out_row(w, rows[i], err, sizeof(err)), 0);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	got = slurp(outpath, NULL);
#define R "\xEF\xBF\xBD"
	cr_assert_str_eq(got,
			 "{\"s\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"}\n"
			 "{\"s\":\"\\u0001\\t\\b\\f\\\\/\\u001f\x7f\"}\n"
			 "{\"s\":\"a\\u0000b\"}\n"
			 "{\"s\":\"x" R "y" R "z" R R "\"}\n"
			 "{\"s\":\"" R R R "|" R R R R "|" R "\"}\n");
#undef R
	free(got);
}

Test(output, csv_quotes_header_names_and_big_fields)
{
	static const struct out_col cols[] = { { .name = "a,b", .type = REC_TEXT },
					       { .name = "c", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	size_t big = 3 * 1024 * 1024 + 17, i, len, pos;
	char *text = malloc(big), *got;
	struct rec_value row[2];

	cr_assert_not_null(text);
	/* Quotes everywhere: every one doubles, across buffer flushes. */
	for (i = 0; i < big; i++)
		text[i] = i % 7 == 0 ? '"' : (char)('a' + i % 26);
	set_cfg(&cfg, "big.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols, 2, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	row[0] = TN(text, big);
	row[1] = I(7);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	got = slurp(outpath, &len);
	cr_assert_eq(memcmp(got, "\"a,b\",c\n\"", 9), 0);
	pos = 9;
	for (i = 0; i < big; i++) {
		cr_assert_eq(got[pos], text[i], "byte %zu", i);
		pos++;
		if (text[i] == '"') {
			cr_assert_eq(got[pos], '"', "quote %zu not doubled", i);
			pos++;
		}
	}
	cr_assert_eq(len - pos, 4);
	cr_assert_eq(memcmp(got + pos, "\",7\n", 4), 0);
	free(got);
	free(text);
}

/*
 * Which fields are quoted, against the rule spelled out byte by byte: a
 * special byte (or a harmless one below ',' or at '-') at every position
 * of fields of 1-24 bytes, so that each of the writer's 8-byte words and
 * its tail sees each.
 */
Test(output, csv_quotes_exactly_the_fields_with_special_bytes)
{
	static const struct out_col cols[] = { { .name = "s", .type = REC_TEXT } };
	static const char probe[] = { ',', '"', '\n', '\r', '+', '-', '!',
				      '\t', ' ', '.', '0' };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	size_t cap = 1 << 20, len = 0, got_len;
	char *want = malloc(cap), *got, text[24];

	cr_assert_not_null(want);
	set_cfg(&cfg, "quotes.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	len += (size_t)sprintf(want + len, "s\n");
	for (size_t n = 1; n <= sizeof text; n++) {
		for (size_t at = 0; at < n; at++) {
			for (size_t k = 0; k < sizeof probe; k++) {
				char c = probe[k];
				bool quote = c == ',' || c == '"' ||
					     c == '\n' || c == '\r';
				struct rec_value row[1];

				memset(text, 'x', n);
				text[at] = c;
				row[0] = TN(text, n);
				cr_assert_eq(out_row(w, row, err, sizeof(err)),
					     0, "%s", err);
				if (quote)
					want[len++] = '"';
				for (size_t i = 0; i < n; i++) {
					want[len++] = text[i];
					if (text[i] == '"')
						want[len++] = '"';
				}
				if (quote)
					want[len++] = '"';
				want[len++] = '\n';
			}
		}
	}
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	got = slurp(outpath, &got_len);
	cr_assert_eq(got_len, len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu", i);
	free(got);
	free(want);
}

Test(output, target_untouched_until_commit)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	struct rec_value row[1] = { I(5) };
	char *got;
	int i;

	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	spit(outpath, "old\n");
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	/* Big enough to reach the file, not just the buffer. */
	for (i = 0; i < 300000; i++)
		cr_assert_eq(out_row(w, row, err, sizeof(err)), 0);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "old\n");
	free(got);
	cr_assert_eq(count_entries(), 2, "the temporary is next to it");
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(count_entries(), 1, "no temporary left");
	got = slurp(outpath, NULL);
	cr_assert_eq(strncmp(got, "n\n5\n5\n", 6), 0);
	cr_assert_eq(strlen(got), 2 + 300000 * 2);
	free(got);
}

Test(output, abort_leaves_target_and_no_temporary)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	struct rec_value row[1] = { I(5) };
	char *got;
	int i;

	set_cfg(&cfg, "out.jsonl", CFG_FMT_JSONL);
	spit(outpath, "old\n");
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	for (i = 0; i < 200000; i++)
		cr_assert_eq(out_row(w, row, err, sizeof(err)), 0);
	cr_assert_eq(count_entries(), 2);
	out_abort(w);
	cr_assert_eq(count_entries(), 1);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "old\n");
	free(got);
	out_abort(NULL);
}

Test(output, abort_without_prior_output_leaves_nothing)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;

	set_cfg(&cfg, "new.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	out_abort(w);
	cr_assert_eq(count_entries(), 0);
}

static mode_t mode_with_umask(mode_t mask)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	struct stat st;
	mode_t old = umask(mask);

	set_cfg(&cfg, "m.csv", CFG_FMT_CSV);
	unlink(outpath);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	umask(old);
	cr_assert_eq(stat(outpath, &st), 0);
	return st.st_mode & 0777;
}

Test(output, new_file_mode_follows_umask)
{
	cr_assert_eq(mode_with_umask(022), 0644);
	cr_assert_eq(mode_with_umask(077), 0600);
	cr_assert_eq(mode_with_umask(002), 0664);
}

Test(output, missing_folder_is_named)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "", want[600];

	set_cfg(&cfg, "nope/sub/out.csv", CFG_FMT_CSV);
	cr_assert_null(out_open(&cfg, cols, 1, err, sizeof(err)));
	snprintf(want, sizeof(want), "output folder %s/nope/sub does not exist",
		 tmpdir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(count_entries(), 0);
}

Test(output, sqlite_abort_leaves_no_database_and_commit_writes_rows)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT },
					       { .name = "s", .type = REC_TEXT } };
	struct rec_value row[2] = { I(42), T("x") };
	struct out_writer *w;
	struct cfg cfg;
	char err[256] = "";

	set_cfg(&cfg, "out.db", CFG_FMT_SQLITE);
	w = out_open(&cfg, cols, 2, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0, "%s", err);
	out_abort(w);
	cr_assert_eq(count_entries(), 0);

	w = out_open(&cfg, cols, 2, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(count_entries(), 1);
}

Test(output, describe_never_shows_a_password)
{
	struct cfg cfg;
	char buf[512];

	memset(&cfg, 0, sizeof(cfg));
	cfg.format = CFG_FMT_POSTGRES;
	cfg.table = "s.t";
	cfg.output = "host=/run/pg dbname=wh user=agg password=s3cret port=5433";
	out_describe(&cfg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "table s.t (dbname=wh host=/run/pg port=5433 user=agg)");
	cfg.output = "postgresql://agg:s3cret@db.example/wh";
	out_describe(&cfg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "table s.t (dbname=wh host=db.example user=agg)");
	cfg.format = CFG_FMT_SQLITE;
	cfg.output = "out.db";
	cfg.table = NULL;
	out_describe(&cfg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "table aggregate in out.db");
	cfg.format = CFG_FMT_CSV;
	cfg.output = "-";
	out_describe(&cfg, buf, sizeof(buf));
	cr_assert_str_eq(buf, "stdout");
}

Test(output, dash_writes_stdout_without_temporary)
{
	static const struct out_col cols[] = { { .name = "s", .type = REC_TEXT },
					       { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "", path[600];
	struct out_writer *w;
	struct rec_value row[2] = { T("x y"), I(-3) };
	int saved, fd;
	char *got;

	snprintf(path, sizeof(path), "%s/captured", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fd, STDOUT_FILENO), 0);
	close(fd);

	set_cfg(&cfg, "-", CFG_FMT_JSONL);
	w = out_open(&cfg, cols, 2, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);

	cr_assert_geq(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	cr_assert_eq(count_entries(), 1, "only the capture file");
	got = slurp(path, NULL);
	cr_assert_str_eq(got, "{\"s\":\"x y\",\"n\":-3}\n");
	free(got);
}

Test(output, write_error_is_reported_and_cleaned_up)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	struct rec_value row[1] = { I(123456) };
	struct rlimit rl = { 64 * 1024, 64 * 1024 };
	int i, rc = 0;
	char *got;

	/* Each test runs in its own process: the limit dies with it. */
	signal(SIGXFSZ, SIG_IGN);
	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	spit(outpath, "old\n");
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	for (i = 0; i < 400000 && rc == 0; i++)
		rc = out_row(w, row, err, sizeof(err));
	if (rc == 0) {
		cr_assert_eq(out_commit(w, err, sizeof(err)), -1);
	} else {
		cr_assert_eq(rc, -1);
		out_abort(w);
	}
	cr_assert(strstr(err, "cannot write ") != NULL, "%s", err);
	cr_assert(strstr(err, "File too large") != NULL, "%s", err);
	cr_assert_eq(count_entries(), 1);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "old\n");
	free(got);
}

Test(output, commit_failure_removes_temporary)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "";
	struct out_writer *w;
	struct rec_value row[1] = { I(1) };
	struct rlimit rl = { 10, 10 };

	/* The rows fit the buffer; only the final flush meets the limit. */
	signal(SIGXFSZ, SIG_IGN);
	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(out_row(w, row, err, sizeof(err)), 0);
	cr_assert_eq(out_commit(w, err, sizeof(err)), -1);
	cr_assert(strstr(err, "File too large") != NULL, "%s", err);
	cr_assert_eq(count_entries(), 0);
}

/* --- what the output path is: symlink, FIFO, device ----------------- */

/* One CSV row "n\n7\n" into cfg's output; returns out_commit()'s status. */
static int write_n7(struct cfg *cfg, char *err, size_t errlen)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct rec_value row[1] = { I(7) };
	struct out_writer *w = out_open(cfg, cols, 1, err, errlen);

	if (w == NULL)
		return -1;
	cr_assert_eq(out_row(w, row, err, errlen), 0, "%s", err);
	return out_commit(w, err, errlen);
}

Test(output, symlink_target_is_replaced_and_the_link_stays)
{
	struct cfg cfg;
	char err[256] = "", target[600], link[600], *got;
	struct stat st;

	snprintf(target, sizeof target, "%s/real.csv", tmpdir);
	snprintf(link, sizeof link, "%s/link.csv", tmpdir);
	spit(target, "old\n");
	cr_assert_eq(symlink("real.csv", link), 0);
	set_cfg(&cfg, "link.csv", CFG_FMT_CSV);
	cr_assert_eq(write_n7(&cfg, err, sizeof err), 0, "%s", err);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	got = slurp(target, NULL);
	cr_assert_str_eq(got, "n\n7\n");
	free(got);
	cr_assert_eq(count_entries(), 2, "no temporary left");
}

Test(output, dangling_symlink_gets_its_target_created)
{
	struct cfg cfg;
	char err[256] = "", sub[600], link[600], target[700], *got;
	struct stat st;

	snprintf(sub, sizeof sub, "%s/sub", tmpdir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(link, sizeof link, "%s/link.csv", tmpdir);
	snprintf(target, sizeof target, "%s/new.csv", sub);
	cr_assert_eq(symlink("sub/new.csv", link), 0);
	set_cfg(&cfg, "link.csv", CFG_FMT_CSV);
	cr_assert_eq(write_n7(&cfg, err, sizeof err), 0, "%s", err);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the symlink was replaced");
	got = slurp(target, NULL);
	cr_assert_str_eq(got, "n\n7\n");
	free(got);
	unlink(target);
	rmdir(sub);
}

Test(output, fifo_is_written_as_a_stream)
{
	struct cfg cfg;
	char err[256] = "", fifo[600], got[64];
	struct stat st;
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t reader;

	snprintf(fifo, sizeof fifo, "%s/out.csv", tmpdir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(pipe(fds), 0);
	/* The reader: copies what comes through the FIFO into a pipe. */
	reader = fork();
	cr_assert_geq(reader, 0);
	if (reader == 0) {
		char buf[64];
		int in = open(fifo, O_RDONLY);

		close(fds[0]);
		while (in >= 0 && (n = read(in, buf, sizeof buf)) > 0)
			if (write(fds[1], buf, (size_t)n) != n)
				_exit(1);
		_exit(in >= 0 ? 0 : 1);
	}
	close(fds[1]);
	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	cr_assert_eq(write_n7(&cfg, err, sizeof err), 0, "%s", err);
	if (lstat(fifo, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		/* Replaced: the reader would wait for a writer for ever. */
		kill(reader, SIGKILL);
		waitpid(reader, &status, 0);
		cr_assert_fail("the FIFO was replaced by a file");
	}
	while ((n = read(fds[0], got + len, sizeof got - 1 - len)) > 0)
		len += (size_t)n;
	got[len] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(reader, &status, 0), reader);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_str_eq(got, "n\n7\n", "the reader got the rows");
	cr_assert_eq(lstat(fifo, &st), 0);
	cr_assert(S_ISFIFO(st.st_mode), "the FIFO was replaced");
	cr_assert_eq(count_entries(), 1, "no temporary beside the FIFO");
}

Test(output, character_device_is_written_as_a_stream)
{
	struct cfg cfg;
	char err[256] = "", dev[600];
	struct stat st;

	/* /dev/null's twin in our folder (as root, as CI runs); else itself. */
	snprintf(dev, sizeof dev, "%s/null.csv", tmpdir);
	if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
		set_cfg(&cfg, "null.csv", CFG_FMT_CSV);
	} else {
		cr_assert_eq(errno, EPERM, "mknod: %s", strerror(errno));
		snprintf(dev, sizeof dev, "/dev/null");
		memset(&cfg, 0, sizeof cfg);
		cfg.output = "/dev/null";
		cfg.format = CFG_FMT_CSV;
	}
	cr_assert_eq(write_n7(&cfg, err, sizeof err), 0, "%s", err);
	cr_assert_eq(lstat(dev, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "%s is no longer a device", dev);
	cr_assert_eq(st.st_rdev, makedev(1, 3));
	cr_assert_eq(count_entries(), strcmp(dev, "/dev/null") ? 1 : 0,
		     "no temporary beside the device");
}

Test(output, folder_and_socket_are_refused)
{
	struct cfg cfg;
	char err[256] = "", sub[600];

	snprintf(sub, sizeof sub, "%s/d.csv", tmpdir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	set_cfg(&cfg, "d.csv", CFG_FMT_CSV);
	cr_assert_eq(write_n7(&cfg, err, sizeof err), -1);
	cr_assert(strstr(err, "is a folder"), "%s", err);
	rmdir(sub);
}

Test(output, temporary_says_whose_it_is)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct cfg cfg;
	char err[256] = "", want[64];
	struct out_writer *w;
	struct dirent *e;
	DIR *d;
	int seen = 0;

	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	snprintf(want, sizeof want, ".out.csv.aggregate-%ld.", (long)getpid());
	d = opendir(tmpdir);
	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || strcmp(e->d_name, ".") == 0 ||
		    strcmp(e->d_name, "..") == 0)
			continue;
		else if (strncmp(e->d_name, want, strlen(want)) == 0 &&
			 strlen(e->d_name) == strlen(want) + 6)
			seen++;
		else
			cr_assert_fail("unexpected %s", e->d_name);
	closedir(d);
	cr_assert_eq(seen, 1, "the temporary is %s + 6 characters", want);
	out_abort(w);
	cr_assert_eq(count_entries(), 0);
}

/* --- write = append ------------------------------------------------- */

/* Open cfg's output for append with columns n, s; write rows (n, s). */
static struct out_writer *append_open(struct cfg *cfg, char *err, size_t len)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT },
					       { .name = "s", .type = REC_TEXT } };

	cfg->write = CFG_WRITE_APPEND;
	return out_open(cfg, cols, 2, err, len);
}

static void append_rows(struct out_writer *w, int from, int to)
{
	char err[256] = "", s[16];

	for (int i = from; i <= to; i++) {
		struct rec_value row[2];

		snprintf(s, sizeof s, "r%d", i);
		row[0] = I(i);
		row[1] = T(s);
		cr_assert_eq(out_row(w, row, err, sizeof err), 0, "%s", err);
	}
}

Test(output, csv_append_keeps_old_rows_and_writes_the_header_once)
{
	struct cfg cfg;
	char err[256] = "", *got;
	struct out_writer *w;

	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	/* A new file: the header, then the rows. */
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 1, 2);
	cr_assert_eq(out_commit(w, err, sizeof err), 0, "%s", err);
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 3, 3);
	cr_assert_eq(out_commit(w, err, sizeof err), 0, "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "n,s\n1,r1\n2,r2\n3,r3\n");
	free(got);
	cr_assert_eq(count_entries(), 1, "no temporary left");

	/* An empty file gets the header; a last line without \n gets one. */
	spit(outpath, "");
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 1, 1);
	cr_assert_eq(out_commit(w, err, sizeof err), 0, "%s", err);
	spit(outpath, "n,s\n0,r0");
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 1, 1);
	cr_assert_eq(out_commit(w, err, sizeof err), 0, "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "n,s\n0,r0\n1,r1\n");
	free(got);
}

Test(output, csv_append_with_another_header_fails_and_changes_nothing)
{
	struct cfg cfg;
	char err[256] = "", *got;

	set_cfg(&cfg, "out.csv", CFG_FMT_CSV);
	spit(outpath, "n,t\n1,x\n");
	cr_assert_null(append_open(&cfg, err, sizeof err));
	cr_assert(strstr(err, "its header is 'n,t', this run's is 'n,s'"),
		  "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "n,t\n1,x\n");
	free(got);
	/* A header that only begins like ours is another header too. */
	spit(outpath, "n,s,u\n1,x,y\n");
	cr_assert_null(append_open(&cfg, err, sizeof err));
	cr_assert_eq(count_entries(), 1, "no temporary left");
}

Test(output, jsonl_append_keeps_old_rows_and_a_failed_run_changes_nothing)
{
	struct cfg cfg;
	char err[256] = "", *got;
	struct out_writer *w;
	const char *old = "{\"n\":0,\"s\":\"r0\"}\n";

	set_cfg(&cfg, "out.jsonl", CFG_FMT_JSONL);
	spit(outpath, old);
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 1, 300000);
	out_abort(w);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, old, "an aborted append left the file as it was");
	free(got);
	cr_assert_eq(count_entries(), 1);
	w = append_open(&cfg, err, sizeof err);
	cr_assert_not_null(w, "%s", err);
	append_rows(w, 1, 1);
	cr_assert_eq(out_commit(w, err, sizeof err), 0, "%s", err);
	got = slurp(outpath, NULL);
	cr_assert_str_eq(got, "{\"n\":0,\"s\":\"r0\"}\n{\"n\":1,\"s\":\"r1\"}\n");
	free(got);
}

Test(output, sqlite_through_a_dangling_symlink_keeps_the_link)
{
	static const struct out_col cols[] = { { .name = "n", .type = REC_INT } };
	struct rec_value row[1] = { I(42) };
	struct out_writer *w;
	struct cfg cfg;
	char err[256] = "", link[600], target[600];
	struct stat st;

	snprintf(link, sizeof link, "%s/link.db", tmpdir);
	snprintf(target, sizeof target, "%s/real.db", tmpdir);
	cr_assert_eq(symlink("real.db", link), 0);
	set_cfg(&cfg, "link.db", CFG_FMT_SQLITE);
	/* A failed first run removes the database it made, not the link. */
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0, "%s", err);
	out_abort(w);
	cr_assert_eq(lstat(link, &st), 0, "the symlink was removed");
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(count_entries(), 1, "only the link");
	w = out_open(&cfg, cols, 1, err, sizeof(err));
	cr_assert_not_null(w, "%s", err);
	cr_assert_eq(out_row(w, row, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(out_commit(w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode));
	cr_assert_eq(stat(target, &st), 0, "the database is the target");
	cr_assert(S_ISREG(st.st_mode));
}
