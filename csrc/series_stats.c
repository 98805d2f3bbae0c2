/* Statistics over a float64 series: the engine (no Python.h; see series_stats.h).
 *
 * Percentiles use selection, not sorting: for each distinct rank needed we run an
 * introselect on the part of the scratch array that can still hold it, so p50,
 * p90, p95 and p99 of a million samples cost a few linear passes, not a sort.
 */
#include "series_stats.h"

#include <math.h>
#include <stddef.h>

/* ---- summary -------------------------------------------------------------- */

void
dprof_series_summarize(const double *values, size_t n, dprof_series_summary *out)
{
    size_t count = 0;
    /* Neumaier-compensated sum: the mean stays accurate to about one ulp for
     * long series whose values differ in magnitude (timestamps, byte counters). */
    double sum = 0.0, comp = 0.0;
    double lo = NAN, hi = NAN;

    for (size_t i = 0; i < n; i++) {
        double x = values[i];
        if (isnan(x)) {
            continue;
        }
        if (count == 0) {
            lo = hi = x;
        }
        else {
            if (x < lo) lo = x;
            if (x > hi) hi = x;
        }
        double t = sum + x;
        if (fabs(sum) >= fabs(x)) {
            comp += (sum - t) + x;
        }
        else {
            comp += (x - t) + sum;
        }
        sum = t;
        count++;
    }

    out->count = count;
    out->min = lo;
    out->max = hi;
    out->mean = NAN;
    out->stdev = NAN;
    if (count == 0) {
        return;
    }
    double mean = (sum + comp) / (double)count;
    out->mean = mean;
    if (count < 2 || !isfinite(mean)) {
        return;
    }

    /* Corrected two-pass variance: the second term removes the rounding error
     * left in the mean (it is exactly zero with exact arithmetic). */
    double ss = 0.0, dev_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = values[i];
        if (isnan(x)) {
            continue;
        }
        double d = x - mean;
        ss += d * d;
        dev_sum += d;
    }
    double var = (ss - dev_sum * dev_sum / (double)count) / (double)(count - 1);
    out->stdev = var > 0.0 ? sqrt(var) : 0.0;
}

size_t
dprof_series_compact(const double *values, size_t n, double *scratch)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        /* Read once: the binding runs this without the GIL over a buffer that
         * another thread may write, and scratch must hold no NaN. */
        double x = values[i];
        if (!isnan(x)) {
            scratch[m++] = x;
        }
    }
    return m;
}

/* ---- selection ------------------------------------------------------------ */

static inline void
swap_d(double *a, double *b)
{
    double t = *a;
    *a = *b;
    *b = t;
}

static void
sift_down(double *a, ptrdiff_t start, ptrdiff_t end)
{
    ptrdiff_t root = start;
    for (;;) {
        ptrdiff_t child = 2 * root + 1;
        if (child >= end) {
            return;
        }
        if (child + 1 < end && a[child] < a[child + 1]) {
            child++;
        }
        if (!(a[root] < a[child])) {
            return;
        }
        swap_d(&a[root], &a[child]);
        root = child;
    }
}

/* Heapsort of a[0..len): the fallback that bounds introselect at O(m log m). */
static void
heapsort_d(double *a, ptrdiff_t len)
{
    for (ptrdiff_t start = len / 2 - 1; start >= 0; start--) {
        sift_down(a, start, len);
    }
    for (ptrdiff_t end = len - 1; end > 0; end--) {
        swap_d(&a[0], &a[end]);
        sift_down(a, 0, end);
    }
}

static inline double
median3(double a, double b, double c)
{
    if (a < b) {
        if (b < c) return b;
        return a < c ? c : a;
    }
    if (a < c) return a;
    return b < c ? c : b;
}

/* Place the k-th smallest element of a[lo..hi) at a[k] so that everything in
 * [lo, k) is <= a[k] <= everything in (k, hi). The three-way partition keeps
 * runs of equal values (common in sampled counters) linear. */
static void
introselect(double *a, ptrdiff_t lo, ptrdiff_t hi, ptrdiff_t k)
{
    int depth = 0;
    for (ptrdiff_t len = hi - lo; len > 1; len >>= 1) {
        depth += 2;
    }
    while (hi - lo > 1) {
        if (depth-- <= 0) {
            heapsort_d(a + lo, hi - lo);
            return;
        }
        double pivot = median3(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
        ptrdiff_t lt = lo, i = lo, gt = hi - 1;
        while (i <= gt) {
            if (a[i] < pivot) {
                swap_d(&a[lt++], &a[i++]);
            }
            else if (a[i] > pivot) {
                swap_d(&a[i], &a[gt--]);
            }
            else {
                i++;
            }
        }
        /* now [lo, lt) < pivot, [lt, gt] == pivot, (gt, hi) > pivot */
        if (k < lt) {
            hi = lt;
        }
        else if (k > gt) {
            lo = gt + 1;
        }
        else {
            return;
        }
    }
}

/* numpy's _lerp: a + (b - a) * t, computed from the nearer end for accuracy. */
static inline double
lerp(double a, double b, double t)
{
    if (a == b) {
        return a;   /* also keeps inf == inf from turning into NaN */
    }
    double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

void
dprof_series_percentiles(double *data, size_t m, const double *qs, size_t nq, double *out)
{
    if (m == 0) {
        for (size_t i = 0; i < nq; i++) {
            out[i] = NAN;
        }
        return;
    }
    /* Visit the requested percentiles in increasing order (found by a scan per
     * step: nq is a handful, and this needs no memory), so each selection only
     * searches the part of the array above the previous rank. */
    ptrdiff_t done_rank = -1;      /* highest rank already placed at data[rank] */
    ptrdiff_t search_from = 0;     /* = done_rank + 1: data[search_from..) are all
                                    * >= data[done_rank], so later ranks live there */
    double prev_q = -1.0;
    size_t visited = 0;
    while (visited < nq) {
        /* smallest q greater than prev_q, or equal to it at a later index */
        double q = INFINITY;
        for (size_t i = 0; i < nq; i++) {
            if (qs[i] > prev_q && qs[i] < q) {
                q = qs[i];
            }
        }
        double h = (double)(m - 1) * (q / 100.0);
        ptrdiff_t r = (ptrdiff_t)floor(h);
        if (r > (ptrdiff_t)m - 1) r = (ptrdiff_t)m - 1;
        if (r < 0) r = 0;
        ptrdiff_t r_next = r + 1 < (ptrdiff_t)m ? r + 1 : r;

        if (r > done_rank) {
            introselect(data, search_from, (ptrdiff_t)m, r);
            search_from = r + 1;
            done_rank = r;
        }
        double upper = data[r_next];
        if (r_next > done_rank) {
            /* r_next == r + 1 == search_from: the next rank up is the smallest of
             * what is left, a scan without moving anything. */
            upper = data[search_from];
            for (ptrdiff_t i = search_from + 1; i < (ptrdiff_t)m; i++) {
                if (data[i] < upper) {
                    upper = data[i];
                }
            }
        }
        double value = lerp(data[r], upper, h - (double)r);
        for (size_t i = 0; i < nq; i++) {
            if (qs[i] == q) {
                out[i] = value;
                visited++;
            }
        }
        prev_q = q;
    }
}

/* ---- counters ------------------------------------------------------------- */

void
dprof_series_counter_rate(const double *values, const double *timestamps, size_t n,
                          dprof_series_rate *out)
{
    size_t pairs = 0;
    double v0 = NAN, t0 = NAN, vp = NAN, tp = NAN;
    double max_rate = NAN;

    for (size_t i = 0; i < n; i++) {
        double v = values[i], t = timestamps[i];
        if (isnan(v) || isnan(t)) {
            continue;
        }
        if (pairs == 0) {
            v0 = v;
            t0 = t;
        }
        else if (t > tp) {
            double r = (v - vp) / (t - tp);
            if (isnan(max_rate) || r > max_rate) {
                max_rate = r;
            }
        }
        vp = v;
        tp = t;
        pairs++;
    }

    out->pairs = pairs;
    out->delta = pairs ? vp - v0 : NAN;
    out->elapsed = pairs ? tp - t0 : NAN;
    out->rate = (pairs >= 2 && tp > t0) ? (vp - v0) / (tp - t0) : NAN;
    out->max_rate = max_rate;
}
