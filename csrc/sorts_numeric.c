/* The numeric sort engines: sorts_template.h instantiated for every integer and
 * float width and for the (key, pointer) pairs of the object fast paths, the
 * splitmix64 PRNG, the names and the dispatch. No Python.h: the binding runs all
 * of this without the GIL, and tests/algorithms/c_sorts_test.c runs it alone.
 */
#include "sorts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const dprof_sort_algo_names[DPROF_SORT__COUNT] = {
    "bubble_sort", "insertion_sort", "selection_sort", "quick_sort", "merge_sort",
    "merge_sort_bottom_up", "heap_sort", "counting_sort", "radix_sort",
};

const char *const dprof_sort_pivot_names[DPROF_PIVOT__COUNT] = {
    "first", "last", "random", "median",
};

int
dprof_sort_algo_from_name(const char *name)
{
    for (int i = 0; i < DPROF_SORT__COUNT; i++) {
        if (strcmp(name, dprof_sort_algo_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

int
dprof_sort_pivot_from_name(const char *name)
{
    for (int i = 0; i < DPROF_PIVOT__COUNT; i++) {
        if (strcmp(name, dprof_sort_pivot_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

uint64_t
dprof_splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t
dprof_counting_span_limit(size_t n)
{
    uint64_t n64 = (uint64_t)n;
    if (n64 > (UINT64_MAX - DPROF_COUNTING_SPAN_BASE) / DPROF_COUNTING_SPAN_FACTOR) {
        return UINT64_MAX;
    }
    return n64 * DPROF_COUNTING_SPAN_FACTOR + DPROF_COUNTING_SPAN_BASE;
}

static const size_t dtype_sizes[DPROF_DTYPE__COUNT] = {1, 1, 2, 2, 4, 4, 8, 8, 4, 8};

size_t
dprof_sort_dtype_size(dprof_sort_dtype dtype)
{
    return (unsigned)dtype < DPROF_DTYPE__COUNT ? dtype_sizes[dtype] : 0;
}

int
dprof_sort_dtype_is_float(dprof_sort_dtype dtype)
{
    return dtype == DPROF_DTYPE_F32 || dtype == DPROF_DTYPE_F64;
}

size_t
dprof_sort_find_nan(dprof_sort_dtype dtype, const void *data, size_t n)
{
    if (dtype == DPROF_DTYPE_F32) {
        const float *f = data;
        for (size_t i = 0; i < n; i++) {
            if (isnan(f[i])) {
                return i;
            }
        }
    }
    else if (dtype == DPROF_DTYPE_F64) {
        const double *d = data;
        for (size_t i = 0; i < n; i++) {
            if (isnan(d[i])) {
                return i;
            }
        }
    }
    return n;
}

/* Plain numbers compare with <, which never fails. */
#define NUM_LESS(ctx, x, y) ((x) < (y))
#define PAIR_LESS(ctx, x, y) ((x).key < (y).key)
/* Signed keys: flipping the sign bit of the same-width unsigned value orders them
 * as unsigned numbers (INT_MIN -> 0, -1 -> 2^(w-1) - 1, 0 -> 2^(w-1)). */
#define SIGNED_UKEY(x, UT, bits) ((uint64_t)(UT)(x) ^ ((uint64_t)1 << ((bits) - 1)))

#define SORT_T int8_t
#define SORT_SUFFIX i8
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) SIGNED_UKEY(x, uint8_t, 8)
#define SORT_KEY_BYTES 1
#include "sorts_template.h"

#define SORT_T uint8_t
#define SORT_SUFFIX u8
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) ((uint64_t)(x))
#define SORT_KEY_BYTES 1
#include "sorts_template.h"

#define SORT_T int16_t
#define SORT_SUFFIX i16
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) SIGNED_UKEY(x, uint16_t, 16)
#define SORT_KEY_BYTES 2
#include "sorts_template.h"

#define SORT_T uint16_t
#define SORT_SUFFIX u16
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) ((uint64_t)(x))
#define SORT_KEY_BYTES 2
#include "sorts_template.h"

#define SORT_T int32_t
#define SORT_SUFFIX i32
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) SIGNED_UKEY(x, uint32_t, 32)
#define SORT_KEY_BYTES 4
#include "sorts_template.h"

#define SORT_T uint32_t
#define SORT_SUFFIX u32
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) ((uint64_t)(x))
#define SORT_KEY_BYTES 4
#include "sorts_template.h"

#define SORT_T int64_t
#define SORT_SUFFIX i64
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) SIGNED_UKEY(x, uint64_t, 64)
#define SORT_KEY_BYTES 8
#include "sorts_template.h"

#define SORT_T uint64_t
#define SORT_SUFFIX u64
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) ((uint64_t)(x))
#define SORT_KEY_BYTES 8
#include "sorts_template.h"

#define SORT_T float
#define SORT_SUFFIX f32
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#include "sorts_template.h"

#define SORT_T double
#define SORT_SUFFIX f64
#define SORT_LESS NUM_LESS
#define SORT_CAN_FAIL 0
#include "sorts_template.h"

#define SORT_T dprof_sort_pair_i64
#define SORT_SUFFIX pair_i64
#define SORT_LESS PAIR_LESS
#define SORT_CAN_FAIL 0
#define SORT_UKEY(x) SIGNED_UKEY((x).key, uint64_t, 64)
#define SORT_KEY_BYTES 8
#include "sorts_template.h"

#define SORT_T dprof_sort_pair_f64
#define SORT_SUFFIX pair_f64
#define SORT_LESS PAIR_LESS
#define SORT_CAN_FAIL 0
#include "sorts_template.h"

int
dprof_sort_numeric(dprof_sort_algo algo, dprof_sort_dtype dtype, void *data, size_t n,
                   dprof_sort_ctx *ctx)
{
    switch (dtype) {
    case DPROF_DTYPE_I8:
        return dprof_sort_run_i8(algo, data, n, ctx);
    case DPROF_DTYPE_U8:
        return dprof_sort_run_u8(algo, data, n, ctx);
    case DPROF_DTYPE_I16:
        return dprof_sort_run_i16(algo, data, n, ctx);
    case DPROF_DTYPE_U16:
        return dprof_sort_run_u16(algo, data, n, ctx);
    case DPROF_DTYPE_I32:
        return dprof_sort_run_i32(algo, data, n, ctx);
    case DPROF_DTYPE_U32:
        return dprof_sort_run_u32(algo, data, n, ctx);
    case DPROF_DTYPE_I64:
        return dprof_sort_run_i64(algo, data, n, ctx);
    case DPROF_DTYPE_U64:
        return dprof_sort_run_u64(algo, data, n, ctx);
    case DPROF_DTYPE_F32:
        return dprof_sort_run_f32(algo, data, n, ctx);
    case DPROF_DTYPE_F64:
        return dprof_sort_run_f64(algo, data, n, ctx);
    default:
        return DPROF_SORT_UNSUPPORTED;
    }
}

int
dprof_sort_pairs_i64(dprof_sort_algo algo, dprof_sort_pair_i64 *data, size_t n,
                     dprof_sort_ctx *ctx)
{
    return dprof_sort_run_pair_i64(algo, data, n, ctx);
}

int
dprof_sort_pairs_f64(dprof_sort_algo algo, dprof_sort_pair_f64 *data, size_t n,
                     dprof_sort_ctx *ctx)
{
    return dprof_sort_run_pair_f64(algo, data, n, ctx);
}
