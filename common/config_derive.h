/*
 * config_derive.h - the expressions of providers.conf (SPEC §8): derived
 * fields, `where`, group_by items that are expressions, and aggregates
 * whose argument is an expression or that have `filter (where ...)`.
 *
 * Every expression becomes a derived field appended to cfg->schema
 * (struct cfg: nfields_declared, derive, hidden), compiled once here with
 * expr_compile() over the fields before it, in the [aggregate] zone; or,
 * for `where`, a bool program.  A compile error is a config error at the
 * key's line, the engine's column counted from the value's first
 * character, with the nearest name.
 *
 * Errors: 0 (or a field index), or -1 after cfg_fail().  Memory: the
 * programs and names go into the struct cfg; cfg_derive_free() frees them.
 */
#ifndef AGG_CONFIG_DERIVE_H
#define AGG_CONFIG_DERIVE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "config_key.h"

/*
 * `derive = name = expr, ...` (commas inside parentheses or quotes do not
 * split): each a derived field, in the order given unless one reads a
 * later one (then after it: a stable topological order); a cycle is an
 * error naming it.  Called once the fields and the zone are read, before
 * any other key.
 */
int cfg_derive_list(const struct cfg_key *k, struct cfg *cfg, char *v);

/*
 * Compile a `where` value v into *prog: a bool expression over the
 * fields declared and derived so far.
 */
int cfg_derive_where(const struct cfg_key *k, const struct cfg *cfg,
		     const char *v, struct expr_prog **prog);

/*
 * An output's `where` value v: a hidden bool derived field named name
 * (*fi), computed in the providers as the others are.
 */
int cfg_derive_keep(const struct cfg_key *k, struct cfg *cfg, const char *v,
		    const char *name, int *fi);

/*
 * One group_by item that is not a bare field name: `expr [as name]`, at
 * column col0 (0-based) of the value.  A bare function call without `as`
 * is named after its function (date_trunc), as PostgreSQL names such a
 * column; any other expression needs `as`.  Sets *fi to the new field.
 */
int cfg_derive_group_item(const struct cfg_key *k, struct cfg *cfg,
			  char *item, int col0, int *fi);

/*
 * Aggregate item number ai, `func(args) [filter (where expr)] [as name]`
 * at column col0 of the value, rewritten into out (outlen bytes) with each
 * argument that is neither a field, '*' nor a number replaced by a hidden
 * derived field, and the filter taken off into a hidden bool field
 * (*filter; -1: none).  *dflt is the output column's name when the item
 * has no `as` and an argument was an expression (the function's name, as
 * PostgreSQL names it), else empty.
 */
int cfg_derive_agg_item(const struct cfg_key *k, struct cfg *cfg, int ai,
			const char *item, int col0, char *out, size_t outlen,
			int *filter, char *dflt, size_t dfltlen);

/*
 * After parse_agg() refused the rewritten item plain: its message quotes
 * the item as written, and an argument's hidden field as "the expression".
 */
void cfg_derive_agg_error(const struct cfg_key *k, const char *plain,
			  const char *item);

/*
 * Free the derived fields' programs and [aggregate]'s where (a provider's
 * is its own), before cfg's schema (whose size says how many).
 */
void cfg_derive_free(struct cfg *cfg);

#endif
