/* Engine of the allocation sampler (see memsample.h): the PRNG and exponential
 * draw, frame and stack interning, the live-block table and the peak snapshot.
 * Plain C, no Python.h; every buffer comes from malloc/realloc.
 */
#include "memsample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t
dprof_ms_rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t
dprof_ms_draw(uint64_t *state, double mean)
{
    double u = (double)(dprof_ms_rng_next(state) >> 11) * 0x1.0p-53;
    double x = ceil(-mean * log1p(-u));
    if (!(x >= 1.0)) {
        return 1;
    }
    if (x > 9.0e18) {           /* keeps the countdown arithmetic in int64 */
        return (uint64_t)9.0e18;
    }
    return (uint64_t)x;
}

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Grows *buf (of *cap elements of `size` bytes) to hold at least `need`. */
static int
grow(void **buf, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap) {
        return 0;
    }
    uint64_t n = *cap ? (uint64_t)*cap * 2 : 64;
    while (n < need) {
        n *= 2;
    }
    if (n > UINT32_MAX) {
        return -1;
    }
    void *p = realloc(*buf, (size_t)n * size);
    if (p == NULL) {
        return -1;
    }
    *buf = p;
    *cap = (uint32_t)n;
    return 0;
}

int
dprof_ms_init(dprof_ms *ms, double mean, uint64_t seed)
{
    memset(ms, 0, sizeof(*ms));
    if (!(mean > 0)) {
        return -1;
    }
    ms->rng = seed;
    ms->mean = mean;
    ms->always = (uint64_t)ceil(mean);   /* size >= mean  <=>  size >= ceil(mean) */
    ms->countdown = (int64_t)dprof_ms_draw(&ms->rng, mean);
    return 0;
}

void
dprof_ms_free(dprof_ms *ms)
{
    free(ms->frames);
    free(ms->frame_index);
    free(ms->pool);
    free(ms->stacks);
    free(ms->stack_index);
    free(ms->live);
    free(ms->tl_t_ns);
    free(ms->tl_live);
    free(ms->tl_stack);
    free(ms->tl_delta);
    memset(ms, 0, sizeof(*ms));
}

/* --- interning -------------------------------------------------------------- */

static uint64_t
frame_hash(uintptr_t code, int line)
{
    return mix64((uint64_t)code ^ ((uint64_t)(uint32_t)line << 40) ^ (uint64_t)line);
}

static uint64_t
stack_hash(const uint32_t *frames, uint32_t depth)
{
    uint64_t h = 0x84222325cbf29ce4ull ^ depth;
    for (uint32_t i = 0; i < depth; i++) {
        h = mix64(h ^ frames[i]);
    }
    return h;
}

/* Rebuilds a hash index (slots hold id + 1) of `n` items at twice their count. */
static int
reindex(uint32_t **index, uint32_t *index_cap, uint32_t n,
        uint64_t (*hash_of)(const dprof_ms *, uint32_t), const dprof_ms *ms)
{
    uint32_t cap = *index_cap ? *index_cap : 64;
    while (cap < 2u * (n + 1)) {
        cap *= 2;
    }
    uint32_t *idx = calloc(cap, sizeof(uint32_t));
    if (idx == NULL) {
        return -1;
    }
    for (uint32_t id = 0; id < n; id++) {
        uint32_t slot = (uint32_t)hash_of(ms, id) & (cap - 1);
        while (idx[slot] != 0) {
            slot = (slot + 1) & (cap - 1);
        }
        idx[slot] = id + 1;
    }
    free(*index);
    *index = idx;
    *index_cap = cap;
    return 0;
}

static uint64_t
frame_hash_of(const dprof_ms *ms, uint32_t id)
{
    return frame_hash(ms->frames[id].code, ms->frames[id].line);
}

static uint64_t
stack_hash_of(const dprof_ms *ms, uint32_t id)
{
    return ms->stacks[id].hash;
}

int32_t
dprof_ms_intern_frame(dprof_ms *ms, uintptr_t code, int line, int *is_new)
{
    *is_new = 0;
    if (2u * (ms->nframes + 1) > ms->frame_index_cap &&
        reindex(&ms->frame_index, &ms->frame_index_cap, ms->nframes,
                frame_hash_of, ms) < 0) {
        return -1;
    }
    uint32_t mask = ms->frame_index_cap - 1;
    uint32_t slot = (uint32_t)frame_hash(code, line) & mask;
    while (ms->frame_index[slot] != 0) {
        uint32_t id = ms->frame_index[slot] - 1;
        if (ms->frames[id].code == code && ms->frames[id].line == line) {
            return (int32_t)id;
        }
        slot = (slot + 1) & mask;
    }
    if (ms->nframes >= INT32_MAX ||
        grow((void **)&ms->frames, &ms->cap_frames, ms->nframes + 1,
             sizeof(dprof_ms_frame)) < 0) {
        return -1;
    }
    uint32_t id = ms->nframes++;
    ms->frames[id].code = code;
    ms->frames[id].line = line;
    ms->frame_index[slot] = id + 1;
    *is_new = 1;
    return (int32_t)id;
}

int32_t
dprof_ms_intern_stack(dprof_ms *ms, const uint32_t *frames, uint32_t depth)
{
    if (2u * (ms->nstacks + 1) > ms->stack_index_cap &&
        reindex(&ms->stack_index, &ms->stack_index_cap, ms->nstacks,
                stack_hash_of, ms) < 0) {
        return -1;
    }
    uint64_t h = stack_hash(frames, depth);
    uint32_t mask = ms->stack_index_cap - 1;
    uint32_t slot = (uint32_t)h & mask;
    while (ms->stack_index[slot] != 0) {
        dprof_ms_stack *s = &ms->stacks[ms->stack_index[slot] - 1];
        if (s->hash == h && s->depth == depth &&
            memcmp(ms->pool + s->first, frames, depth * sizeof(uint32_t)) == 0) {
            return (int32_t)(ms->stack_index[slot] - 1);
        }
        slot = (slot + 1) & mask;
    }
    if (ms->nstacks >= INT32_MAX || ms->npool > UINT32_MAX - depth ||
        grow((void **)&ms->pool, &ms->cap_pool, ms->npool + depth, sizeof(uint32_t)) < 0 ||
        grow((void **)&ms->stacks, &ms->cap_stacks, ms->nstacks + 1,
             sizeof(dprof_ms_stack)) < 0) {
        return -1;
    }
    uint32_t id = ms->nstacks++;
    dprof_ms_stack *s = &ms->stacks[id];
    memset(s, 0, sizeof(*s));
    s->first = ms->npool;
    s->depth = depth;
    s->hash = h;
    if (depth) {
        memcpy(ms->pool + ms->npool, frames, depth * sizeof(uint32_t));
    }
    ms->npool += depth;
    ms->stack_index[slot] = id + 1;
    return (int32_t)id;
}

/* --- live blocks ------------------------------------------------------------ */

static uint64_t
no_clock(void)
{
    return 0;
}

static inline size_t
addr_slot(uintptr_t addr, size_t cap)
{
    return (size_t)mix64((uint64_t)addr) & (cap - 1);
}

static int
live_grow(dprof_ms *ms)
{
    size_t cap = ms->live_cap ? ms->live_cap * 2 : 1024;
    dprof_ms_live *t = calloc(cap, sizeof(dprof_ms_live));
    if (t == NULL) {
        return -1;
    }
    for (size_t i = 0; i < ms->live_cap; i++) {
        if (ms->live[i].addr != 0) {
            size_t slot = addr_slot(ms->live[i].addr, cap);
            while (t[slot].addr != 0) {
                slot = (slot + 1) & (cap - 1);
            }
            t[slot] = ms->live[i];
        }
    }
    free(ms->live);
    ms->live = t;
    ms->live_cap = cap;
    return 0;
}

/* Before a stack's live bytes change: keep its value at the current peak aside the
 * first time it changes after that peak. */
static inline void
touch_stack(dprof_ms *ms, dprof_ms_stack *s)
{
    if (s->peak_tag != ms->peak_tag) {
        s->peak_live = s->live_bytes;
        s->peak_tag = ms->peak_tag;
    }
}

static void
timeline_add(dprof_ms *ms, uint64_t t_ns, uint32_t stack, int64_t delta)
{
    if (ms->tl_len >= DPROF_MS_TIMELINE_CAP) {
        ms->tl_truncated = 1;
        return;
    }
    if (ms->tl_len == ms->tl_cap) {
        uint32_t cap = ms->tl_cap;
        if (grow((void **)&ms->tl_t_ns, &cap, ms->tl_len + 1, sizeof(uint64_t)) < 0) {
            ms->tl_truncated = 1;
            return;
        }
        cap = ms->tl_cap;
        if (grow((void **)&ms->tl_live, &cap, ms->tl_len + 1, sizeof(uint64_t)) < 0) {
            ms->tl_truncated = 1;
            return;
        }
        cap = ms->tl_cap;
        if (grow((void **)&ms->tl_stack, &cap, ms->tl_len + 1, sizeof(uint32_t)) < 0) {
            ms->tl_truncated = 1;
            return;
        }
        cap = ms->tl_cap;
        if (grow((void **)&ms->tl_delta, &cap, ms->tl_len + 1, sizeof(int64_t)) < 0) {
            ms->tl_truncated = 1;
            return;
        }
        ms->tl_cap = cap;
    }
    ms->tl_t_ns[ms->tl_len] = t_ns;
    ms->tl_live[ms->tl_len] = ms->live_total;
    ms->tl_stack[ms->tl_len] = stack;
    ms->tl_delta[ms->tl_len] = delta;
    ms->tl_len++;
}

int
dprof_ms_record(dprof_ms *ms, uintptr_t addr, size_t size, uint64_t weight,
                uint32_t stack, uint64_t t_ns)
{
    if (stack >= ms->nstacks || addr == 0) {
        ms->errors++;
        return -1;
    }
    /* a block at an address we think is live was freed behind our back (a free we
     * could not see): forget the old one first */
    if (dprof_ms_on_free(ms, addr, no_clock) && ms->tl_len && !ms->tl_truncated) {
        ms->tl_t_ns[ms->tl_len - 1] = t_ns;   /* the point that free added is now */
    }
    if (2 * (ms->live_count + 1) > ms->live_cap && live_grow(ms) < 0) {
        ms->errors++;
        return -1;
    }
    size_t slot = addr_slot(addr, ms->live_cap);
    while (ms->live[slot].addr != 0) {
        slot = (slot + 1) & (ms->live_cap - 1);
    }
    ms->live[slot].addr = addr;
    ms->live[slot].weight = weight;
    ms->live[slot].stack = stack;
    ms->live_count++;
    uint8_t *f = &ms->filter[dprof_ms_filter_slot(addr)];
    if (*f < 255) {
        (*f)++;
    }

    dprof_ms_stack *s = &ms->stacks[stack];
    touch_stack(ms, s);
    s->alloc_bytes += weight;
    s->alloc_samples++;
    s->alloc_count += size ? (double)weight / (double)size : 0.0;
    s->live_bytes += weight;
    ms->allocated += weight;
    ms->samples++;
    ms->live_total += weight;
    if (ms->live_total > ms->peak_total) {
        /* a new peak: every stack's current live bytes are its peak values, which
         * touch_stack copies aside lazily */
        ms->peak_total = ms->live_total;
        ms->peak_tag++;
        ms->peak_t_ns = t_ns;
    }
    timeline_add(ms, t_ns, stack, (int64_t)weight);
    return 0;
}

int
dprof_ms_forget(dprof_ms *ms, uintptr_t addr, dprof_ms_clock clock)
{
    if (addr == 0 || ms->live_cap == 0) {
        return 0;       /* 0 marks an empty slot: it is never a block */
    }
    size_t mask = ms->live_cap - 1;
    size_t slot = addr_slot(addr, ms->live_cap);
    while (ms->live[slot].addr != addr) {
        if (ms->live[slot].addr == 0) {
            return 0;
        }
        slot = (slot + 1) & mask;
    }
    dprof_ms_live gone = ms->live[slot];
    /* backward-shift deletion keeps linear probing correct without tombstones */
    size_t hole = slot;
    size_t next = (slot + 1) & mask;
    while (ms->live[next].addr != 0) {
        size_t home = addr_slot(ms->live[next].addr, ms->live_cap);
        /* move next into the hole if its home is not in (hole, next] cyclically */
        if (((next - home) & mask) >= ((next - hole) & mask)) {
            ms->live[hole] = ms->live[next];
            hole = next;
        }
        next = (next + 1) & mask;
    }
    ms->live[hole].addr = 0;
    ms->live_count--;
    uint8_t *f = &ms->filter[dprof_ms_filter_slot(addr)];
    if (*f < 255) {         /* a saturated counter stays: it only costs lookups */
        (*f)--;
    }

    dprof_ms_stack *s = &ms->stacks[gone.stack];
    touch_stack(ms, s);
    s->live_bytes -= gone.weight;
    ms->live_total -= gone.weight;
    timeline_add(ms, (clock ? clock : no_clock)(), gone.stack, -(int64_t)gone.weight);
    return 1;
}

uint64_t
dprof_ms_stack_peak_live(const dprof_ms *ms, uint32_t stack)
{
    const dprof_ms_stack *s = &ms->stacks[stack];
    return s->peak_tag == ms->peak_tag ? s->peak_live : s->live_bytes;
}
