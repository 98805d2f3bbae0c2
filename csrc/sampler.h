/* The resource sampler engine: one pthread per running sampler, no Python.
 *
 * A sampler reads the resources of one process (and, when asked, of its
 * descendants) at a fixed interval into preallocated columnar float64 arrays:
 * one array per column, `capacity` samples each. NaN marks a value that could
 * not be read at that sample; a column the system cannot give at all is NaN
 * throughout and has a "missing" reason.
 *
 * Full and fast samples: the slow files (/proc/PID/status, the per-thread stat
 * files, /proc/stat, /proc/meminfo, net/dev, cgroup, NVML) are read at most
 * every 10 ms. At shorter intervals the samples in between read only
 * /proc/PID/{stat,statm,io}: their ctx_*, threads_*, iowait_*, sys_*, net_*,
 * cgroup_* and gpu_* values are NaN (rss_peak_bytes stays a true lower bound).
 * sample_once() always takes a full sample.
 *
 * Overflow policy: when the arrays are full the sampler halves its resolution:
 * it keeps every second sample (compacting in place) and doubles its effective
 * interval, so a run of any length fits in `capacity` samples. Memory never
 * grows after start and the thread never fails: read errors are counted and the
 * last one kept for info().
 *
 * The thread sleeps with clock_nanosleep on absolute CLOCK_MONOTONIC deadlines
 * (in slices of at most 50 ms so stop() returns quickly at long intervals) and
 * never touches Python objects; the binding (sampler_binding.c) converts.
 *
 * Fork safety: every engine is in a C-global registry (which holds no Python
 * objects). pthread_atfork handlers take every engine lock before fork so no
 * engine is forked half-updated; in the child every engine is marked stopped
 * (its thread does not exist there) and its locks are re-initialised.
 */
#ifndef DPROF_SAMPLER_H
#define DPROF_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* Columns, in the order of the contract (docs and Sampler.column_names). */
enum dprof_column {
    DPROF_COL_TIMESTAMP = 0,
    DPROF_COL_CPU_USER_S,
    DPROF_COL_CPU_SYSTEM_S,
    DPROF_COL_RSS_BYTES,
    DPROF_COL_RSS_PEAK_BYTES,
    DPROF_COL_VMS_BYTES,
    DPROF_COL_READ_BYTES,
    DPROF_COL_WRITE_BYTES,
    DPROF_COL_READ_CHARS,
    DPROF_COL_WRITE_CHARS,
    DPROF_COL_READ_SYSCALLS,
    DPROF_COL_WRITE_SYSCALLS,
    DPROF_COL_CTX_VOLUNTARY,
    DPROF_COL_CTX_INVOLUNTARY,
    DPROF_COL_MINOR_FAULTS,
    DPROF_COL_MAJOR_FAULTS,
    DPROF_COL_NUM_THREADS,
    DPROF_COL_THREADS_RUNNING,
    DPROF_COL_THREADS_SLEEPING,
    DPROF_COL_THREADS_DISK_WAIT,
    DPROF_COL_IOWAIT_DELAYACCT_S,
    DPROF_COL_IOWAIT_DSTATE_S,
    DPROF_COL_SYS_CPU_BUSY_S,
    DPROF_COL_SYS_CPU_TOTAL_S,
    DPROF_COL_SYS_MEM_TOTAL_BYTES,
    DPROF_COL_SYS_MEM_AVAILABLE_BYTES,
    DPROF_COL_NET_SENT_BYTES,
    DPROF_COL_NET_RECV_BYTES,
    DPROF_COL_CGROUP_CPU_USAGE_S,
    DPROF_COL_CGROUP_CPU_USER_S,
    DPROF_COL_CGROUP_CPU_SYSTEM_S,
    DPROF_COL_CGROUP_MEM_CURRENT_BYTES,
    DPROF_COL_CGROUP_MEM_PEAK_BYTES,
    DPROF_COL_CGROUP_MEM_EVENTS_HIGH,
    DPROF_COL_CGROUP_MEM_EVENTS_MAX,
    DPROF_COL_CGROUP_MEM_EVENTS_OOM_KILL,
    DPROF_COL_CGROUP_IO_READ_BYTES,
    DPROF_COL_CGROUP_IO_WRITE_BYTES,
    DPROF_COL_GPU_UTIL_PERCENT,
    DPROF_COL_GPU_MEM_USED_BYTES,
    DPROF_COL_GPU_MEM_TOTAL_BYTES,
    DPROF_COL_GPU_TEMPERATURE_C,
    DPROF_COL_GPU_POWER_W,
    DPROF_COL__COUNT
};

extern const char *const dprof_column_names[DPROF_COL__COUNT];

#define DPROF_SAMPLER_MSG_LEN 320

typedef struct dprof_sampler dprof_sampler;

/* The sample arrays: refcounted so that an exported view outlives a restart
 * of its sampler. Column c, sample i is data[c * capacity + i]. */
typedef struct dprof_colbuf dprof_colbuf;

typedef struct {
    int pid;             /* 0 = the calling process */
    double interval;     /* seconds, > 0 */
    size_t capacity;     /* samples, > 0 */
    int children;        /* also count descendants */
} dprof_sampler_config;

typedef struct {
    size_t samples, taken, capacity;
    double interval, requested_interval;
    unsigned int overflow_halvings;
    uint64_t errors;
    int has_last_error;
    char last_error[DPROF_SAMPLER_MSG_LEN];
    double started_at, stopped_at;   /* CLOCK_MONOTONIC seconds, NaN if not yet */
    int io_wait_delayacct;           /* 1: delay accounting; 0: D-state samples */
    int pid;                         /* as configured (0 = self) */
    int children;
    int running;
    double sample_cost_ns_mean, sample_cost_ns_max;   /* measured by the thread */
    uint64_t sample_cost_count;
    double full_cost_ns_mean, fast_cost_ns_mean;      /* split by kind */
    double thread_cpu_s;             /* CPU time of the last sampler thread */
} dprof_sampler_info;

/* Error kinds returned (negated) by the functions below. */
#define DPROF_EINVAL 22   /* bad configuration (EINVAL) */
#define DPROF_ESRCH 3     /* no such process (ESRCH) */
#define DPROF_ENOMEM 12   /* out of memory (ENOMEM) */
#define DPROF_EBUSY 16    /* already running (EBUSY) */

/* Validates `cfg` and creates a stopped sampler. On failure returns NULL, sets
 * *err to -DPROF_E... and writes a message. */
dprof_sampler *dprof_sampler_new(const dprof_sampler_config *cfg, int *err,
                                 char *msg, size_t msg_len);
/* Stops (joins) and frees. */
void dprof_sampler_free(dprof_sampler *s);

/* Allocates fresh arrays and starts the thread. Returns 0 or -errno with msg. */
int dprof_sampler_start(dprof_sampler *s, char *msg, size_t msg_len);
/* Stops and joins the thread; idempotent. */
void dprof_sampler_stop(dprof_sampler *s);
int dprof_sampler_running(dprof_sampler *s);

/* Takes one sample now into row (not stored). Returns 0 or -errno with msg
 * (-ESRCH when the process has gone). */
int dprof_sampler_sample_once(dprof_sampler *s, double row[DPROF_COL__COUNT],
                              char *msg, size_t msg_len);

/* Copies the missing reason of `col` into buf; returns 1 if missing, 0 if not,
 * or -errno when the readers could not be opened. */
int dprof_sampler_missing(dprof_sampler *s, int col, char *buf, size_t len);

void dprof_sampler_get_info(dprof_sampler *s, dprof_sampler_info *out);

/* How many of the samples held have a timestamp >= since: a cheap question (a
 * binary search under the lock) for a caller that only wants columns when a
 * window holds samples. */
size_t dprof_sampler_count_since(dprof_sampler *s, double since);

/* A reference to the samples held from timestamp `since` on (pass -INFINITY for
 * all): the sampler's own arrays when stopped, a snapshot copy of just those
 * samples while running (so a view never sees compaction, and a caller that
 * wants a recent window does not pay for the whole buffer). *first is the index
 * of the first sample in the returned block's columns, *samples the number of
 * samples from there; NULL with *samples = 0 when there are none, and NULL with
 * *err = -DPROF_ENOMEM when the snapshot could not be allocated (*err is 0
 * otherwise). Release with dprof_colbuf_release. */
dprof_colbuf *dprof_sampler_columns(dprof_sampler *s, double since, size_t *first,
                                    size_t *samples, int *err);
dprof_colbuf *dprof_colbuf_ref(dprof_colbuf *b);   /* adds a reference, returns b */
const double *dprof_colbuf_column(const dprof_colbuf *b, int col);
void dprof_colbuf_release(dprof_colbuf *b);

#endif
