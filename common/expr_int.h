/*
 * expr_int.h - what the expression compiler's files share (expr.h).
 *
 * expr_parse.c turns text into a tree of enodes, expr_check.c gives each
 * node its type (inserting casts, folding constants), expr_emit.c turns
 * the tree into instructions, expr_eval.c runs them, and expr_func.c
 * (decimals, casts, LIKE) and expr_time.c (time in a zone) hold the
 * arithmetic they call.  The tree lives only
 * while compiling; a program is the instructions, its constants and the
 * number of slots a frame needs.
 */
#ifndef AGG_EXPR_INT_H
#define AGG_EXPR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "expr.h"
#include "tz.h"

/* A type while compiling: a record type, or T_UNKNOWN for a bare NULL. */
#define T_UNKNOWN 0

enum enode_kind {
	N_CONST,    /* val, of ty; lit_text: a quoted literal of no type yet */
	N_FIELD,    /* field */
	N_NEG,      /* -a */
	N_ARITH,    /* a op b, op one of + - * / % */
	N_CONCAT,   /* a || b */
	N_CMP,      /* a op b, op one of = <> < <= > >= */
	N_AND,
	N_OR,
	N_NOT,
	N_IS,       /* a IS [NOT] NULL/TRUE/FALSE: op, negated */
	N_IN,       /* args[0] IN (args[1..]) */
	N_BETWEEN,  /* args[0] BETWEEN args[1] AND args[2] */
	N_LIKE,     /* args[0] LIKE args[1], escape */
	N_CASE,     /* [operand] WHEN c THEN r ... [ELSE e]: see parse */
	N_CAST,     /* args[0] as ty (to) */
	N_FUNC,     /* name(args) */
	N_EXTRACT,  /* extract(name FROM args[0]) */
};

/* Tokens past the one-character ones; also the operators' codes in op. */
enum {
	TK_EOF = 256, TK_NUM, TK_STR, TK_IDENT, TK_QIDENT, TK_LE, TK_GE, TK_NE,
	TK_CONCAT, TK_CAST, TK_BAD,
};

/* IS forms. */
enum { IS_NULL, IS_TRUE, IS_FALSE };

struct enode {
	enum enode_kind kind;
	int op;           /* the operator's character(s), an IS form, a function */
	int column;       /* 1-based, where the node starts in the text */
	bool negated;     /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT */
	bool lit_text;    /* a quoted literal still of unknown type */
	bool interval;    /* INTERVAL '...': only time_bucket's width */
	bool has_operand; /* CASE x WHEN ... */
	bool has_else;
	int escape;       /* LIKE's escape byte, -1 for none */
	struct expr_type ty;
	struct expr_type to;   /* N_CAST: the target, as written */
	bool to_has_scale;     /* N_CAST to numeric(p,s) rather than numeric */
	int field;
	char *name;            /* N_FUNC, N_EXTRACT: the name, folded */
	struct rec_value val;  /* N_CONST; text is owned by the program */
	int nargs;
	struct enode **args;
	struct enode *next_alloc;
};

/*
 * Bounds on an expression, so that the compiler's recursion stays well
 * within the stack: its nodes, and how deep the parser may nest.
 */
#define EXPR_MAX_NODES 5000
#define EXPR_MAX_DEPTH 200

/* The compiler's state, shared by its files. */
struct ecomp {
	const char *text;
	const struct rec_schema *schema;
	const struct tz *tz;
	struct expr_error *err;
	struct enode *nodes;      /* every node, to free them */
	int nnodes, depth;        /* bounds on the tree (EXPR_MAX_NODES, _DEPTH) */
	struct expr_prog *prog;   /* the program being built */
	/* the lexer */
	const char *p;
	int tok, tokcol;
	char *tokstr;             /* an identifier, number or string token */
	size_t tokcap, toklen;
};

/* The compile errors every file raises: -1, with the message at column. */
int ecomp_fail(struct ecomp *c, int column, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct enode *enode_new(struct ecomp *c, enum enode_kind kind, int column);
int enode_add_arg(struct ecomp *c, struct enode *n, struct enode *arg);

/* Parse c->text into a tree; NULL on error. */
struct enode *expr_parse_text(struct ecomp *c);

/* Type-check and fold the tree in place; 0 or -1. */
int expr_check_tree(struct ecomp *c, struct enode *n);

/* Emit the tree into c->prog; 0 or -1. */
int expr_emit_tree(struct ecomp *c, struct enode *n);

/* Copy text into memory the program owns; NULL when out of memory. */
const char *expr_prog_keep(struct expr_prog *prog, const char *s, size_t len);

/* A type's name as PostgreSQL spells it in messages ("int", "decimal"). */
const char *expr_type_name(int t);

/* --- the program ------------------------------------------------------- */

#define EOPS(X)                                                           \
	X(MOVE) X(LOAD) X(SETNULL) X(JUMP) X(JUMP_IF_NOT_TRUE)            \
	X(JUMP_IF_NOT_NULL) X(AND_SC) X(OR_SC) X(AND) X(OR) X(NOT)        \
	X(ISNULL) X(ISNOTNULL) X(ISTRUE) X(ISFALSE) X(NULLIF)             \
	X(ADD_I) X(SUB_I) X(MUL_I) X(DIV_I) X(MOD_I) X(NEG_I)             \
	X(ADD_F) X(SUB_F) X(MUL_F) X(DIV_F) X(NEG_F)                      \
	X(ADD_D) X(SUB_D) X(MUL_D) X(DIV_D) X(MOD_D) X(NEG_D)             \
	X(ADD_DATE) X(SUB_DATE) X(DIFF_DATE)                              \
	X(EQ_I) X(NE_I) X(LT_I) X(LE_I) X(GT_I) X(GE_I)                   \
	X(EQ_F) X(NE_F) X(LT_F) X(LE_F) X(GT_F) X(GE_F)                   \
	X(EQ_D) X(NE_D) X(LT_D) X(LE_D) X(GT_D) X(GE_D)                   \
	X(EQ_T) X(NE_T) X(LT_T) X(LE_T) X(GT_T) X(GE_T)                   \
	X(EQ_B) X(NE_B) X(LT_B) X(LE_B) X(GT_B) X(GE_B)                   \
	X(LIKE) X(CONCAT) X(CAST) X(GREATEST) X(LEAST)                    \
	X(ABS_I) X(ABS_F) X(ABS_D) X(ROUND_F) X(ROUND_D) X(FLOOR_F)       \
	X(FLOOR_D) X(CEIL_F) X(CEIL_D) X(LOWER) X(UPPER) X(TRIM)          \
	X(SUBSTR) X(LENGTH) X(REPLACE) X(SPLIT_PART)                      \
	X(TRUNC_TS) X(TRUNC_DATE) X(BUCKET_TS) X(BUCKET_DATE)             \
	X(EXTRACT_TS) X(EXTRACT_DATE) X(STRFTIME)

#define EOP_ENUM(name) EOP_##name,
enum eop { EOPS(EOP_ENUM) EOP_COUNT };
#undef EOP_ENUM

/*
 * Programs of one instruction, code[start], over fields and constants
 * (most `where` tests and group keys): expr_eval() runs them without its
 * loop, its frame's scratch or a copy of the result.
 */
enum {
	FAST_NONE,
	FAST_CMP_I,     /* EQ_I .. GE_I */
	FAST_CMP_F,     /* EQ_F .. GE_F */
	FAST_TRUNC_TS,  /* date_trunc of a timestamp */
	FAST_BUCKET_TS, /* time_bucket of a timestamp */
};

/* Slot 0 of every frame: a value that is never NULL, for absent operands. */
#define SLOT_NONE 0

/*
 * One instruction: dst = op(a, b, c) over slots.  ta/tb are types (casts,
 * greatest), sa/sb the scales of a decimal a and b, sk and pk a result's
 * scale and precision, k an immediate (a jump target, a unit, an escape).
 */
struct einsn {
	uint16_t op;
	uint8_t ta, tb, sa, sb, sk, pk;
	bool strict;              /* NULL in a, b or c gives NULL */
	bool fa, fb, fc;          /* a (b, c) is a field of the record, not
				     a slot (expr_emit's direct_fields()) */
	int32_t dst, a, b, c;     /* slots; 0 (never NULL) for none */
	int64_t k, k2;
};

struct expr_prog {
	struct einsn *code;
	int ncode, capcode;
	struct rec_value *init;   /* the slots' first values: the constants */
	int nslots, capslots;
	int result;               /* the slot that holds the value */
	struct expr_type type;
	int *fields;              /* fields read, increasing */
	int nfields;
	int nloads;               /* code[0..nloads): LOADs done before the
				     loop (of slots an instruction writes) */
	int start;                /* where the loop starts: code[nloads..
				     start) are LOADs of fields that the
				     instructions read directly */
	int fast;                 /* a program of one instruction the run
				     does without its loop: FAST_* */
	const struct tz *tz;
	struct keep { struct keep *next; char data[]; } *kept;
};

struct scratch_chunk {
	struct scratch_chunk *next;
	size_t cap, used;
	char data[];
};

/*
 * The program's zone with the frame's memory of its last lookups
 * (tz_offset_cached): records near one another in time cost a compare per
 * lookup.  A NULL tz is UTC, with no lookup at all.
 */
struct expr_zone {
	const struct tz *tz;
	struct tz_span off;
	struct tz_local_cache local;
};
#define EXPR_ZONE(z) ((struct expr_zone){ (z), TZ_SPAN_EMPTY, TZ_LOCAL_CACHE_EMPTY })

struct expr_frame {
	struct rec_value *slots;
	int nslots;
	struct scratch_chunk *scratch;  /* the chunk in use; more behind it */
	size_t scratch_total;
	struct expr_zone zone;          /* the program's, with its lookups */
};

/* Room for n bytes of text in the frame for this record; NULL when out of memory. */
char *expr_scratch(struct expr_frame *f, size_t n);

/* --- functions (expr_func.c, expr_time.c) ------------------------------- */

/* Units of date_trunc and fields of extract. */
enum { U_MICRO, U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER,
       U_YEAR, U_DOW, U_DOY, U_EPOCH, U_ISOYEAR, U_COUNT };
/* The unit named s, or -1. */
int expr_unit(const char *s);
extern const char *const expr_unit_names[U_COUNT];

/* A time_bucket width: microseconds, or months when months > 0. */
int expr_bucket_parse(const char *s, size_t len, int64_t *us, int64_t *months);

int64_t expr_trunc_ts(struct expr_zone *z, int64_t us, int unit);
int64_t expr_trunc_date(struct expr_zone *z, int64_t days, int unit);
int64_t expr_bucket_ts(struct expr_zone *z, int64_t us, int64_t width_us,
		       int64_t months);
/* extract: the value as a decimal at scale *scale (0 or 6). */
__int128 expr_extract_ts(struct expr_zone *z, int64_t us, int unit);
__int128 expr_extract_date(int64_t days, int unit);

/*
 * Casts: convert v of type from (scale sa) into type to (precision pk,
 * scale sk).  Text results go to the frame's scratch.  0, or -1 with a
 * reason.
 */
int expr_cast(struct expr_frame *f, struct expr_zone *z, int from, int sa,
	      int to, int pk, int sk, const struct rec_value *v,
	      struct rec_value *out, char *reason, size_t reasonlen);

/* Compare two non-NULL decimals at scales sa and sb, exactly: <0, 0, >0. */
int expr_dec_cmp(__int128 a, int sa, __int128 b, int sb);

/* Decimal arithmetic at fixed scales; 0 or -1 (overflow, division by zero). */
int expr_dec_add(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out);
int expr_dec_mul(__int128 a, __int128 b, int shift, __int128 *out);
int expr_dec_div(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out);
/*
 * Division as PostgreSQL rounds it: the quotient rounded at the scale
 * select_div_scale picks for these values (16 significant digits, at least
 * either operand's scale), then written at scale sk: padded with zeros,
 * or rounded once more when PostgreSQL's scale is larger than sk.
 */
int expr_dec_div_pg(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out);
int expr_dec_mod(__int128 a, int sa, __int128 b, int sb, int sk, __int128 *out);
/*
 * v at scale s rounded (half away from zero, floor, ceil) to `digits`
 * after the point, a negative count rounding to tens, hundreds...; the
 * result is at scale max(digits, 0).  0, or -1 when it overflows.
 */
int expr_dec_round(__int128 v, int s, int digits, int mode, __int128 *out);
enum { ROUND_HALF, ROUND_FLOOR, ROUND_CEIL, ROUND_TRUNC };

/* LIKE: whether s matches pattern p (% _ and the escape byte, -1 for none). */
bool expr_like(const char *s, size_t slen, const char *p, size_t plen, int esc);

/*
 * lower(s) or upper(s) of the n bytes at s into d (text in f's scratch):
 * ASCII by table, other characters by Unicode's simple case mapping (the
 * C.UTF-8 locale's, as a PostgreSQL database in that locale maps them);
 * bytes that are not UTF-8 stay as they are.  -1 when out of memory.
 */
int expr_case_map(struct expr_frame *f, bool upper, const char *s, uint32_t n,
		  struct rec_value *d);

/* A date's local midnight as an instant, and an instant's local date. */
int64_t expr_date_to_ts(struct expr_zone *z, int64_t days);
int64_t expr_ts_to_date(struct expr_zone *z, int64_t us);

/* A timestamp as PostgreSQL's timestamptz output in zone z; out holds 64 bytes. */
size_t expr_format_ts(struct expr_zone *z, int64_t us, char *out);

/* A timestamp in text: with an offset that instant, without one local time in z. */
int expr_parse_ts(struct expr_zone *z, const char *s, size_t len, int64_t *us);

/* strftime of instant us in zone z into the frame; 0 or -1. */
int expr_strftime(struct expr_frame *f, struct expr_zone *z, const char *fmt,
		  size_t fmtlen, int64_t us, struct rec_value *out, char *reason,
		  size_t reasonlen);

#endif
