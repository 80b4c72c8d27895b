/*
 * test_file_glob.c - "**" in the file provider's paths
 * (providers/file_glob.c through file_match): the match list is the one
 * Python's glob.glob(pattern, recursive=True) gives on the same tree
 * (its regular files, sorted), hidden names and links to folders
 * included; braces expand around and across "**"; a link back up does
 * not loop.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../providers/file_conf.h"
#include "../providers/file_src.h"
#include "helpers/testutil.h"

static char *dir;

/* A tree with hidden names, odd characters and a link to a folder. */
static void make_tree(void)
{
	static const char *const files[] = {
		"top.csv", "data/a.csv", "data/.h.csv", "data/.hid/c.csv",
		"data/x/b.txt", "data/x/y/b.csv", "data/x/y/z/d.csv",
		"data/sp ace/e.csv", "data/br{a,b}/f.csv", "data/st*r/g.csv",
		"data/q[1]/h.csv", "other/x/y/i.csv", "data/x/.y/j.csv",
	};

	dir = tu_tmpdir();
	cr_assert_eq(chdir(dir), 0);
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		char path[256];

		snprintf(path, sizeof path, "%s", files[k]);
		for (char *s = path; (s = strchr(s, '/')) != NULL; s++) {
			*s = '\0';
			(void)mkdir(path, 0755);
			*s = '/';
		}
		tu_write(path, "x\n");
	}
	/* A link to a folder that is not above it: followed. */
	cr_assert_eq(symlink("x/y", "data/lnk"), 0);
	cr_assert_eq(symlink("../a.csv", "data/x/alink.csv"), 0);
}

static void drop_tree(void)
{
	if (chdir("/") != 0)
		cr_log_warn("chdir / failed");
	tu_rmrf(dir);
	free(dir);
}

/*
 * Python's glob.glob(pattern, recursive=True) of each pattern: its files,
 * sorted, each once (Python gives a file once per way "**" reaches it),
 * one name a line, each pattern's list ended by "--".
 */
static char *python_glob(const char *const *patterns, size_t n)
{
	struct buf cmd = { 0 }, out = { 0 };
	char line[1024];
	FILE *p;

	cr_assert_eq(buf_addstr(&cmd, "python3 -c 'import glob, os, sys\n"
		     "for p in sys.argv[1:]:\n"
		     "    for n in sorted(set(n for n in glob.glob(p, "
		     "recursive=True) if os.path.isfile(n))): print(n)\n"
		     "    print(\"--\")'"), 0);
	for (size_t k = 0; k < n; k++)
		cr_assert(buf_addstr(&cmd, " '") == 0 &&
			  buf_addstr(&cmd, patterns[k]) == 0 &&
			  buf_addstr(&cmd, "'") == 0);
	cr_assert_eq(buf_add(&cmd, "", 1), 0);
	p = popen((const char *)cmd.p, "r");
	cr_assert_not_null(p);
	cr_assert_eq(buf_addstr(&out, ""), 0);
	while (fgets(line, sizeof line, p) != NULL)
		cr_assert_eq(buf_addstr(&out, line), 0);
	cr_assert_eq(pclose(p), 0);
	buf_free(&cmd);
	return (char *)buf_take(&out);
}

/* The match list of the paths given, one name a line. */
static char *our_glob(char **paths, int npaths)
{
	struct file_conf pc = { .path = paths[0], .paths = paths,
				.npaths = npaths };
	struct cfg_provider p = { .type = CFG_PROV_FILE, .opts = &pc };
	const char **v = NULL;
	struct buf out = { 0 };
	char msg[512];
	size_t n = 0;
	glob_t g;

	cr_assert_eq(buf_addstr(&out, ""), 0);
	if (file_match(&p, &g, &v, &n, msg, sizeof msg) == ST_OK)
		for (size_t i = 0; i < n; i++)
			cr_assert(buf_addstr(&out, v[i]) == 0 &&
				  buf_addstr(&out, "\n") == 0);
	else
		cr_assert_not_null(strstr(msg, "no file matches"), "%s", msg);
	free(v);
	globfree(&g);
	return (char *)buf_take(&out);
}

Test(file_glob, matches_as_python_glob_recursive)
{
	/* Ours, and the same for Python (which has no braces, no escapes). */
	static const char *const patterns[][2] = {
		{ "data/**/*.csv", NULL }, { "**/*.csv", NULL },
		{ "data/**", NULL }, { "**", NULL },
		{ "data/**/y/*.csv", NULL }, { "d*/**/b.*", NULL },
		{ "data/x/**/*.csv", NULL }, { "data/**/**/*.csv", NULL },
		{ "data/.hid/**/*.csv", NULL }, { "data/**/.h*", NULL },
		{ "*/**/y/**", NULL }, { "data/**/x", NULL },
		{ "data/br\\{a,b\\}/**", "data/br{a,b}/**" },
		{ "data/st\\*r/**", "data/st[*]r/**" },
		{ "data/q\\[1]/**", "data/q[[]1]/**" },
		{ "data/**/*[._]csv", NULL }, { "nothing/**/*.csv", NULL },
		{ "**/i.csv", NULL }, { "data/lnk/**", NULL },
	};
	const size_t n = sizeof patterns / sizeof patterns[0];
	const char *py[sizeof patterns / sizeof patterns[0]];
	char *want, *w;

	make_tree();
	for (size_t k = 0; k < n; k++)
		py[k] = patterns[k][1] ? patterns[k][1] : patterns[k][0];
	want = python_glob(py, n);
	w = want;
	for (size_t k = 0; k < n; k++) {
		char *path = (char *)patterns[k][0], *got = our_glob(&path, 1);
		char *end = strstr(w, "--\n");

		cr_assert_not_null(end);
		*end = '\0';
		cr_assert_str_eq(got, w, "%s: got\n%s\nwant\n%s", path, got, w);
		w = end + 3;
		free(got);
	}
	cr_assert_str_eq(w, "");
	free(want);
	drop_tree();
}

Test(file_glob, braces_around_and_across_star_star)
{
	char *one[] = { "{data/x,other}/**/{b,i}.csv" };
	char *both[] = { "data/x/**/b.csv", "other/**/i.csv" };
	char *across[] = { "{data/**/d,top}.csv" };
	char *got, *want;

	make_tree();
	got = our_glob(one, 1);
	want = our_glob(both, 2);
	cr_assert_str_eq(got, want);
	cr_assert_str_eq(got, "data/x/y/b.csv\nother/x/y/i.csv\n");
	free(got);
	free(want);
	got = our_glob(across, 1);
	cr_assert_str_eq(got, "data/lnk/z/d.csv\ndata/x/y/z/d.csv\ntop.csv\n");
	free(got);
	drop_tree();
}

Test(file_glob, links_back_up_do_not_loop)
{
	char *path = "data/**/*.csv", *before, *after, *outside;

	make_tree();
	before = our_glob(&path, 1);
	cr_assert_eq(symlink("..", "data/x/up"), 0);
	cr_assert_eq(symlink("../..", "data/x/y/back"), 0);
	cr_assert_eq(symlink("loop2", "data/loop1"), 0);
	cr_assert_eq(symlink("loop1", "data/loop2"), 0);
	after = our_glob(&path, 1);
	cr_assert_str_eq(after, before);
	/* A link to a folder above the walk's start is no loop: followed. */
	cr_assert_eq(symlink("../../..", "data/x/y/top"), 0);
	outside = our_glob(&path, 1);
	cr_assert_not_null(strstr(outside, "\ndata/x/y/top/top.csv\n"), "%s",
			   outside);
	cr_assert_null(strstr(outside, "top/data/"), "%s", outside);
	free(before);
	free(after);
	free(outside);
	drop_tree();
}
