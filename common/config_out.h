/*
 * config_out.h - the [output NAME] sections of providers.conf (SPEC §8):
 * each one more output of the same run, with its own output, format,
 * table, write, mode, where, group_by, aggregates, having, order_by and
 * limit, over [aggregate]'s fields and derived fields (struct cfg_output,
 * config.h).
 *
 * config.c's driver calls these as it does config_agg.c's: the key's
 * number, the message for a key an output does not have, applying a key,
 * the checks once every key of the file is applied.  An output's
 * expressions become derived fields of cfg->schema (config_derive.h), its
 * where a hidden bool field.  Errors: 0, or -1 after cfg_fail().
 */
#ifndef AGG_CONFIG_OUT_H
#define AGG_CONFIG_OUT_H

#include "config.h"
#include "config_agg.h"
#include "config_key.h"
#include "config_read.h"

/* The slot (struct cfg_check's seen) of an output's where. */
#define CFG_OUT_WHERE_SLOT (AK_NKEYS + 2)

/* The number of an [output NAME] key: its enum cfg_agg_key, or
   CFG_OUT_WHERE_SLOT for where; -1 when an output has no such key. */
int cfg_out_key(const char *name);

/* The message for entry e, whose key an output does not have.  -1. */
int cfg_out_bad_key(struct cfg_doc *doc, const struct cfg_entry *e);

/* Apply key id of output oi with the expanded value *vp. */
int cfg_out_apply(const struct cfg_key *k, struct cfg *cfg, int oi, int id,
		  char **vp);

/*
 * Once every key is applied: output oi as [aggregate] is checked
 * (cfg_agg_check), and that it writes no file or table that
 * [aggregate]'s or an output before it writes.
 */
int cfg_out_check(const struct cfg_check *c, struct cfg *cfg, int oi);

/* One struct cfg_output, with its defaults, per [output NAME] section. */
int cfg_out_make(struct cfg_doc *doc, struct cfg *cfg);

/* Free cfg's outputs (cfg_free). */
void cfg_out_free(struct cfg *cfg);

#endif
