/* One instantiation of the nine sort algorithms for one element type.
 *
 * Included several times (sorts_numeric.c, sorts_objects.c), each time with:
 *   SORT_T              the element type
 *   SORT_SUFFIX         a token naming the instantiation (i64, pair_f64, obj, ...)
 *   SORT_LESS(ctx, x, y) an int expression: 1 if x < y, 0 if not, -1 on error
 *                       (ctx is the dprof_sort_ctx *)
 *   SORT_CAN_FAIL       1 if SORT_LESS can return -1, else 0 (the error paths then
 *                       vanish at compile time)
 * and, for the integer types that counting and radix sort take:
 *   SORT_UKEY(x)        a uint64_t that orders like x (signed keys offset by the
 *                       sign bit), below 2^(8 * SORT_KEY_BYTES)
 *   SORT_KEY_BYTES      the number of 8-bit radix digits of a key
 * It defines `static int dprof_sort_run_<SUFFIX>(algo, a, n, ctx)` returning a
 * dprof_sort_status, and #undefs its parameters.
 *
 * Counting rule (the pure-Python twins count the same way): each element read of
 * an array (also one that only feeds a comparison) is a read, each element store
 * a write; a swap is 2 reads, 2 writes and 1 swap; a move is one element copied
 * to a temporary that is stored back later, to or from an auxiliary buffer, or
 * shifted between slots. The code keeps values in registers where the textbook
 * reads an element twice, but counts what the textbook does. Counts are kept in a
 * local struct (no aliasing with the array, so they stay in registers) and added
 * to ctx->counts on return.
 *
 * On a failed comparison every algorithm leaves the array a permutation of what it
 * was: the in-place ones only swap; insertion sort puts its held element back in
 * the hole; a merge copies the rest of its buffered run back.
 */
#include <stdlib.h>
#include <string.h>

#define SORT_CAT2_(a, b) a##_##b
#define SORT_CAT2(a, b) SORT_CAT2_(a, b)
#define SORT_FN(name) SORT_CAT2(SORT_CAT2(dprof_sort, name), SORT_SUFFIX)

/* out = (x < y), counting the comparison; on error jumps to the function's fail. */
#define SORT_CMP(out, x, y)                                  \
    do {                                                     \
        c.comparisons++;                                     \
        int sort_r_ = SORT_LESS(ctx, (x), (y));              \
        if (SORT_CAN_FAIL && sort_r_ < 0) {                  \
            goto fail;                                       \
        }                                                    \
        (out) = sort_r_;                                     \
    } while (0)

#define SORT_SWAP(arr, i, j)                                 \
    do {                                                     \
        SORT_T sort_t_ = (arr)[i];                           \
        (arr)[i] = (arr)[j];                                 \
        (arr)[j] = sort_t_;                                  \
        c.reads += 2;                                        \
        c.writes += 2;                                       \
        c.swaps++;                                           \
    } while (0)

#ifndef DPROF_SORT_ADD_COUNTS_DEFINED
#define DPROF_SORT_ADD_COUNTS_DEFINED
static inline void
dprof_sort_add_counts(dprof_sort_counts *into, const dprof_sort_counts *c)
{
    into->comparisons += c->comparisons;
    into->swaps += c->swaps;
    into->moves += c->moves;
    into->reads += c->reads;
    into->writes += c->writes;
}
#endif

/* Bubble sort with the early exit: passes over a shrinking prefix until a pass
 * swaps nothing. Swaps only strictly smaller right neighbours: stable. */
static int
SORT_FN(bubble)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    for (size_t end = n; end > 1; end--) {
        int swapped = 0;
        for (size_t i = 0; i + 1 < end; i++) {
            int lt;
            c.reads += 2;
            SORT_CMP(lt, a[i + 1], a[i]);
            if (lt) {
                SORT_SWAP(a, i, i + 1);
                swapped = 1;
            }
        }
        if (!swapped) {
            break;
        }
    }
    goto done;
fail:
    rc = DPROF_SORT_CMP_ERROR;
done:
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

/* Insertion sort: holds a[i] (a move), shifts the larger elements of the sorted
 * prefix one slot right (a move each), stores the held element (a move). Stops at
 * an element not greater than the held one: stable. */
static int
SORT_FN(insertion)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    size_t j = 0;
    SORT_T key;
    memset(&key, 0, sizeof key);
    for (size_t i = 1; i < n; i++) {
        key = a[i];
        c.reads++;
        c.moves++;
        j = i;
        while (j > 0) {
            int lt;
            SORT_T y = a[j - 1];
            c.reads++;
            SORT_CMP(lt, key, y);
            if (!lt) {
                break;
            }
            a[j] = y;           /* the textbook reads a[j - 1] again here */
            c.reads++;
            c.writes++;
            c.moves++;
            j--;
        }
        a[j] = key;
        c.writes++;
        c.moves++;
    }
    goto done;
fail:
    a[j] = key;                 /* slot j is the hole: the array is whole again */
    rc = DPROF_SORT_CMP_ERROR;
done:
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

/* Selection sort: finds the minimum of the suffix (each test reads both the
 * candidate and the current minimum, as a[j] < a[m] does) and swaps it into
 * place when it is elsewhere. Not stable. */
static int
SORT_FN(selection)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    for (size_t i = 0; i + 1 < n; i++) {
        size_t m = i;
        SORT_T mv = a[i];
        for (size_t j = i + 1; j < n; j++) {
            int lt;
            c.reads += 2;
            SORT_CMP(lt, a[j], mv);
            if (lt) {
                m = j;
                mv = a[j];
            }
        }
        if (m != i) {
            SORT_SWAP(a, i, m);
        }
    }
    goto done;
fail:
    rc = DPROF_SORT_CMP_ERROR;
done:
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

/* Quick sort, one segment [lo, hi] (inclusive): picks a pivot by ctx->pivot,
 * swaps it to a[lo] (unless already there), partitions with Hoare's scheme
 * (pivot value held: 1 read; each scan test 1 read, 1 comparison; an exchange is
 * a swap) and returns the split j: [lo, j] <= pivot <= [j + 1, hi]. */
static int
SORT_FN(quick_partition)(SORT_T *a, size_t lo, size_t hi, dprof_sort_ctx *ctx,
                         size_t *split)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    size_t p = lo;
    int lt;
    switch (ctx->pivot) {
    case DPROF_PIVOT_FIRST:
        break;
    case DPROF_PIVOT_LAST:
        p = hi;
        break;
    case DPROF_PIVOT_RANDOM:
        p = lo + (size_t)(dprof_splitmix64_next(&ctx->rng) % (uint64_t)(hi - lo + 1));
        break;
    case DPROF_PIVOT_MEDIAN:
    default: {
        size_t mid = lo + (hi - lo) / 2;
        SORT_T x = a[lo], y = a[mid], z = a[hi];
        c.reads += 3;
        SORT_CMP(lt, x, y);
        if (lt) {                       /* x < y */
            SORT_CMP(lt, y, z);
            if (lt) {
                p = mid;
            }
            else {
                SORT_CMP(lt, x, z);
                p = lt ? hi : lo;
            }
        }
        else {                          /* y <= x */
            SORT_CMP(lt, x, z);
            if (lt) {
                p = lo;
            }
            else {
                SORT_CMP(lt, y, z);
                p = lt ? hi : mid;
            }
        }
        break;
    }
    }
    if (p != lo) {
        SORT_SWAP(a, lo, p);
    }
    SORT_T pivot = a[lo];
    c.reads++;
    size_t i = lo, j = hi;
    for (;;) {
        for (;;) {
            c.reads++;
            SORT_CMP(lt, pivot, a[j]);
            if (!lt) {
                break;
            }
            j--;
        }
        for (;;) {
            c.reads++;
            SORT_CMP(lt, a[i], pivot);
            if (!lt) {
                break;
            }
            i++;
        }
        if (i >= j) {
            *split = j;
            break;
        }
        SORT_SWAP(a, i, j);
        i++;
        j--;
    }
    goto done;
fail:
    rc = DPROF_SORT_CMP_ERROR;
done:
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

/* Recurses into the smaller side first (left on a tie) and loops on the larger,
 * so the depth stays under log2(n); the twin visits segments in the same order,
 * which keeps the random pivots' draws in step. */
static int
SORT_FN(quick_segment)(SORT_T *a, size_t lo, size_t hi, dprof_sort_ctx *ctx)
{
    while (lo < hi) {
        size_t j = lo;
        int rc = SORT_FN(quick_partition)(a, lo, hi, ctx, &j);
        if (rc != DPROF_SORT_OK) {
            return rc;
        }
        if (j - lo + 1 <= hi - j) {
            rc = SORT_FN(quick_segment)(a, lo, j, ctx);
            lo = j + 1;
        }
        else {
            rc = SORT_FN(quick_segment)(a, j + 1, hi, ctx);
            hi = j;
        }
        if (rc != DPROF_SORT_OK) {
            return rc;
        }
    }
    return DPROF_SORT_OK;
}

static int
SORT_FN(quick)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    return n < 2 ? DPROF_SORT_OK : SORT_FN(quick_segment)(a, 0, n - 1, ctx);
}

/* Merges the sorted runs [lo, mid) and [mid, hi): the left run is copied to tmp
 * (a read, a write and a move each), then each step compares the heads (2 reads,
 * 1 comparison) and moves the smaller into a[k] (1 read, 1 write, 1 move), the
 * left one on a tie (stable). What is left of the right run is already in place;
 * what is left of the left run is moved back. */
static int
SORT_FN(merge_runs)(SORT_T *a, SORT_T *tmp, size_t lo, size_t mid, size_t hi,
                    dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    size_t nl = mid - lo, i = 0, j = mid, k = lo;
    memcpy(tmp, a + lo, nl * sizeof(SORT_T));
    c.reads += nl;
    c.writes += nl;
    c.moves += nl;
    /* Branch-free step (a conditional move instead of a mispredicted branch on
     * random data); each step is 3 reads, 1 write, 1 move, added up after the
     * loop from the number of steps, k - lo. */
    while (i < nl && j < hi) {
        int lt;
        SORT_T x = a[j], y = tmp[i];
        c.comparisons++;
        lt = SORT_LESS(ctx, x, y);
        if (SORT_CAN_FAIL && lt < 0) {
            c.reads += 2;           /* the failed step read both heads */
            goto fail;
        }
        a[k++] = lt ? x : y;
        j += (size_t)lt;
        i += (size_t)!lt;
    }
    goto rest;
fail:
    rc = DPROF_SORT_CMP_ERROR;
rest:
    c.reads += 3 * (uint64_t)(k - lo);
    c.writes += k - lo;
    c.moves += k - lo;
    /* Also the error path: the slots [k, j) are exactly what tmp[i, nl) fills. */
    memcpy(a + k, tmp + i, (nl - i) * sizeof(SORT_T));
    c.reads += nl - i;
    c.writes += nl - i;
    c.moves += nl - i;
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

static int
SORT_FN(merge_td_range)(SORT_T *a, SORT_T *tmp, size_t lo, size_t hi, dprof_sort_ctx *ctx)
{
    if (hi - lo < 2) {
        return DPROF_SORT_OK;
    }
    size_t mid = lo + (hi - lo) / 2;
    int rc = SORT_FN(merge_td_range)(a, tmp, lo, mid, ctx);
    if (rc == DPROF_SORT_OK) {
        rc = SORT_FN(merge_td_range)(a, tmp, mid, hi, ctx);
    }
    if (rc == DPROF_SORT_OK) {
        rc = SORT_FN(merge_runs)(a, tmp, lo, mid, hi, ctx);
    }
    return rc;
}

/* Top-down merge sort: halves (left half the smaller on odd sizes), sorts each,
 * merges. Buffer of n / 2 elements. */
static int
SORT_FN(merge_td)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    if (n < 2) {
        return DPROF_SORT_OK;
    }
    SORT_T *tmp = malloc(sizeof(SORT_T) * (n / 2));
    if (tmp == NULL) {
        return DPROF_SORT_NOMEM;
    }
    int rc = SORT_FN(merge_td_range)(a, tmp, 0, n, ctx);
    free(tmp);
    return rc;
}

/* Bottom-up merge sort: merges runs of width 1, 2, 4, ... left to right; a run
 * without a right partner waits for a later pass. The left run of a merge is up
 * to the largest power of two below n: buffer of n elements. */
static int
SORT_FN(merge_bu)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    if (n < 2) {
        return DPROF_SORT_OK;
    }
    SORT_T *tmp = malloc(sizeof(SORT_T) * n);
    if (tmp == NULL) {
        return DPROF_SORT_NOMEM;
    }
    int rc = DPROF_SORT_OK;
    for (size_t width = 1; width < n && rc == DPROF_SORT_OK; width *= 2) {
        for (size_t lo = 0; lo + width < n && rc == DPROF_SORT_OK; lo += 2 * width) {
            size_t hi = n - lo > 2 * width ? lo + 2 * width : n;
            rc = SORT_FN(merge_runs)(a, tmp, lo, lo + width, hi, ctx);
        }
        if (width > n / 2) {
            break;              /* width * 2 would reach n or overflow */
        }
    }
    free(tmp);
    return rc;
}

/* Sift-down of a max-heap held in a[0, end): compares the two children (2 reads,
 * 1 comparison) when both exist, then the root with the larger child (2 reads,
 * 1 comparison), and swaps them while the root is smaller. */
static int
SORT_FN(heap_sift)(SORT_T *a, size_t root, size_t end, dprof_sort_counts *cp,
                   dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = *cp;
    int rc = DPROF_SORT_OK;
    (void)ctx;                  /* only SORT_LESS may use it */
    while (2 * root + 1 < end) {
        size_t child = 2 * root + 1;
        int lt;
        if (child + 1 < end) {
            c.reads += 2;
            SORT_CMP(lt, a[child], a[child + 1]);
            if (lt) {
                child++;
            }
        }
        c.reads += 2;
        SORT_CMP(lt, a[root], a[child]);
        if (!lt) {
            break;
        }
        SORT_SWAP(a, root, child);
        root = child;
    }
    goto done;
fail:
    rc = DPROF_SORT_CMP_ERROR;
done:
    *cp = c;
    return rc;
}

/* Heap sort: heapifies bottom-up from the last parent, then swaps the maximum to
 * the end and sifts the new root down, n - 1 times. In place, not stable. */
static int
SORT_FN(heap)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    dprof_sort_counts c = {0};
    int rc = DPROF_SORT_OK;
    if (n >= 2) {
        for (size_t start = (n - 2) / 2 + 1; start-- > 0 && rc == DPROF_SORT_OK;) {
            rc = SORT_FN(heap_sift)(a, start, n, &c, ctx);
        }
        for (size_t end = n - 1; end > 0 && rc == DPROF_SORT_OK; end--) {
            SORT_SWAP(a, 0, end);
            rc = SORT_FN(heap_sift)(a, 0, end, &c, ctx);
        }
    }
    dprof_sort_add_counts(&ctx->counts, &c);
    return rc;
}

#ifdef SORT_UKEY
/* Counting sort (stable): one pass for min and max (n reads), refusal when the
 * span is too wide for n, one pass counting keys (n reads), one placing each
 * element into a buffer at its key's next slot in input order (n reads, n
 * writes, n moves), one copying the buffer back (n reads, n writes, n moves).
 * The count array holds counters, not elements: its accesses are not counted. */
static int
SORT_FN(counting)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    if (n == 0) {
        return DPROF_SORT_OK;
    }
    uint64_t lo = SORT_UKEY(a[0]), hi = lo;
    for (size_t i = 1; i < n; i++) {
        uint64_t k = SORT_UKEY(a[i]);
        lo = k < lo ? k : lo;
        hi = k > hi ? k : hi;
    }
    uint64_t span = hi - lo;
    if (span >= dprof_counting_span_limit(n)) {
        ctx->span = span;
        return DPROF_SORT_RANGE;
    }
    size_t *start = calloc((size_t)span + 1, sizeof(size_t));
    SORT_T *out = malloc(sizeof(SORT_T) * n);
    if (start == NULL || out == NULL) {
        free(start);
        free(out);
        return DPROF_SORT_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        start[SORT_UKEY(a[i]) - lo]++;
    }
    size_t pos = 0;
    for (uint64_t k = 0; k <= span; k++) {
        size_t count = start[k];
        start[k] = pos;
        pos += count;
    }
    for (size_t i = 0; i < n; i++) {
        out[start[SORT_UKEY(a[i]) - lo]++] = a[i];
    }
    memcpy(a, out, sizeof(SORT_T) * n);
    free(out);
    free(start);
    ctx->counts.reads += 4 * (uint64_t)n;
    ctx->counts.writes += 2 * (uint64_t)n;
    ctx->counts.moves += 2 * (uint64_t)n;
    return DPROF_SORT_OK;
}

/* LSD radix sort (stable), 8-bit digits: one pass builds the histogram of every
 * digit (n reads); each digit whose elements do not all share one value is one
 * scatter pass from one array to the other (n reads, n writes, n moves); if the
 * result ends in the buffer it is copied back (n reads, n writes, n moves). */
static int
SORT_FN(radix)(SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    if (n == 0) {
        return DPROF_SORT_OK;
    }
    size_t (*hist)[256] = calloc(SORT_KEY_BYTES, sizeof *hist);
    SORT_T *out = malloc(sizeof(SORT_T) * n);
    if (hist == NULL || out == NULL) {
        free(hist);
        free(out);
        return DPROF_SORT_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t k = SORT_UKEY(a[i]);
        for (int d = 0; d < SORT_KEY_BYTES; d++) {
            hist[d][(k >> (8 * d)) & 0xff]++;
        }
    }
    uint64_t passes = 0;
    SORT_T *src = a, *dst = out;
    for (int d = 0; d < SORT_KEY_BYTES; d++) {
        size_t *h = hist[d];
        int trivial = 0, b;
        for (b = 0; b < 256; b++) {
            if (h[b] == n) {
                trivial = 1;
            }
        }
        if (trivial) {
            continue;           /* every key has this digit: the pass moves nothing */
        }
        size_t pos = 0;
        for (b = 0; b < 256; b++) {
            size_t count = h[b];
            h[b] = pos;
            pos += count;
        }
        for (size_t i = 0; i < n; i++) {
            dst[h[(SORT_UKEY(src[i]) >> (8 * d)) & 0xff]++] = src[i];
        }
        SORT_T *t = src;
        src = dst;
        dst = t;
        passes++;
    }
    if (src != a) {
        memcpy(a, src, sizeof(SORT_T) * n);
        passes++;               /* the copy back costs what one pass does */
    }
    free(out);
    free(hist);
    ctx->counts.reads += (uint64_t)n * (1 + passes);
    ctx->counts.writes += (uint64_t)n * passes;
    ctx->counts.moves += (uint64_t)n * passes;
    return DPROF_SORT_OK;
}
#endif

static int
SORT_FN(run)(dprof_sort_algo algo, SORT_T *a, size_t n, dprof_sort_ctx *ctx)
{
    switch (algo) {
    case DPROF_SORT_BUBBLE:
        return SORT_FN(bubble)(a, n, ctx);
    case DPROF_SORT_INSERTION:
        return SORT_FN(insertion)(a, n, ctx);
    case DPROF_SORT_SELECTION:
        return SORT_FN(selection)(a, n, ctx);
    case DPROF_SORT_QUICK:
        return SORT_FN(quick)(a, n, ctx);
    case DPROF_SORT_MERGE:
        return SORT_FN(merge_td)(a, n, ctx);
    case DPROF_SORT_MERGE_BOTTOM_UP:
        return SORT_FN(merge_bu)(a, n, ctx);
    case DPROF_SORT_HEAP:
        return SORT_FN(heap)(a, n, ctx);
#ifdef SORT_UKEY
    case DPROF_SORT_COUNTING:
        return SORT_FN(counting)(a, n, ctx);
    case DPROF_SORT_RADIX:
        return SORT_FN(radix)(a, n, ctx);
#endif
    default:
        return DPROF_SORT_UNSUPPORTED;
    }
}

#undef SORT_CMP
#undef SORT_SWAP
#undef SORT_FN
#undef SORT_CAT2
#undef SORT_CAT2_
#undef SORT_T
#undef SORT_SUFFIX
#undef SORT_LESS
#undef SORT_CAN_FAIL
#undef SORT_UKEY
#undef SORT_KEY_BYTES
