/*
 * fuzz_frame.c - the aggregator's frame handling fed arbitrary ring bytes.
 *
 * The input is laid into a real ring's data area as if a hostile provider
 * had written it, and published; the aggregator's own drain() (agg.c is
 * included, so its static functions run exactly as in the program) then
 * reads, validates and folds every frame into a real merge.  Whatever the
 * bytes, the aggregator must only poison that provider, never crash, read
 * out of bounds or leak.  The bytes, read as one record, must also get
 * the same verdict from rec_validate() as from rec_decode().
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

static struct cfg cfg;
static struct ring ring;
static bool ready;

static void setup(void)
{
	char err[CFG_ERR_MAX];

	log_init(-2, false);
	if (cfg_load_string("fuzz.conf", conf_text, &cfg, err, sizeof err) < 0 ||
	    ring_create(&ring, RING_MIN_CAPACITY) < 0) {
		fprintf(stderr, "fuzz_frame: setup failed: %s\n", err);
		abort();
	}
	ready = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agg a = { .cfg = &cfg, .ctl_fd = -1, .exit_code = 1 };
	struct agg_prov prov;
	uint64_t w, rd;
	size_t mask, off, len;
	bool final;

	if (!ready)
		setup();
	if (size < 1)
		return 0;
	final = data[0] & 1;
	data++;
	size--;
	len = size < ring.cap ? size : ring.cap;
	memset(&prov, 0, sizeof prov);
	prov.ring = &ring;
	a.prov = &prov;
	a.values = calloc((size_t)cfg.schema.nfields, sizeof *a.values);
	a.merge = merge_new(&cfg);
	if (a.values == NULL || a.merge == NULL)
		abort();
	/* drain() validates with rec_validate(): it must be rec_decode(). */
	if (rec_validate(&cfg.schema, data, size) !=
	    rec_decode(&cfg.schema, data, size, a.values))
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
	if (!a.finished && !prov.done) {
		prov.stage.len = 0;
		prov.stage_records = 0;
		if (final && prov.stage_rejects.len &&
		    buf_append(&prov.rejects, prov.stage_rejects.p,
			       prov.stage_rejects.len) < 0)
			abort();
	}
	if (getenv("FUZZ_DEBUG"))
		fprintf(stderr, "records %llu rejects %llu poisoned %d done %d "
			"error \"%s\"\n", (unsigned long long)prov.records,
			(unsigned long long)prov.nrejects, prov.poisoned,
			prov.done, prov.error);
	(void)merge_rows_written(a.merge);

	merge_free(a.merge);
	free(prov.stage.p);
	free(prov.stage_rejects.p);
	free(prov.rejects.p);
	free(a.values);
	return 0;
}
