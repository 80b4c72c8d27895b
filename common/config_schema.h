/*
 * config_schema.h - the schema of providers.conf: [aggregate]'s fields,
 * group_by and aggregates, and each provider's map from fields to sources.
 *
 * fields is parsed first (config.c looks for it before any other key),
 * so that every other function here resolves names against it: a name
 * that is not declared is an error suggesting the nearest declared one.
 * Each parser takes the expanded value v and cuts it in place.
 *
 * Errors: 0, or -1 after cfg_fail() (config_key.h's messages).  Memory:
 * what a parser allocates goes into the struct it fills, whose owner
 * (struct cfg, cfg_free) frees it also after a failure.
 */
#ifndef AGG_CONFIG_SCHEMA_H
#define AGG_CONFIG_SCHEMA_H

#include "../ipc/record.h"
#include "config.h"
#include "config_key.h"

/*
 * `fields = name:type, ...` into s (empty on entry): 1 to REC_MAX_FIELDS.
 * A type is int, float, text, bool, date, timestamp, decimal(p,s) or
 * decimal(p) (numeric a synonym; p 1..38, s 0..p), or timestamp(F, ...)
 * whose formats are quoted patterns or epoch_s / epoch_ms / epoch_us,
 * compiled here (tsfmt_compile).  Commas inside parentheses or quotes do
 * not split the list.  Zones are left NULL (UTC).
 */
int cfg_schema_fields(const struct cfg_key *k, struct rec_schema *s, char *v);

/* Free what cfg_schema_fields() put in s (names, formats) and empty it. */
void cfg_schema_free(struct rec_schema *s);

/*
 * A provider's copy of src: its own array of fields, sharing their names
 * and formats with src, with zone z (NULL: UTC) on the timestamp and date
 * fields.  Free with free(dst->fields).  0, or -1 when out of memory.
 */
int cfg_schema_copy(struct rec_schema *dst, const struct rec_schema *src,
		    const struct tz *z);

/* Field f's zone, if it is a timestamp or a date (the others have none). */
void cfg_schema_set_zone(struct rec_field *f, const struct tz *z);

/* `group_by = field, ...` into cfg->group_by. */
int cfg_schema_group_by(const struct cfg_key *k, struct cfg *cfg, char *v);

/* `aggregates = func(field) [as name], ...` into cfg->aggs. */
int cfg_schema_aggregates(const struct cfg_key *k, struct cfg *cfg, char *v);

/*
 * Output columns must be unique: with mode = union the "provider" column
 * and the fields, with mode = group the keys and the aggregates.  The
 * lines are those of the fields and aggregates keys, for the message.
 */
int cfg_schema_columns(struct cfg_doc *doc, const struct cfg *cfg,
		       int fields_line, int aggregates_line);

/*
 * `map = field = source, ...` into *sourcep: an array of s->nfields
 * strings (allocated here, NULL for a field not mapped).  A source that
 * starts with '/' must be a JSON pointer.
 */
int cfg_schema_map(const struct cfg_key *k, const struct rec_schema *s,
		   char ***sourcep, char *v);

/*
 * Complete *sourcep (allocating it if need be): a field not mapped comes
 * from the source column or key of its own name.
 */
int cfg_schema_sources(struct cfg_doc *doc, const struct rec_schema *s,
		       char ***sourcep);

#endif
