/*
 * ring_test.h - test-only hooks into the ring's shared area.
 *
 * Exists only in builds with -DAGG_TESTING.  The tests use it to play a
 * hostile producer (publishing impossible positions) and to wait until a
 * side has really gone to sleep, so that the wake-up paths are exercised
 * deterministically rather than by luck.
 */
#ifndef AGG_RING_TEST_H
#define AGG_RING_TEST_H

#ifdef AGG_TESTING

#include <stdint.h>

#include "ring.h"

/* Store raw values into the shared write and read positions. */
void ring_test_set_positions(struct ring *r, uint64_t write_pos,
			     uint64_t read_pos);

/* Load the shared write and read positions. */
void ring_test_positions(const struct ring *r, uint64_t *write_pos,
			 uint64_t *read_pos);

/* Load the sleeping flags: nonzero = that side says it sleeps. */
void ring_test_flags(const struct ring *r, unsigned *consumer_sleeping,
		     unsigned *producer_sleeping);

#endif
#endif
