/* Call-tree aggregation for stack profiles: interned strings, frames, stacks and
 * rows of (thread, stack, category) -> samples and seconds.
 *
 * Plain C, no Python.h: the stack sampler fills a table while it holds the GIL,
 * the binding (stacks_binding.c) converts a table to and from plain Python data,
 * and merge combines tables without building Python objects per sample.
 * It mirrors dprof/stacks/model.py (StackProfile.merged is merge's twin).
 *
 * Ids are dense indexes from 0 in the order things were first interned. Functions
 * that can allocate return a negative value on out-of-memory and leave the table
 * as it was before the call.
 */
#ifndef DPROF_CALLTREE_H
#define DPROF_CALLTREE_H

#include <stddef.h>
#include <stdint.h>

/* Category indexes, in the order of dprof.stacks.model.CATEGORIES. */
enum dprof_category {
    DPROF_CAT_CPU_PYTHON = 0,
    DPROF_CAT_CPU_NATIVE,
    DPROF_CAT_WAIT_IO,
    DPROF_CAT_WAIT_GIL,
    DPROF_CAT_WAIT_SLEEP,
    DPROF_CAT__COUNT
};

typedef struct {
    int32_t filename;   /* string id */
    int32_t function;   /* string id */
    int32_t line;
} dprof_ct_frame;

typedef struct {
    uint64_t thread_id;
    int32_t stack_id;
    int32_t category;
    uint64_t samples;
    double seconds;
} dprof_ct_row;

typedef struct dprof_calltree dprof_calltree;

dprof_calltree *dprof_calltree_new(void);
void dprof_calltree_free(dprof_calltree *ct);

/* Interning: return the id, or -1 when memory ran out. */
int32_t dprof_calltree_intern_string(dprof_calltree *ct, const char *s, size_t len);
int32_t dprof_calltree_intern_frame(dprof_calltree *ct, int32_t filename,
                                    int32_t function, int32_t line);
int32_t dprof_calltree_intern_stack(dprof_calltree *ct, const int32_t *frame_ids,
                                    size_t depth);   /* root first */
/* Adds to the row (thread, stack, category); 0, or -1 when memory ran out. */
int dprof_calltree_add(dprof_calltree *ct, uint64_t thread_id, int32_t stack_id,
                       int32_t category, uint64_t samples, double seconds);

/* Reading. Pointers stay valid until the table is next changed. */
size_t dprof_calltree_nstrings(const dprof_calltree *ct);
const char *dprof_calltree_string(const dprof_calltree *ct, int32_t id, size_t *len);
size_t dprof_calltree_nframes(const dprof_calltree *ct);
const dprof_ct_frame *dprof_calltree_frame(const dprof_calltree *ct, int32_t id);
size_t dprof_calltree_nstacks(const dprof_calltree *ct);
const int32_t *dprof_calltree_stack(const dprof_calltree *ct, int32_t id, size_t *depth);
size_t dprof_calltree_nrows(const dprof_calltree *ct);
const dprof_ct_row *dprof_calltree_row(const dprof_calltree *ct, size_t index);

/* Adds every row of src to dst (frames and stacks re-interned by content, threads
 * kept apart by id). 0, or -1 when memory ran out (dst then holds part of src). */
int dprof_calltree_merge(dprof_calltree *dst, const dprof_calltree *src);

#endif
