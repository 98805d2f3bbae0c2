/* Pure-C test of the allocation sampler's engine (csrc/memsample.c): interning, the
 * live-block table (insert, backward-shift delete, growth) and the lazy peak
 * snapshot, each against a brute-force oracle kept alongside. Prints "ok". Built and
 * run by test_memsample_c.py, plain and under ASan+UBSan with leak detection. */
#include "memsample.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
    exit(1); } } while (0)

#define NSTACKS 7
#define NBLOCKS 20000

static uint64_t clock_value = 0;
static uint64_t fake_clock(void) { return ++clock_value; }

int
main(void)
{
    static dprof_ms ms;
    CHECK(dprof_ms_init(&ms, 4096.0, 42) == 0);

    /* interning: the same (code, line) and stack give the same id */
    int is_new = 0;
    int32_t f0 = dprof_ms_intern_frame(&ms, 0x1000, 3, &is_new);
    CHECK(f0 == 0 && is_new);
    CHECK(dprof_ms_intern_frame(&ms, 0x1000, 3, &is_new) == f0 && !is_new);
    CHECK(dprof_ms_intern_frame(&ms, 0x1000, 4, &is_new) == 1 && is_new);
    uint32_t stacks[NSTACKS];
    for (uint32_t s = 0; s < NSTACKS; s++) {
        uint32_t frames[3] = {s, s + 1, s + 2};
        for (uint32_t j = 0; j < 3; j++) {
            (void)dprof_ms_intern_frame(&ms, 0x2000 + frames[j], (int)frames[j], &is_new);
        }
        int32_t id = dprof_ms_intern_stack(&ms, frames, 3);
        CHECK(id >= 0);
        CHECK(dprof_ms_intern_stack(&ms, frames, 3) == id);
        stacks[s] = (uint32_t)id;
    }
    CHECK(dprof_ms_intern_stack(&ms, NULL, 0) >= 0);   /* an empty stack is a stack */

    /* random records and frees, with an oracle of live blocks and per-stack bytes */
    static uintptr_t addr[NBLOCKS];
    static uint64_t weight[NBLOCKS];
    static uint32_t owner[NBLOCKS];
    static int alive[NBLOCKS];
    uint64_t live[NSTACKS] = {0}, at_peak[NSTACKS] = {0}, total = 0, peak = 0;
    uint64_t rng = 7;
    for (int round = 0; round < 200000; round++) {
        uint32_t i = (uint32_t)(dprof_ms_rng_next(&rng) % NBLOCKS);
        if (!alive[i]) {
            addr[i] = 0x10000 + (uintptr_t)i * 16;
            weight[i] = 1 + dprof_ms_rng_next(&rng) % 10000;
            owner[i] = (uint32_t)(dprof_ms_rng_next(&rng) % NSTACKS);
            CHECK(dprof_ms_record(&ms, addr[i], weight[i], weight[i], stacks[owner[i]],
                                  fake_clock()) == 0);
            alive[i] = 1;
            live[owner[i]] += weight[i];
            total += weight[i];
            if (total > peak) {
                peak = total;
                memcpy(at_peak, live, sizeof(live));
            }
        } else {
            CHECK(dprof_ms_on_free(&ms, addr[i], fake_clock) == 1);
            alive[i] = 0;
            live[owner[i]] -= weight[i];
            total -= weight[i];
        }
        /* a free of an address never recorded is not a hit */
        CHECK(dprof_ms_on_free(&ms, 0x9000000 + (uintptr_t)round * 16, fake_clock) == 0);
    }
    CHECK(ms.live_total == total && ms.peak_total == peak);
    for (uint32_t s = 0; s < NSTACKS; s++) {
        CHECK(ms.stacks[stacks[s]].live_bytes == live[s]);
        CHECK(dprof_ms_stack_peak_live(&ms, stacks[s]) == at_peak[s]);
    }
    /* the timeline: one event per record and hit free, live bytes replayable */
    uint64_t replay = 0;
    for (uint32_t k = 0; k < ms.tl_len; k++) {
        replay += (uint64_t)ms.tl_delta[k];
        CHECK(replay == ms.tl_live[k]);
    }
    CHECK(replay == total);
    dprof_ms_free(&ms);

    /* the decision: sizes at or above the mean always sampled with their size */
    CHECK(dprof_ms_init(&ms, 1000.0, 1) == 0);
    uint64_t w = 0;
    CHECK(dprof_ms_should_sample(&ms, 1000, &w) == 1 && w == 1000);
    uint64_t sum = 0;
    for (int k = 0; k < 1000000; k++) {
        if (dprof_ms_should_sample(&ms, 10, &w)) {
            sum += w;
        }
    }
    /* 10 MB in 10-byte blocks at mean 1000: sd sqrt(1e7 * 1000) = 1e5 (1%) */
    CHECK(sum > 9500000 && sum < 10500000);
    dprof_ms_free(&ms);
    CHECK(dprof_ms_init(&ms, 0.0, 1) == -1);
    puts("ok");
    return 0;
}
