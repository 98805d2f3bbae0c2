/* The one allocator hook layer: the allocation counter and the allocation sampler.
 *
 * dprof wraps the PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ allocators (PyMem_Malloc and
 * PyObject_Malloc: every Python object and most interpreter buffers) with one hook
 * per domain that delegates to the allocator installed before, as tracemalloc does.
 * Each hook does two things:
 *   - counts: the calling thread's allocations and bytes, in thread-local storage
 *     (one increment each, no atomics); a profile takes differences;
 *   - when a sampling session runs (memsample_binding.c), the sampler's decision,
 *     inline: a subtraction from the byte countdown and a branch taken only when it
 *     crosses zero; a free reads one byte of the engine's live-block filter and
 *     looks the address up only when that byte is set. With sampling off the
 *     countdown is parked at INT64_MAX, so the same instructions run and never
 *     branch. The hooks' countdown is the engine's, capped at the engine's
 *     "always sampled" size (the rest held aside, see dprof_hooks_publish): a block
 *     that big then crosses zero too, so one test decides both.
 * One layer for both is what keeps sampling on top of counting nearly free: an
 * extra layer would add an indirect call and its loads to every alloc and free.
 * The RAW domain is left alone: it may be called without the GIL.
 *
 * Staying in the chain. Another tool can take the layer out: tracemalloc.stop()
 * restores the allocators it saw at tracemalloc.start(), dropping any hook that was
 * installed on top of it since. Nothing tells us, so the layer is probed: one
 * PyMem_Malloc(1) and one PyObject_Malloc(1), checking that this thread's count
 * moved. Every acquire probes and installs the layer afresh where a domain's probe
 * failed (noting the time); dprof_hooks_intact_since() probes again at the end of a
 * window and says whether the layer was in the chain throughout it: it was when the
 * probe passes and no fresh install happened since the window began, because a
 * hook taken out of the chain cannot come back on its own (tracemalloc restores
 * only what it saw at its start, which did not hold a hook installed after it).
 *
 * Contexts. Each installation has its own context (the allocator it wraps, and
 * whether it is the current one). At the last release an installation still on
 * top is taken out and freed; one that another tool wrapped stays installed and
 * current (taking it out would take the other tool's hook out too; that tool's
 * stop puts it back on top, and a later last release takes it out). One found
 * dropped from the chain is retired: a pass-through that neither counts nor
 * samples (so nothing is counted twice, should a saved chain ever call it again),
 * never freed since such a chain may, and kept on a list (reachable, a few dozen
 * bytes each, one per time another tool dropped the layer).
 *
 * Install and removal happen with the GIL held, which is what makes swapping the
 * MEM and OBJ allocators safe: no other thread can be inside them then. The state
 * below is C data only (no Python objects) and is touched only with the GIL held.
 */
#include "module_state.h"
#include "alloc_hooks.h"
#include "memsample_hooks.h"

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

typedef struct hook_ctx {
    /* The countdown the fast path runs: sample_countdown while current. A retired
     * context's points at a constant 0, which sends every call to the slow path,
     * where `current` is read: the fast path then needs no test of its own. */
    int64_t *countdown;
    PyMemAllocatorEx prev;      /* the allocator this installation wraps */
    int current;                /* counts and samples; 0: pass-through */
    struct hook_ctx *retired;   /* next on the list of pass-through contexts */
} hook_ctx;

enum { DOM_MEM, DOM_OBJ, NDOM };
static const PyMemAllocatorDomain domains[NDOM] = {PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

static hook_ctx *installed[NDOM];   /* the current installation per domain, or NULL */
static hook_ctx *retired_list = NULL;
static int users = 0;
static uint64_t reinstalls = 0;
static uint64_t last_reinstall_ns = 0;

/* initial-exec keeps the thread-local access to one instruction beside one load of
 * the block's offset from the GOT (one struct, so one load for both counters); they
 * fit easily in the static TLS surplus that glibc reserves for dlopen'ed modules. */
typedef struct {
    uint64_t allocations;
    uint64_t bytes;
} thread_counts;
static _Thread_local thread_counts counts __attribute__((tls_model("initial-exec")));

/* The sampler's state on the fast path (GIL held). sample_engine is NULL when no
 * session samples. While one does, the engine's countdown is sample_countdown +
 * sample_reserve: sample_countdown is the part up to the engine's `always` size,
 * sample_reserve the rest (the engine's own copy is brought up to date on the slow
 * path only). sample_filter is the engine's live-block filter while one samples,
 * NULL otherwise: the one load a free makes before it knows it can pass straight
 * through. */
#define COUNTDOWN_PARKED INT64_MAX
static dprof_ms *sample_engine = NULL;
static const uint8_t *sample_filter = NULL;
static int64_t sample_countdown = COUNTDOWN_PARKED;
static int64_t sample_reserve = 0;
static int64_t retired_countdown = 0;   /* never written: see hook_ctx.countdown */

static uint64_t
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- the sampler's check (inline on the fast path, the rest out of line) ------- */

/* Hands the engine's countdown to the hooks, capped at its `always` size: every block
 * the engine always samples (size >= always) then takes the countdown to zero or
 * below and reaches the slow path, with no second test on the fast path. When the
 * engine's countdown is above the cap, the slow path is also reached once about
 * `always` bytes have gone by (at most about once per mean bytes, as often as a
 * sample); it adds the reserve back and decides as the engine would have. */
void
dprof_hooks_publish(const dprof_ms *ms, int64_t *countdown, int64_t *reserve)
{
    int64_t cap = ms->always < (uint64_t)INT64_MAX ? (int64_t)ms->always : INT64_MAX;
    *countdown = ms->countdown < cap ? ms->countdown : cap;
    *reserve = ms->countdown - *countdown;
}

/* The fast path's test: 1 when a block of `size` crosses no sample point (the
 * countdown then steps down), 0 when the slow path decides. */
static inline int
countdown_step(int64_t *countdown, size_t size)
{
    int64_t left = *countdown - (int64_t)size;
    if (__builtin_expect(left > 0, 1)) {
        *countdown = left;
        return 1;
    }
    return 0;
}

/* The slow path's decision, as the engine takes it on its whole countdown. */
static int
decide_slow(dprof_ms *ms, int64_t *countdown, int64_t *reserve, size_t size,
            uint64_t *weight)
{
    ms->countdown = *countdown + *reserve;      /* the value before this block */
    int hit = dprof_ms_should_sample(ms, size, weight);
    dprof_hooks_publish(ms, countdown, reserve);
    return hit;
}

int
dprof_hooks_decide(dprof_ms *ms, int64_t *countdown, int64_t *reserve, size_t size,
                   uint64_t *weight)
{
    return !countdown_step(countdown, size)
           && decide_slow(ms, countdown, reserve, size, weight);
}

static void __attribute__((noinline))
sample_slow(void *ptr, size_t size)
{
    dprof_ms *ms = sample_engine;
    if (ms == NULL) {
        sample_countdown = COUNTDOWN_PARKED;    /* drifted while parked: re-park */
        sample_reserve = 0;
        return;
    }
    uint64_t weight;
    /* published before recording: allocations made by the stack walk come next */
    if (decide_slow(ms, &sample_countdown, &sample_reserve, size, &weight)) {
        dprof_ms_sampled(ptr, size, weight);
    }
}

static inline void
sample_check(void *ptr, size_t size)
{
    if (!countdown_step(&sample_countdown, size)) {
        sample_slow(ptr, size);
    }
}

/* A free whose filter byte is set: the block may be a sampled one. The filter is
 * all zeros but for saturated bytes when nothing is live, so the fast path needs no
 * other test; NULL (whose byte may be set by some block) is sorted out here, and
 * forget() finds whether the address is really a live sampled block. */
static void __attribute__((noinline))
forget_if_sampled(void *ptr)
{
    dprof_ms *ms = sample_engine;
    if (ms != NULL && ptr != NULL) {
        (void)dprof_ms_forget(ms, (uintptr_t)ptr, dprof_ms_now_ns);
    }
}

static inline int
may_be_sampled(const void *ptr)
{
    const uint8_t *filter = sample_filter;
    return __builtin_expect(filter != NULL, 0)
           && filter[dprof_ms_filter_slot((uintptr_t)ptr)] != 0;
}

static inline void
sample_free_check(void *ptr)
{
    if (may_be_sampled(ptr)) {
        forget_if_sampled(ptr);
    }
}

void
dprof_hooks_sample_alloc(void *ptr, size_t size)
{
    sample_check(ptr, size);
}

void
dprof_hooks_sample_free(void *ptr)
{
    if (ptr != NULL) {
        sample_free_check(ptr);
    }
}

void
dprof_hooks_sampling_on(dprof_ms *engine)
{
    dprof_hooks_publish(engine, &sample_countdown, &sample_reserve);
    sample_engine = engine;
    sample_filter = engine->filter;
}

void
dprof_hooks_sampling_off(void)
{
    sample_engine = NULL;
    sample_filter = NULL;
    sample_countdown = COUNTDOWN_PARKED;
    sample_reserve = 0;
}

/* --- the hooks ------------------------------------------------------------------ */

/* The usual allocation is decided before the allocator is called, so that calling it
 * is the hook's last act: a jump, with no frame of the hook's own around it (about
 * half of what the hook cost per allocation, in callgrind's count of json.loads).
 * The price is that a request the allocator refuses (MemoryError) is counted too,
 * and moves the sampling countdown as an allocation would: both are off by one per
 * MemoryError. Only an allocation the countdown would sample (about one per mean
 * bytes, and every one of at least the mean) takes the slow path, which has the
 * block's address to record. */
/* GCC would pack the two counter increments into one SSE add (four instructions
 * more than two plain adds to memory); clang does not. */
#if defined(__GNUC__) && !defined(__clang__)
#define FAST_PATH __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define FAST_PATH
#endif

/* The countdown's step for a block of `size` that crosses no sample point (1), or 0
 * (the slow path decides: a sample point, or a retired context). */
static inline int
countdown_fast(hook_ctx *c, size_t size)
{
    return countdown_step(c->countdown, size);
}

static inline int
counted_fast(hook_ctx *c, size_t size)
{
    if (countdown_fast(c, size)) {
        counts.allocations++;
        counts.bytes += size;
        return 1;
    }
    return 0;
}

static void * __attribute__((noinline))
malloc_slow(hook_ctx *c, size_t size)
{
    void *ptr = c->prev.malloc(c->prev.ctx, size);
    if (ptr != NULL && c->current) {
        counts.allocations++;
        counts.bytes += size;
        sample_check(ptr, size);
    }
    return ptr;
}

static void * FAST_PATH
hook_malloc(void *ctx, size_t size)
{
    hook_ctx *c = (hook_ctx *)ctx;
    if (!counted_fast(c, size)) {
        return malloc_slow(c, size);
    }
    return c->prev.malloc(c->prev.ctx, size);
}

static void * __attribute__((noinline))
calloc_slow(hook_ctx *c, size_t nelem, size_t elsize, size_t size)
{
    void *ptr = c->prev.calloc(c->prev.ctx, nelem, elsize);
    if (ptr != NULL && c->current) {
        counts.allocations++;
        counts.bytes += size;
        sample_check(ptr, size);
    }
    return ptr;
}

static void * FAST_PATH
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    hook_ctx *c = (hook_ctx *)ctx;
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size)) {
        /* the allocator refuses it: nothing to count */
        return c->prev.calloc(c->prev.ctx, nelem, elsize);
    }
    if (!counted_fast(c, size)) {
        return calloc_slow(c, nelem, elsize, size);
    }
    return c->prev.calloc(c->prev.ctx, nelem, elsize);
}

static void * __attribute__((noinline))
realloc_slow(hook_ctx *c, void *old, size_t new_size)
{
    void *ptr = c->prev.realloc(c->prev.ctx, old, new_size);
    if (ptr != NULL && c->current) {
        /* for the counter realloc(NULL, n) is an allocation and resizing a live
         * block is not a new one; for the sampler a resize is the old block's free
         * and a new block's allocation (on failure the old block is still there) */
        if (old == NULL) {
            counts.allocations++;
            counts.bytes += new_size;
        } else {
            sample_free_check(old);
        }
        sample_check(ptr, new_size);
    }
    return ptr;
}

/* As malloc: the usual resize (an old block the live filter does not hold, a new size
 * that crosses no sample point) is decided before the allocator is called, which is
 * then a jump. Resizing a live block is no new allocation for the counter. */
static void * FAST_PATH
hook_realloc(void *ctx, void *old, size_t new_size)
{
    hook_ctx *c = (hook_ctx *)ctx;
    int fast = old == NULL ? counted_fast(c, new_size)
                           : !may_be_sampled(old) && countdown_fast(c, new_size);
    if (!fast) {
        return realloc_slow(c, old, new_size);
    }
    return c->prev.realloc(c->prev.ctx, old, new_size);
}

static void __attribute__((noinline))
free_maybe_sampled(hook_ctx *c, void *ptr)
{
    if (c->current) {
        forget_if_sampled(ptr);     /* before the address can be reused */
    }
    c->prev.free(c->prev.ctx, ptr);
}

static void
hook_free(void *ctx, void *ptr)
{
    hook_ctx *c = (hook_ctx *)ctx;
    /* Only a block the live filter may hold leaves the fast path, whose last act is
     * the allocator's call (a jump, as in hook_malloc): with sampling off that is one
     * load and a branch, with it on a hash and one byte more. */
    if (may_be_sampled(ptr)) {
        free_maybe_sampled(c, ptr);
        return;
    }
    c->prev.free(c->prev.ctx, ptr);
}

/* --- installing, probing, removing (GIL held) --------------------------------- */

static void
retire(hook_ctx *c)
{
    c->countdown = &retired_countdown;
    c->current = 0;
    c->retired = retired_list;
    retired_list = c;
}

/* Whether an allocation in domain d reaches the current installation: one block
 * allocated and freed, this thread's count restored. Not sampled (parked for the
 * probe). -1 when the probe block could not be allocated (then nothing is known). */
static int
probe(int d)
{
    uint64_t allocations = counts.allocations, bytes = counts.bytes;
    dprof_ms *engine = sample_engine;
    const uint8_t *filter = sample_filter;
    int64_t countdown = sample_countdown;
    int64_t reserve = sample_reserve;
    sample_engine = NULL;
    sample_filter = NULL;
    sample_countdown = COUNTDOWN_PARKED;
    sample_reserve = 0;
    void *p = d == DOM_MEM ? PyMem_Malloc(1) : PyObject_Malloc(1);
    int seen = counts.allocations != allocations;
    if (d == DOM_MEM) {
        PyMem_Free(p);
    } else {
        PyObject_Free(p);
    }
    sample_engine = engine;
    sample_filter = filter;
    sample_countdown = countdown;
    sample_reserve = reserve;
    counts.allocations = allocations;
    counts.bytes = bytes;
    return p == NULL ? -1 : seen;
}

static int
install(int d)
{
    hook_ctx *c = calloc(1, sizeof(hook_ctx));
    if (c == NULL) {
        return -1;
    }
    PyMem_GetAllocator(domains[d], &c->prev);
    c->countdown = &sample_countdown;
    c->current = 1;
    PyMemAllocatorEx hook = {c, hook_malloc, hook_calloc, hook_realloc, hook_free};
    PyMem_SetAllocator(domains[d], &hook);
    installed[d] = c;
    return 0;
}

/* Takes domain d's installation out where it is still on top (and frees it).
 * Where another tool wrapped it, it stays installed and current, still counting
 * in that chain: taking it out would take the other tool's hook out too. A later
 * acquire finds it by its probe, a later last release takes it out once on top. */
static void
remove_domain(int d)
{
    hook_ctx *c = installed[d];
    if (c == NULL) {
        return;
    }
    PyMemAllocatorEx current;
    PyMem_GetAllocator(domains[d], &current);
    if (current.malloc == hook_malloc && current.ctx == c) {
        PyMem_SetAllocator(domains[d], &c->prev);
        installed[d] = NULL;
        free(c);
    }
}

int
dprof_hooks_acquire(void)
{
    if (users == INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many users of the allocator hooks");
        return -1;
    }
    for (int d = 0; d < NDOM; d++) {
        if (installed[d] != NULL && probe(d) == 0) {
            /* taken out of the chain (tracemalloc.stop()): it may still be in some
             * saved chain, so it is retired, not freed */
            retire(installed[d]);
            installed[d] = NULL;
            reinstalls++;
            last_reinstall_ns = monotonic_ns();
        }
        if (installed[d] == NULL && install(d) < 0) {
            if (users == 0) {
                for (int e = 0; e < d; e++) {
                    remove_domain(e);
                }
            }
            PyErr_NoMemory();
            return -1;
        }
    }
    users++;
    return 0;
}

void
dprof_hooks_release(void)
{
    if (users <= 0) {
        return;
    }
    if (--users == 0) {
        for (int d = 0; d < NDOM; d++) {
            remove_domain(d);
        }
    }
}

int
dprof_hooks_installed(void)
{
    return installed[DOM_MEM] != NULL && installed[DOM_OBJ] != NULL;
}

int
dprof_hooks_intact_since(uint64_t since_ns)
{
    if (reinstalls != 0 && last_reinstall_ns >= since_ns) {
        return 0;
    }
    for (int d = 0; d < NDOM; d++) {
        /* a probe that could not allocate tells nothing: not counted as a loss */
        if (installed[d] == NULL || probe(d) == 0) {
            return 0;
        }
    }
    return 1;
}

void
dprof_hooks_thread_counts(uint64_t *allocations, uint64_t *bytes)
{
    *allocations = counts.allocations;
    *bytes = counts.bytes;
}
