/* The built-in sort engines of dprof, with operation counters (no Python.h).
 *
 * Nine algorithms (bubble, insertion, selection, quick with four pivot rules, merge
 * top-down and bottom-up, heap, counting, radix) over plain numeric buffers of every
 * integer and float width, and over (key, pointer) pairs that the binding builds
 * from Python lists of ints or floats. The same source (sorts_template.h) is
 * instantiated once per element type, so every instantiation performs the same
 * element operations in the same order and counts them into one
 * dprof_sort_counts, exactly as the pure-Python twins in tests/algorithms/twins.py
 * do. What each count means per algorithm is written in docs/algorithms-native.md.
 *
 * These functions never touch Python objects: the binding calls them with the GIL
 * released. The object sorts (PyObject * arrays, comparisons that can raise) are
 * the same template instantiated in sorts_objects.c.
 */
#ifndef DPROF_SORTS_H
#define DPROF_SORTS_H

#include <stddef.h>
#include <stdint.h>

/* Exact operation counts of one sort. See docs/algorithms-native.md. */
typedef struct {
    uint64_t comparisons; /* element-vs-element comparisons (counting/radix: 0) */
    uint64_t swaps;       /* exchanges of two elements of one array */
    uint64_t moves;       /* single-element copies: to a temporary that is written
                             back, to or from an auxiliary buffer, or a shift */
    uint64_t reads;       /* element reads of the sorted or an auxiliary array */
    uint64_t writes;      /* element writes of the sorted or an auxiliary array */
} dprof_sort_counts;

typedef enum {
    DPROF_SORT_BUBBLE = 0,
    DPROF_SORT_INSERTION,
    DPROF_SORT_SELECTION,
    DPROF_SORT_QUICK,
    DPROF_SORT_MERGE,            /* top-down */
    DPROF_SORT_MERGE_BOTTOM_UP,
    DPROF_SORT_HEAP,
    DPROF_SORT_COUNTING,         /* integers only */
    DPROF_SORT_RADIX,            /* integers only, LSD, 8-bit digits */
    DPROF_SORT__COUNT
} dprof_sort_algo;

typedef enum {
    DPROF_PIVOT_FIRST = 0,
    DPROF_PIVOT_LAST,
    DPROF_PIVOT_RANDOM,          /* splitmix64(seed), see dprof_splitmix64_next */
    DPROF_PIVOT_MEDIAN,          /* median of first, middle, last (the default) */
    DPROF_PIVOT__COUNT
} dprof_sort_pivot;

/* Element types of numeric buffers. */
typedef enum {
    DPROF_DTYPE_I8 = 0, DPROF_DTYPE_U8,
    DPROF_DTYPE_I16, DPROF_DTYPE_U16,
    DPROF_DTYPE_I32, DPROF_DTYPE_U32,
    DPROF_DTYPE_I64, DPROF_DTYPE_U64,
    DPROF_DTYPE_F32, DPROF_DTYPE_F64,
    DPROF_DTYPE__COUNT
} dprof_sort_dtype;

/* Results of the engines. */
typedef enum {
    DPROF_SORT_OK = 0,
    DPROF_SORT_CMP_ERROR = -1,   /* a comparison failed (object sorts only); the
                                    array still holds a permutation of its input */
    DPROF_SORT_NOMEM = -2,       /* an auxiliary array could not be allocated;
                                    the array is untouched */
    DPROF_SORT_RANGE = -3,       /* counting sort: values too spread for n (see
                                    dprof_counting_span_limit); array untouched */
    DPROF_SORT_UNSUPPORTED = -4  /* counting/radix asked to sort floats */
} dprof_sort_status;

/* What one sort call needs besides the array, and what it reports. */
typedef struct {
    dprof_sort_counts counts;    /* accumulated into; zero it before the call */
    dprof_sort_pivot pivot;      /* quick sort only */
    uint64_t rng;                /* splitmix64 state: set to the seed */
    void *cmp_ctx;               /* object sorts: the comparator's context */
    uint64_t span;               /* set on DPROF_SORT_RANGE: max key - min key */
} dprof_sort_ctx;

/* Pairs that the object sorts of ints and floats are reduced to: the key compares,
 * the pointer (a borrowed PyObject *) rides along. */
typedef struct {
    int64_t key;
    void *item;
} dprof_sort_pair_i64;

typedef struct {
    double key;
    void *item;
} dprof_sort_pair_f64;

/* Counting sort refuses when max - min + 1, the size of its count array, exceeds
 * DPROF_COUNTING_SPAN_FACTOR * n + DPROF_COUNTING_SPAN_BASE: at most 16 counters
 * per element beyond a flat 1 Mi counters (8 MiB), so that the extra memory stays
 * proportional to the input. Every 8- and 16-bit buffer always fits. */
#define DPROF_COUNTING_SPAN_FACTOR 16u
#define DPROF_COUNTING_SPAN_BASE ((uint64_t)1 << 20)
uint64_t dprof_counting_span_limit(size_t n);

/* The PRNG of the "random" pivot: splitmix64 (Steele, Lea, Flood 2014). The
 * state starts at the seed; each pivot draws one value v and takes index
 * lo + v % (hi - lo + 1). */
uint64_t dprof_splitmix64_next(uint64_t *state);

/* Names ("bubble_sort", ... "radix_sort"; "first", ... "median"). */
extern const char *const dprof_sort_algo_names[DPROF_SORT__COUNT];
extern const char *const dprof_sort_pivot_names[DPROF_PIVOT__COUNT];
int dprof_sort_algo_from_name(const char *name);    /* -1 if unknown */
int dprof_sort_pivot_from_name(const char *name);   /* -1 if unknown */
size_t dprof_sort_dtype_size(dprof_sort_dtype dtype);
int dprof_sort_dtype_is_float(dprof_sort_dtype dtype);

/* Sorts `n` elements of `dtype` at `data` in place, ascending. Returns a
 * dprof_sort_status. Float buffers must hold no NaN (see dprof_sort_find_nan). */
int dprof_sort_numeric(dprof_sort_algo algo, dprof_sort_dtype dtype, void *data,
                       size_t n, dprof_sort_ctx *ctx);

/* Sorts pairs by key (stable algorithms keep equal keys in input order). */
int dprof_sort_pairs_i64(dprof_sort_algo algo, dprof_sort_pair_i64 *data, size_t n,
                         dprof_sort_ctx *ctx);
int dprof_sort_pairs_f64(dprof_sort_algo algo, dprof_sort_pair_f64 *data, size_t n,
                         dprof_sort_ctx *ctx);

/* Index of the first NaN of a float buffer, or n when there is none. */
size_t dprof_sort_find_nan(dprof_sort_dtype dtype, const void *data, size_t n);

#endif
