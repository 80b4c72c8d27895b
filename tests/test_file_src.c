/*
 * test_file_src.c - the file provider's inputs (providers/file_src.c): the
 * match list, the format by extension, the resume token against the list,
 * and reading a .gz file from a resume point.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "../providers/file_conf.h"
#include "../providers/file_src.h"
#include "helpers/testutil.h"

Test(file_src, matches_are_files_sorted_bytewise)
{
	char *dir = tu_tmpdir(), *glob_path = tu_path(dir, "*");
	char *names[] = { tu_path(dir, "b.csv"), tu_path(dir, "B.csv"),
			  tu_path(dir, "a.csv"), tu_path(dir, "sub") };
	struct file_conf pc = { .path = glob_path };
	struct cfg_provider p = { .type = CFG_PROV_FILE, .opts = &pc };
	const char **v = NULL;
	char msg[256];
	size_t n = 0;
	glob_t g;

	tu_write(names[0], "x\n");
	tu_write(names[1], "x\n");
	tu_write(names[2], "x\n");
	cr_assert_eq(mkdir(names[3], 0700), 0);
	cr_assert_eq(file_match(&p, &g, &v, &n, msg, sizeof msg), ST_OK, "%s",
		     msg);
	cr_assert_eq(n, 3, "a folder is no input");
	cr_assert_str_eq(v[0], names[1]);
	cr_assert_str_eq(v[1], names[2]);
	cr_assert_str_eq(v[2], names[0]);
	free(v);
	globfree(&g);

	pc.path = names[3]; /* a folder alone matches no file */
	cr_assert_eq(file_match(&p, &g, &v, &n, msg, sizeof msg),
		     PROV_FAIL_PERMANENT);
	cr_assert_not_null(strstr(msg, "no file matches"), "%s", msg);
	free(v);
	globfree(&g);
	for (int i = 0; i < 4; i++)
		free(names[i]);
	free(glob_path);
	tu_rmrf(dir);
	free(dir);
}

Test(file_src, kind_from_format_or_extension)
{
	struct file_conf pc = { .file_format = CFG_FMT_AUTO };
	struct cfg_provider p = { .type = CFG_PROV_FILE, .opts = &pc };

	cr_assert_eq(file_kind_of(&p, "x.CSV"), FILE_KIND_CSV);
	cr_assert_eq(file_kind_of(&p, "x.csv.gz"), FILE_KIND_CSV);
	cr_assert_eq(file_kind_of(&p, "x.ndjson.gz"), FILE_KIND_JSONL);
	cr_assert_eq(file_kind_of(&p, "x.jsonl"), FILE_KIND_JSONL);
	cr_assert_eq(file_kind_of(&p, "x.txt"), -1);
	pc.file_format = CFG_FMT_JSONL;
	cr_assert_eq(file_kind_of(&p, "x.csv"), FILE_KIND_JSONL);
}

Test(file_src, token_round_trip_and_changed_inputs)
{
	const char *names[] = { "/d/a.csv", "/d/b.csv" };
	const char *other[] = { "/d/a.csv", "/d/c.csv" };
	struct file_conf pc = { .path = "/d/*.csv" };
	struct cfg_provider p = { .type = CFG_PROV_FILE, .opts = &pc };
	struct prov_ctx c = { .p = &p };
	size_t idx;
	uint64_t off, line;
	int n;

	cr_assert_eq(file_token_parse(&c, names, 2, &idx, &off, &line), ST_OK);
	cr_assert(idx == 0 && off == 0 && line == 1, "no token: the start");

	n = file_token((char *)c.token, sizeof c.token, names, 2, 1, 4096, 77);
	cr_assert(n > 0 && (size_t)n < FILE_TOKEN_MAX);
	c.token_len = (size_t)n;
	cr_assert_eq(file_token_parse(&c, names, 2, &idx, &off, &line), ST_OK);
	cr_assert(idx == 1 && off == 4096 && line == 77);

	/* File 2 of the list is another file now: the inputs changed. */
	cr_assert_eq(file_token_parse(&c, other, 2, &idx, &off, &line),
		     PROV_FAIL_PERMANENT);
	cr_assert_not_null(strstr(c.errbuf, "/d/*.csv: input files changed"),
			   "%s", c.errbuf);

	/* Past the last file: the fingerprint is that of "". */
	n = file_token((char *)c.token, sizeof c.token, names, 2, 2, 0, 1);
	c.token_len = (size_t)n;
	cr_assert_eq(file_token_parse(&c, names, 2, &idx, &off, &line), ST_OK);
	cr_assert_eq(idx, 2);

	memcpy(c.token, "file1 0 x", 9);
	c.token_len = 9;
	cr_assert_eq(file_token_parse(&c, names, 2, &idx, &off, &line),
		     PROV_FAIL_PERMANENT);
	cr_assert_str_eq(c.errbuf, "bad resume token");
}

Test(file_src, gzip_reads_from_a_resume_offset)
{
	char *dir = tu_tmpdir(), *name = tu_path(dir, "d.csv.gz");
	struct prov_ctx c = { 0 };
	struct file_src s;
	gzFile gz = gzopen(name, "wb");
	char buf[64];
	size_t got;

	cr_assert_not_null(gz);
	cr_assert_eq(gzputs(gz, "0123456789abcdef"), 16);
	cr_assert_eq(gzclose(gz), Z_OK);
	cr_assert_eq(file_src_open(&c, &s, name), ST_OK, "%s", c.errbuf);
	cr_assert_eq(file_src_seek(&c, &s, 10), ST_OK, "%s", c.errbuf);
	cr_assert_eq(file_src_read(&c, &s, buf, sizeof buf, &got), ST_OK);
	cr_assert_eq(got, 6);
	cr_assert(memcmp(buf, "abcdef", 6) == 0);
	cr_assert_eq(s.off, 16, "offsets count decompressed bytes");
	cr_assert_eq(file_src_read(&c, &s, buf, sizeof buf, &got), ST_OK);
	cr_assert_eq(got, 0);
	file_src_close(&s);
	file_src_close(&s);
	free(name);
	tu_rmrf(dir);
	free(dir);
}
