/*
 * token.h - the size limit of a resume token, which every process agrees on.
 *
 * A provider writes its resume token into a CHECKPOINT frame, the aggregator
 * keeps the last folded one and hands it to the supervisor in a CTL_ENDED
 * message, and the supervisor gives it to the next attempt (provider.h).
 * All three size their buffers by this bound and refuse a longer token.
 */
#ifndef AGG_TOKEN_H
#define AGG_TOKEN_H

/* Largest resume token, in bytes. */
#define PROV_TOKEN_MAX 4096

#endif
