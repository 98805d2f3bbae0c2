/* Engine of the allocation sampler: no Python.h, testable from C alone.
 *
 * What it does (memsample_binding.c feeds it from the allocator hooks):
 *   - decides which allocations are sampled: the bytes until the next sample are
 *     drawn from an exponential distribution of mean `mean` (a Poisson process over
 *     the allocated bytes); an allocation of `size` bytes that crosses k sample
 *     points is recorded with weight k * mean; one of at least `mean` bytes is
 *     always recorded with weight `size` (exact) and leaves the countdown alone.
 *     Both are unbiased: E[weight] = size for every allocation.
 *   - interns frames (an opaque code pointer + a line) and stacks (frame ids);
 *   - keeps per-stack aggregates (bytes, samples, estimated count, live bytes, live
 *     bytes at the peak) and the table of live sampled blocks keyed by address, so
 *     that a free of a sampled block takes its weight off the live bytes;
 *   - tracks the peak of the live sampled bytes with a lazy per-stack snapshot
 *     (O(1) per event: a stack copies its live bytes aside the first time it changes
 *     after a new peak);
 *   - keeps a timeline of events, one per sample and per sampled free: time, live
 *     bytes after it, the stack and the signed change of its live bytes (so that the
 *     per-stack live bytes at any local peak can be replayed afterwards).
 *
 * Memory comes from malloc, never from Python's allocators (the engine runs inside
 * their hooks). Nothing here is thread-safe: the binding calls it with the GIL held.
 * Running out of memory drops the sample and counts it in `errors`.
 */
#ifndef DPROF_MEMSAMPLE_H
#define DPROF_MEMSAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define DPROF_MS_MAX_DEPTH 128          /* deeper stacks keep their innermost frames */
#define DPROF_MS_TIMELINE_CAP (1u << 20) /* timeline points kept (then truncated) */
#define DPROF_MS_FILTER_BITS 14          /* 16 KiB of counters in front of the table */

/* splitmix64: the sampler's PRNG (its Python twin is in tests/memory/twin.py) */
uint64_t dprof_ms_rng_next(uint64_t *state);
/* Bytes until the next sample point: ceil(-mean * log1p(-u)), at least 1, where
 * u = (next >> 11) * 2**-53 is uniform in [0, 1). */
uint64_t dprof_ms_draw(uint64_t *state, double mean);

typedef struct {
    uintptr_t code;     /* opaque to the engine (the binding's code object) */
    int line;
} dprof_ms_frame;

typedef struct {
    uint32_t first;             /* index of the stack's first frame id in the pool */
    uint32_t depth;
    uint64_t hash;
    uint64_t alloc_bytes;       /* sum of weights of sampled allocations */
    uint64_t alloc_samples;     /* sampled allocations */
    double alloc_count;         /* estimated allocations: sum of weight / size */
    uint64_t live_bytes;        /* weights of blocks still live */
    uint64_t peak_live;         /* live_bytes at the peak (valid when peak_tag matches) */
    uint64_t peak_tag;          /* the peak whose value peak_live holds */
} dprof_ms_stack;

typedef struct {
    uintptr_t addr;             /* 0: empty slot */
    uint64_t weight;
    uint32_t stack;
} dprof_ms_live;

typedef struct {
    /* sampling decisions */
    uint64_t rng;
    double mean;
    uint64_t always;            /* sizes >= this (ceil(mean)) are always sampled */
    int64_t countdown;          /* bytes until the next sample point */

    /* interned frames: a hash index (slots hold frame id + 1, 0 = empty) */
    dprof_ms_frame *frames;
    uint32_t nframes, cap_frames;
    uint32_t *frame_index;
    uint32_t frame_index_cap;   /* power of two */

    /* interned stacks: frame ids in a pool, a hash index like the frames' */
    uint32_t *pool;
    uint32_t npool, cap_pool;
    dprof_ms_stack *stacks;
    uint32_t nstacks, cap_stacks;
    uint32_t *stack_index;
    uint32_t stack_index_cap;

    /* live sampled blocks. `filter` counts them by a cheap hash of the address
     * (saturating at 255), so that the free of an unsampled block, nearly every
     * free, costs one byte load instead of a table probe. */
    uint8_t filter[1u << DPROF_MS_FILTER_BITS];
    dprof_ms_live *live;
    size_t live_cap;            /* power of two, 0 before the first sample */
    size_t live_count;

    /* totals */
    uint64_t allocated;         /* sum of weights */
    uint64_t samples;
    uint64_t live_total;
    uint64_t peak_total;
    uint64_t peak_tag;          /* incremented at every new peak */
    uint64_t peak_t_ns;
    uint64_t errors;            /* samples dropped for lack of memory */

    /* timeline */
    uint64_t *tl_t_ns;
    uint64_t *tl_live;
    uint32_t *tl_stack;
    int64_t *tl_delta;
    uint32_t tl_len, tl_cap;
    int tl_truncated;
} dprof_ms;

/* 0, or -1 (out of memory). mean must be > 0. */
int dprof_ms_init(dprof_ms *ms, double mean, uint64_t seed);
void dprof_ms_free(dprof_ms *ms);

/* Whether an allocation of `size` bytes is sampled; if so *weight is the bytes it
 * stands for. Inline: it runs on every allocation. */
static inline int
dprof_ms_should_sample(dprof_ms *ms, size_t size, uint64_t *weight)
{
    if (__builtin_expect((uint64_t)size >= ms->always, 0)) {
        *weight = size;
        return 1;
    }
    ms->countdown -= (int64_t)size;
    if (__builtin_expect(ms->countdown > 0, 1)) {
        return 0;
    }
    uint64_t k = 0;
    while (ms->countdown <= 0) {
        k++;
        ms->countdown += (int64_t)dprof_ms_draw(&ms->rng, ms->mean);
    }
    *weight = (uint64_t)((double)k * ms->mean + 0.5);
    return 1;
}

/* Frame id of (code, line), adding it if new (*is_new set to 1 then); -1 when out
 * of memory. */
int32_t dprof_ms_intern_frame(dprof_ms *ms, uintptr_t code, int line, int *is_new);
/* Stack id of the frame ids (innermost first); -1 when out of memory. */
int32_t dprof_ms_intern_stack(dprof_ms *ms, const uint32_t *frames, uint32_t depth);

/* Records one sampled allocation at addr; 0, or -1 (out of memory: dropped). */
int dprof_ms_record(dprof_ms *ms, uintptr_t addr, size_t size, uint64_t weight,
                    uint32_t stack, uint64_t t_ns);
/* A block at addr was freed: 1 if it was a live sampled block (its weight is taken
 * off, and a timeline point added at clock(), which is only called then: frees are
 * the hottest path and most are of unsampled blocks), else 0. */
typedef uint64_t (*dprof_ms_clock)(void);
int dprof_ms_forget(dprof_ms *ms, uintptr_t addr, dprof_ms_clock clock);

static inline size_t
dprof_ms_filter_slot(uintptr_t addr)
{
    /* Blocks are at least 16-byte aligned. Every free of a sampling session runs
     * this, so it is a shift and a mask. Big blocks (mapped by malloc on their own
     * pages) fall on a few dozen slots only: that takes no more slots than spreading
     * them would (a small block's free is a false hit in proportion to the slots
     * set), and the freeing of a big block goes to the table anyway. */
    return (size_t)(addr >> 4) & ((1u << DPROF_MS_FILTER_BITS) - 1);
}

static inline int
dprof_ms_on_free(dprof_ms *ms, uintptr_t addr, dprof_ms_clock clock)
{
    if (ms->live_count == 0 || ms->filter[dprof_ms_filter_slot(addr)] == 0) {
        return 0;
    }
    return dprof_ms_forget(ms, addr, clock);
}

/* Live bytes of a stack at the peak of the total. */
uint64_t dprof_ms_stack_peak_live(const dprof_ms *ms, uint32_t stack);

#endif
