/* Statistics over a float64 series: the engine, with no Python in it.
 *
 * Used by stats_binding.c (dprof._native.series_stats) and testable from C alone.
 * Every function skips NaN values; a quantity that is undefined for the input
 * (the mean of nothing, the sample standard deviation of one value, a rate over
 * no elapsed time) comes back as NaN, which the binding turns into None. Nothing
 * here allocates except where the caller passes scratch memory, and nothing here
 * touches global state, so every function may run without the GIL.
 */
#ifndef DPROF_SERIES_STATS_H
#define DPROF_SERIES_STATS_H

#include <stddef.h>

typedef struct {
    size_t count;   /* number of non-NaN values */
    double mean;    /* NaN when count == 0 */
    double min;     /* NaN when count == 0 */
    double max;     /* NaN when count == 0 */
    double stdev;   /* sample standard deviation (ddof = 1); NaN when count < 2 */
} dprof_series_summary;

typedef struct {
    size_t pairs;       /* samples where both value and timestamp are non-NaN */
    double delta;       /* last - first value over those samples; NaN if pairs < 1 */
    double elapsed;     /* last - first timestamp; NaN if pairs < 1 */
    double rate;        /* delta / elapsed; NaN if pairs < 2 or elapsed <= 0 */
    double max_rate;    /* largest (v[i] - v[j]) / (t[i] - t[j]) over consecutive
                         * valid samples with t[i] > t[j]; NaN if none */
} dprof_series_rate;

/* Count, mean, min, max and sample standard deviation of values[0..n).
 * Two passes (mean first, then squared deviations), which keeps the variance
 * accurate when the mean is large compared with the spread. */
void dprof_series_summarize(const double *values, size_t n, dprof_series_summary *out);

/* Copy the non-NaN values of values[0..n) into scratch (room for n doubles) and
 * return how many were copied. */
size_t dprof_series_compact(const double *values, size_t n, double *scratch);

/* Percentiles of the m values in data[0..m) (no NaN; reordered in place), with
 * linear interpolation between the two closest ranks (numpy's default 'linear'
 * method: position (m - 1) * q / 100). qs[0..nq) are in [0, 100] in any order;
 * out[i] receives the percentile for qs[i]; all NaN when m == 0.
 * Runs in O(m) expected per distinct rank through introselect (quickselect with
 * a three-way partition, falling back to heapsort of the remaining range when
 * the recursion gets too deep), never a full sort per percentile. */
void dprof_series_percentiles(double *data, size_t m, const double *qs, size_t nq,
                              double *out);

/* Rate of a cumulative counter values[i] read at timestamps[i] (seconds). */
void dprof_series_counter_rate(const double *values, const double *timestamps, size_t n,
                               dprof_series_rate *out);

#endif
