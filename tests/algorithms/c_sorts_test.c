/* Pure-C test of the numeric sort engines (csrc/sorts_numeric.c), no Python.
 * Built and run by test_sorts_c.py (gcc, plain and under ASan + UBSan, which also
 * catches leaks of the engines' buffers). Prints "ok" when every check passed. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sorts.h"

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                 \
            failures++;                                               \
        }                                                             \
    } while (0)

static uint64_t rng_state = 12345;

static uint64_t
rnd(void)
{
    return dprof_splitmix64_next(&rng_state);
}

static int
sort_one(dprof_sort_algo algo, dprof_sort_dtype dtype, void *data, size_t n,
         dprof_sort_pivot pivot, dprof_sort_counts *counts)
{
    dprof_sort_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.pivot = pivot;
    ctx.rng = 42;
    int rc = dprof_sort_numeric(algo, dtype, data, n, &ctx);
    if (counts != NULL) {
        *counts = ctx.counts;
    }
    return rc;
}

/* Reference order of every dtype, for qsort. */
#define DEFINE_CMP(name, T)                                         \
    static int name(const void *x, const void *y)                   \
    {                                                               \
        T a = *(const T *)x, b = *(const T *)y;                     \
        return (a > b) - (a < b);                                   \
    }
DEFINE_CMP(cmp_i8, int8_t)
DEFINE_CMP(cmp_u8, uint8_t)
DEFINE_CMP(cmp_i16, int16_t)
DEFINE_CMP(cmp_u16, uint16_t)
DEFINE_CMP(cmp_i32, int32_t)
DEFINE_CMP(cmp_u32, uint32_t)
DEFINE_CMP(cmp_i64, int64_t)
DEFINE_CMP(cmp_u64, uint64_t)
DEFINE_CMP(cmp_f32, float)
DEFINE_CMP(cmp_f64, double)

static int (*const cmps[DPROF_DTYPE__COUNT])(const void *, const void *) = {
    cmp_i8, cmp_u8, cmp_i16, cmp_u16, cmp_i32, cmp_u32, cmp_i64, cmp_u64, cmp_f32, cmp_f64,
};

/* Random contents of every width: raw random bits for integers (so the full
 * range, both signs, is covered), random finite values for floats; `narrow`
 * keeps values in a small range (for counting sort and duplicates). */
static void
fill(dprof_sort_dtype dtype, void *data, size_t n, int narrow)
{
    size_t size = dprof_sort_dtype_size(dtype);
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rnd();
        if (narrow) {
            r = r % 200;
        }
        if (dtype == DPROF_DTYPE_F32) {
            ((float *)data)[i] = (float)((double)(int64_t)r / 1e9);
        }
        else if (dtype == DPROF_DTYPE_F64) {
            ((double *)data)[i] = (double)(int64_t)r / 1e9;
        }
        else if (narrow && (dtype % 2) == 0) {     /* signed: around zero */
            int64_t v = (int64_t)r - 100;
            memcpy((char *)data + i * size, &v, size); /* little-endian low bytes */
        }
        else {
            memcpy((char *)data + i * size, &r, size);
        }
    }
}

static void
test_every_dtype_and_algorithm(void)
{
    const size_t sizes[] = {0, 1, 2, 3, 7, 64, 513};
    for (int dtype = 0; dtype < DPROF_DTYPE__COUNT; dtype++) {
        size_t size = dprof_sort_dtype_size((dprof_sort_dtype)dtype);
        for (int algo = 0; algo < DPROF_SORT__COUNT; algo++) {
            int integer_only = algo == DPROF_SORT_COUNTING || algo == DPROF_SORT_RADIX;
            for (int pivot = 0; pivot < DPROF_PIVOT__COUNT; pivot++) {
                for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                    size_t n = sizes[s];
                    char *data = malloc(size * n + 1), *want = malloc(size * n + 1);
                    int narrow = algo == DPROF_SORT_COUNTING || (s % 2);
                    fill((dprof_sort_dtype)dtype, data, n, narrow);
                    memcpy(want, data, size * n);
                    qsort(want, n, size, cmps[dtype]);
                    int rc = sort_one((dprof_sort_algo)algo, (dprof_sort_dtype)dtype,
                                      data, n, (dprof_sort_pivot)pivot, NULL);
                    if (integer_only && dprof_sort_dtype_is_float((dprof_sort_dtype)dtype)) {
                        CHECK(rc == DPROF_SORT_UNSUPPORTED);
                    }
                    else {
                        CHECK(rc == DPROF_SORT_OK);
                        if (memcmp(data, want, size * n) != 0) {
                            fprintf(stderr, "%s dtype %d pivot %d n %zu: wrong order\n",
                                    dprof_sort_algo_names[algo], dtype, pivot, n);
                            failures++;
                        }
                    }
                    free(data);
                    free(want);
                }
            }
        }
    }
}

/* Counts of small cases worked out by hand from the algorithms' definitions. */
static void
test_known_counts(void)
{
    dprof_sort_counts c;
    int32_t a[3] = {3, 2, 1};
    CHECK(sort_one(DPROF_SORT_BUBBLE, DPROF_DTYPE_I32, a, 3, DPROF_PIVOT_MEDIAN, &c) == 0);
    CHECK(a[0] == 1 && a[1] == 2 && a[2] == 3);
    /* 3 comparisons, each 2 reads; 3 swaps, each 2 reads and 2 writes */
    CHECK(c.comparisons == 3 && c.swaps == 3 && c.reads == 12 && c.writes == 6
          && c.moves == 0);

    int32_t b[4] = {1, 2, 3, 4};
    CHECK(sort_one(DPROF_SORT_BUBBLE, DPROF_DTYPE_I32, b, 4, DPROF_PIVOT_MEDIAN, &c) == 0);
    CHECK(c.comparisons == 3 && c.swaps == 0 && c.reads == 6);   /* one pass */

    int32_t d[3] = {2, 3, 1};
    CHECK(sort_one(DPROF_SORT_INSERTION, DPROF_DTYPE_I32, d, 3, DPROF_PIVOT_MEDIAN, &c) == 0);
    /* i=1: hold 3, compare with 2, store: 1 cmp, 2 reads, 1 write, 2 moves;
     * i=2: hold 1, compare 3 (shift), compare 2 (shift), store:
     *      2 cmp, 1 + 2*2 reads, 3 writes, 4 moves */
    CHECK(d[0] == 1 && d[1] == 2 && d[2] == 3);
    CHECK(c.comparisons == 3 && c.reads == 7 && c.writes == 4 && c.moves == 6
          && c.swaps == 0);

    /* Quick sort with the first element as pivot on sorted input: every
     * partition splits off one element, n(n+1)/2 - 1 comparisons. */
    int64_t s[100];
    for (int i = 0; i < 100; i++) {
        s[i] = i;
    }
    CHECK(sort_one(DPROF_SORT_QUICK, DPROF_DTYPE_I64, s, 100, DPROF_PIVOT_FIRST, &c) == 0);
    /* segment [lo, hi] of m elements: m scans down by j, 1 by i */
    uint64_t expect = 0;
    for (uint64_t m = 2; m <= 100; m++) {
        expect += m + 1;
    }
    CHECK(c.comparisons == expect && c.swaps == 0);

    /* Counting sort of n elements: 4n reads, 2n writes, 2n moves. */
    uint8_t u[5] = {9, 3, 9, 0, 255};
    CHECK(sort_one(DPROF_SORT_COUNTING, DPROF_DTYPE_U8, u, 5, DPROF_PIVOT_MEDIAN, &c) == 0);
    CHECK(u[0] == 0 && u[1] == 3 && u[2] == 9 && u[3] == 9 && u[4] == 255);
    CHECK(c.reads == 20 && c.writes == 10 && c.moves == 10 && c.comparisons == 0);
}

static void
test_integer_extremes(void)
{
    int64_t a[6] = {INT64_MAX, -1, INT64_MIN, 0, 1, INT64_MIN + 1};
    CHECK(sort_one(DPROF_SORT_RADIX, DPROF_DTYPE_I64, a, 6, DPROF_PIVOT_MEDIAN, NULL) == 0);
    CHECK(a[0] == INT64_MIN && a[1] == INT64_MIN + 1 && a[2] == -1 && a[3] == 0
          && a[4] == 1 && a[5] == INT64_MAX);
    uint64_t b[4] = {UINT64_MAX, 0, (uint64_t)1 << 63, 1};
    CHECK(sort_one(DPROF_SORT_RADIX, DPROF_DTYPE_U64, b, 4, DPROF_PIVOT_MEDIAN, NULL) == 0);
    CHECK(b[0] == 0 && b[1] == 1 && b[2] == (uint64_t)1 << 63 && b[3] == UINT64_MAX);

    /* Counting sort: the full int64 span is refused with the span reported and
     * the array untouched; a full 16-bit range is always accepted. */
    int64_t w[3] = {INT64_MAX, 5, INT64_MIN};
    dprof_sort_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    CHECK(dprof_sort_numeric(DPROF_SORT_COUNTING, DPROF_DTYPE_I64, w, 3, &ctx)
          == DPROF_SORT_RANGE);
    CHECK(ctx.span == UINT64_MAX);
    CHECK(w[0] == INT64_MAX && w[1] == 5 && w[2] == INT64_MIN);
    CHECK(ctx.counts.reads == 0);
    int16_t h[3] = {INT16_MAX, INT16_MIN, 0};
    CHECK(sort_one(DPROF_SORT_COUNTING, DPROF_DTYPE_I16, h, 3, DPROF_PIVOT_MEDIAN, NULL) == 0);
    CHECK(h[0] == INT16_MIN && h[1] == 0 && h[2] == INT16_MAX);
    CHECK(dprof_counting_span_limit(0) == DPROF_COUNTING_SPAN_BASE);
    CHECK(dprof_counting_span_limit(SIZE_MAX) == UINT64_MAX);
}

/* Stable algorithms keep equal keys in input order (pairs carry the index). */
static void
test_stability(void)
{
    enum { N = 2000 };
    dprof_sort_pair_i64 *p = malloc(sizeof *p * N);
    const dprof_sort_algo stable[] = {DPROF_SORT_BUBBLE, DPROF_SORT_INSERTION,
                                      DPROF_SORT_MERGE, DPROF_SORT_MERGE_BOTTOM_UP,
                                      DPROF_SORT_COUNTING, DPROF_SORT_RADIX};
    for (size_t k = 0; k < sizeof stable / sizeof stable[0]; k++) {
        for (size_t i = 0; i < N; i++) {
            p[i].key = (int64_t)(rnd() % 10) - 5;
            p[i].item = (void *)(uintptr_t)i;
        }
        dprof_sort_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        CHECK(dprof_sort_pairs_i64(stable[k], p, N, &ctx) == DPROF_SORT_OK);
        for (size_t i = 1; i < N; i++) {
            if (p[i - 1].key > p[i].key
                || (p[i - 1].key == p[i].key && p[i - 1].item > p[i].item)) {
                fprintf(stderr, "%s: not stable at %zu\n", dprof_sort_algo_names[stable[k]], i);
                failures++;
                break;
            }
        }
    }
    dprof_sort_pair_f64 f[3] = {{2.5, (void *)1}, {-0.0, (void *)2}, {0.0, (void *)3}};
    dprof_sort_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    CHECK(dprof_sort_pairs_f64(DPROF_SORT_MERGE, f, 3, &ctx) == DPROF_SORT_OK);
    CHECK(f[0].item == (void *)2 && f[1].item == (void *)3 && f[2].item == (void *)1);
    CHECK(dprof_sort_pairs_f64(DPROF_SORT_RADIX, f, 3, &ctx) == DPROF_SORT_UNSUPPORTED);
    free(p);
}

static void
test_names_prng_nan(void)
{
    for (int i = 0; i < DPROF_SORT__COUNT; i++) {
        CHECK(dprof_sort_algo_from_name(dprof_sort_algo_names[i]) == i);
    }
    CHECK(dprof_sort_algo_from_name("bogo_sort") == -1);
    CHECK(dprof_sort_pivot_from_name("median") == DPROF_PIVOT_MEDIAN);
    CHECK(dprof_sort_pivot_from_name("middle") == -1);
    uint64_t state = 0;
    /* The reference splitmix64 sequence from seed 0. */
    CHECK(dprof_splitmix64_next(&state) == UINT64_C(0xE220A8397B1DCDAF));
    CHECK(dprof_splitmix64_next(&state) == UINT64_C(0x6E789E6AA1B965F4));
    double d[4] = {1, 2, NAN, 3};
    float f[2] = {1, 2};
    CHECK(dprof_sort_find_nan(DPROF_DTYPE_F64, d, 4) == 2);
    CHECK(dprof_sort_find_nan(DPROF_DTYPE_F32, f, 2) == 2);
}

int
main(void)
{
    test_every_dtype_and_algorithm();
    test_known_counts();
    test_integer_extremes();
    test_stability();
    test_names_prng_nan();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}
