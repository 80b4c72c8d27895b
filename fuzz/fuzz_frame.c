/*
 * fuzz_frame.c - the aggregator's frame handling fed arbitrary ring bytes.
 *
 * The input is laid into a real ring's data area as if a hostile provider
 * had written it, and published; the aggregator's own drain() (agg.c is
 * included, so its static functions run exactly as in the program) then
 * reads, validates and folds every frame into a real merge.  Whatever the
 * bytes, the aggregator must only poison that provider, never crash, read
 * out of bounds or leak.  The bytes, read as one record, must also get
 * the same verdict from rec_validate() as from rec_decode().  The same
 * ring is read twice: by a merge that stages the records' bytes
 * (count_distinct) and by one that stages them as entries; both must
 * poison or accept alike, with the same reason, counts and state.
 *
 * The first input byte is a flag: bit 0 ends the attempt as a permanent
 * failure (its uncommitted rejects are kept, as on_end() does); the rest
 * is the ring's content.  Frames of attempt 1 belong to the attempt.
 */
#include "../aggregator/agg.c"

#include "../ipc/ring_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf_text[] =
	"[aggregate]\n"
	"output = /nonexistent/fuzz.jsonl\n"
	"fields = i:int, f:float, t:text, b:bool, ts:timestamp\n"
	"group_by = t\n"
	"aggregates = count(*), sum(i), avg(f), min(ts), max(b), "
	"count_distinct(t)\n"
	"[provider p]\n"
	"type = file\n"
	"path = /nonexistent.csv\n";

/* The same fields, aggregates merge_stage() takes. */
static const char staged_text[] =
	"[aggregate]\n"
	"output = /nonexistent/fuzz.jsonl\n"
	"fields = i:int, f:float, t:text, b:bool, ts:timestamp\n"
	"group_by = t\n"
	"aggregates = count(*), sum(i), avg(f), min(ts), max(b), count(t)\n"
	"[provider p]\n"
	"type = file\n"
	"path = /nonexistent.csv\n";

static struct cfg cfg, staged_cfg;
static struct ring ring;
static bool ready;

/* What one reading of the ring left. */
struct outcome {
	uint64_t records, nrejects;
	bool poisoned, done, finished;
	char error[CTL_TEXT_MAX];
};

static void setup(void)
{
	char err[CFG_ERR_MAX];

	log_init(-2, false);
	if (cfg_load_string("fuzz.conf", conf_text, &cfg, err, sizeof err) < 0 ||
	    cfg_load_string("fuzz.conf", staged_text, &staged_cfg, err,
			    sizeof err) < 0 ||
	    ring_create(&ring, RING_MIN_CAPACITY) < 0) {
		fprintf(stderr, "fuzz_frame: setup failed: %s\n", err);
		abort();
	}
	{
		/* The second config must take the staging path, the first not. */
		struct merge *raw = merge_new(&cfg), *st = merge_new(&staged_cfg);

		if (raw == NULL || st == NULL || merge_stages(raw) ||
		    !merge_stages(st)) {
			fprintf(stderr, "fuzz_frame: staging not as expected\n");
			abort();
		}
		merge_free(raw);
		merge_free(st);
	}
	ready = true;
}

/* Lay data[0..size) into the ring, read it as the aggregator of c would. */
static void run(const struct cfg *c, const uint8_t *data, size_t size,
		bool final, struct outcome *o)
{
	struct agg a = { .cfg = c, .ctl_fd = -1, .exit_code = 1 };
	struct agg_prov prov;
	uint64_t w, rd;
	size_t mask, off, len;

	len = size < ring.cap ? size : ring.cap;
	memset(&prov, 0, sizeof prov);
	prov.ring = &ring;
	a.prov = &prov;
	a.merge = merge_new(c);
	if (a.merge == NULL)
		abort();

	/* A fresh attempt, as on_start() makes it. */
	ring_reset(&ring);
	prov.attempt = 1;
	prov.active = true;
	ring_test_positions(&ring, &w, &rd);
	mask = ring.cap - 1;
	memset(ring.data, 0, ring.cap);
	off = (size_t)(w & mask);
	if (off + len <= ring.cap) {
		memcpy(ring.data + off, data, len);
	} else {
		memcpy(ring.data + off, data, ring.cap - off);
		memcpy(ring.data, data + (ring.cap - off), len - (ring.cap - off));
	}
	ring_test_set_positions(&ring, w + RING_ALIGN(len), rd);

	drain(&a, 0, 0);
	/* What on_end() does with a dead attempt's leftovers. */
	if (!a.finished && !prov.done)
		drop_stage(&a, 0, final);
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "records %llu rejects %llu poisoned %d done %d "
			"error \"%s\"\n", (unsigned long long)prov.records,
			(unsigned long long)prov.nrejects, prov.poisoned,
			prov.done, prov.error);
	(void)merge_rows_written(a.merge);
	o->records = prov.records;
	o->nrejects = prov.nrejects;
	o->poisoned = prov.poisoned;
	o->done = prov.done;
	o->finished = a.finished;
	memcpy(o->error, prov.error, sizeof o->error);

	merge_free(a.merge);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome raw, staged;
	struct rec_value *v;
	struct ring before;
	uint64_t w, rd;
	bool final;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	final = data[0] & 1;
	data++;
	size--;
	v = calloc((size_t)cfg.schema.nfields, sizeof *v);
	if (v == NULL)
		abort();
	/* drain() validates with rec_validate(): it must be rec_decode(). */
	if (rec_validate(&cfg.schema, data, size) !=
	    rec_decode(&cfg.schema, data, size, v))
		abort();
	free(v);

	memset(&raw, 0, sizeof raw);
	memset(&staged, 0, sizeof staged);
	/* Both readings start from the same ring position (frames wrap). */
	before = ring;
	ring_test_positions(&ring, &w, &rd);
	run(&cfg, data, size, final, &raw);
	ring = before;
	ring_test_set_positions(&ring, w, rd);
	run(&staged_cfg, data, size, final, &staged);
	/* Staging at arrival changes nothing a provider can observe. */
	if (raw.records != staged.records || raw.nrejects != staged.nrejects ||
	    raw.poisoned != staged.poisoned || raw.done != staged.done ||
	    raw.finished != staged.finished ||
	    strcmp(raw.error, staged.error) != 0)
		abort();
	return 0;
}
