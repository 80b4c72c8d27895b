/*
 * arena.h - moved to common/arena.h (providers use it too); kept for
 * the aggregator files that include it by its old name.
 */
#include "../common/arena.h"
