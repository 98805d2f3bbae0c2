/* Point readings for task profiles: the cheap, exact counters read at a task's
 * start and end. Plain C, no Python.h. */
#ifndef DPROF_TASK_READINGS_H
#define DPROF_TASK_READINGS_H

#include <stdint.h>

/* Values are -1 where the source could not be read; `missing` has a bit per source. */
enum {
    DPROF_TR_MISSING_PROCESS_IO = 1 << 0,
    DPROF_TR_MISSING_THREAD_IO = 1 << 1,
    DPROF_TR_MISSING_NET = 1 << 2,
    DPROF_TR_MISSING_THREAD_CPU = 1 << 3,
};

typedef struct {
    double monotonic;            /* CLOCK_MONOTONIC seconds */
    double wall;                 /* CLOCK_REALTIME seconds since the epoch */
    double process_user, process_system;     /* getrusage(RUSAGE_SELF) */
    double children_user, children_system;   /* getrusage(RUSAGE_CHILDREN): reaped children */
    double thread_user, thread_system;       /* getrusage(RUSAGE_THREAD) */
    int64_t max_rss_bytes;                   /* getrusage(RUSAGE_SELF).ru_maxrss (see task_readings.c) */
    int64_t rss_bytes;                       /* /proc/self/statm resident, -1 if unreadable */
    /* /proc/self/io and /proc/thread-self/io: rchar, wchar, read_bytes, write_bytes */
    int64_t process_io[4];
    int64_t thread_io[4];
    int64_t net_sent, net_received;          /* /proc/self/net/dev, all interfaces but lo,
                                                at most 1 ms old */
    unsigned missing;
} dprof_task_reading;

/* Fill `out`. Never fails as a whole: sources that cannot be read are -1 and flagged. */
void dprof_task_reading_take(dprof_task_reading *out);

#endif
