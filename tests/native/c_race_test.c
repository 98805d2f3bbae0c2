/* Race test of the resource sampler engine (sampler.c), meant for
 * ThreadSanitizer: several threads drive one sampler at once, as Python threads
 * may (the binding releases the GIL around start, stop and free):
 *
 *   - one starts and stops it in a loop,
 *   - one stops it from the side,
 *   - one reads columns (snapshot copies while running, the shared block when
 *     stopped), info and the running flag,
 *   - one takes synchronous samples and asks for missing columns,
 *
 * and at the end the sampler is freed while its thread may be running, with an
 * exported block outliving it. Built and run by test_sampler_c.py. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "sampler.h"

static dprof_sampler *sampler;
static atomic_int done;
static atomic_long checks_failed;

static void *
starter(void *arg)
{
    char msg[DPROF_SAMPLER_MSG_LEN];
    struct timespec pause = {0, 300 * 1000};
    (void)arg;
    while (!atomic_load(&done)) {
        int rc = dprof_sampler_start(sampler, msg, sizeof(msg));
        if (rc != 0 && rc != -DPROF_EBUSY) {
            atomic_fetch_add(&checks_failed, 1);
        }
        nanosleep(&pause, NULL);
        dprof_sampler_stop(sampler);
    }
    return NULL;
}

static void *
side_stopper(void *arg)
{
    struct timespec pause = {0, 700 * 1000};
    (void)arg;
    while (!atomic_load(&done)) {
        dprof_sampler_stop(sampler);
        nanosleep(&pause, NULL);
    }
    return NULL;
}

static void *
reader(void *arg)
{
    dprof_sampler_info info;
    (void)arg;
    while (!atomic_load(&done)) {
        size_t first = 0, n = 0;
        int err = 0;
        dprof_colbuf *b = dprof_sampler_columns(sampler, -INFINITY, &first, &n, &err);
        if (err != 0) {
            atomic_fetch_add(&checks_failed, 1);
        }
        if (b != NULL) {
            const double *ts = dprof_colbuf_column(b, DPROF_COL_TIMESTAMP) + first;
            for (size_t i = 1; i < n; i++) {
                if (!(ts[i] > ts[i - 1])) {
                    atomic_fetch_add(&checks_failed, 1);
                }
            }
            dprof_colbuf_release(b);
        }
        dprof_sampler_get_info(sampler, &info);
        if (info.samples > info.capacity) {
            atomic_fetch_add(&checks_failed, 1);
        }
        (void)dprof_sampler_running(sampler);
    }
    return NULL;
}

static void *
querier(void *arg)
{
    double row[DPROF_COL__COUNT];
    char msg[DPROF_SAMPLER_MSG_LEN];
    (void)arg;
    while (!atomic_load(&done)) {
        if (dprof_sampler_sample_once(sampler, row, msg, sizeof(msg)) != 0
            || isnan(row[DPROF_COL_RSS_BYTES])) {
            atomic_fetch_add(&checks_failed, 1);
        }
        (void)dprof_sampler_missing(sampler, DPROF_COL_GPU_UTIL_PERCENT, msg, sizeof(msg));
    }
    return NULL;
}

int
main(void)
{
    dprof_sampler_config cfg = {0, 0.0005, 32, 1};
    char msg[DPROF_SAMPLER_MSG_LEN];
    int err = 0;
    pthread_t threads[4];
    void *(*bodies[4])(void *) = {starter, side_stopper, reader, querier};
    struct timespec run = {0, 800 * 1000 * 1000};
    size_t first = 0, n = 0;
    dprof_colbuf *kept;

    sampler = dprof_sampler_new(&cfg, &err, msg, sizeof(msg));
    if (sampler == NULL) {
        fprintf(stderr, "dprof_sampler_new: %s\n", msg);
        return 1;
    }
    for (int i = 0; i < 4; i++) {
        pthread_create(&threads[i], NULL, bodies[i], NULL);
    }
    nanosleep(&run, NULL);
    atomic_store(&done, 1);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
    }
    (void)dprof_sampler_start(sampler, msg, sizeof(msg));
    kept = dprof_sampler_columns(sampler, -INFINITY, &first, &n, &err);
    dprof_sampler_free(sampler);   /* joins the running thread */
    if (kept != NULL) {
        if (isnan(dprof_colbuf_column(kept, DPROF_COL_TIMESTAMP)[first])) {
            atomic_fetch_add(&checks_failed, 1);
        }
        dprof_colbuf_release(kept);
    }
    if (atomic_load(&checks_failed) != 0) {
        fprintf(stderr, "%ld checks failed\n", (long)atomic_load(&checks_failed));
        return 1;
    }
    printf("ok\n");
    return 0;
}
