/* The resource sampler engine (see sampler.h for the policy it follows).
 *
 * No Python.h. Locks, in the only order they are ever nested:
 *   registry_lock -> engine.ctl -> engine.lock
 * `ctl` serialises start/stop/free of one engine; `lock` guards its readers,
 * arrays and counters and is held by the sampler thread for one sample at a
 * time (about 10 us), never while sleeping.
 */
#include "sampler.h"

#include "cgroup.h"
#include "nvml.h"
#include "proc_tree.h"
#include "procfs.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char *const dprof_column_names[DPROF_COL__COUNT] = {
    "timestamp",
    "cpu_user_s", "cpu_system_s",
    "rss_bytes", "rss_peak_bytes", "vms_bytes",
    "read_bytes", "write_bytes", "read_chars", "write_chars",
    "read_syscalls", "write_syscalls",
    "ctx_voluntary", "ctx_involuntary", "minor_faults", "major_faults",
    "num_threads", "threads_running", "threads_sleeping", "threads_disk_wait",
    "iowait_delayacct_s", "iowait_dstate_s",
    "sys_cpu_busy_s", "sys_cpu_total_s", "sys_mem_total_bytes", "sys_mem_available_bytes",
    "net_sent_bytes", "net_recv_bytes",
    "cgroup_cpu_usage_s", "cgroup_cpu_user_s", "cgroup_cpu_system_s",
    "cgroup_mem_current_bytes", "cgroup_mem_peak_bytes",
    "cgroup_mem_events_high", "cgroup_mem_events_max", "cgroup_mem_events_oom_kill",
    "cgroup_io_read_bytes", "cgroup_io_write_bytes",
    "gpu_util_percent", "gpu_mem_used_bytes", "gpu_mem_total_bytes",
    "gpu_temperature_c", "gpu_power_w",
};

/* Longest sleep between two checks of the stop flag. */
#define SLEEP_SLICE_S 0.05
/* Files that are slow to read (/proc/PID/status ~9 us, /proc/stat, meminfo,
 * net/dev ~7 us each, one stat file per thread ~4 us) are read at most this
 * often: at shorter intervals the samples between are "fast" ones that read
 * only /proc/PID/{stat,io} and leave the slow columns NaN. */
#define FULL_PERIOD_S 0.01
/* System-wide context (/proc/stat, /proc/meminfo, net/dev, cgroup, GPU) is read
 * at most this often by the thread: it describes the machine around the task,
 * not the task, and reading it is most of a full sample's cost. start(), stop()
 * and sample_once() always read it. */
#define SYSTEM_PERIOD_S 0.1

/* How much one sample reads. */
enum {
    SAMPLE_FAST = 0,     /* /proc/PID/{stat,io} */
    SAMPLE_PROCESS = 1,  /* + status (ctx switches, VmHWM) and every thread's state */
    SAMPLE_ALL = 2,      /* + the system-wide files */
};
/* Descendants are looked up at most this often (a /proc scan costs ~3 us per
 * process on the machine); between scans the known ones are read. */
#define TREE_RESCAN_S 0.02

struct dprof_colbuf {
    atomic_size_t refs;
    size_t capacity;
    double data[];
};

/* Everything opened for sampling; reopened after fork (see ensure_open). */
typedef struct {
    int opened;
    pid_t opened_in;                 /* getpid() when opened */
    int pid;                         /* the target, resolved */
    dprof_proc_tree tree;            /* the target, and its descendants when
                                      * cfg.children */
    dprof_kfile sysstat, meminfo, netdev;
    dprof_cgroup cgroup;
    dprof_nvml nvml;
    int delayacct;
    double clk_tck, page_size;
    char missing[DPROF_COL__COUNT][DPROF_SAMPLER_MSG_LEN];   /* "" = available */
    /* state carried between samples */
    double prev_ts;                  /* NaN before the first sample */
    double dstate_s;                 /* accumulated D-state thread time */
    double tree_rss_peak;            /* running max of the tree's summed RSS */
    double own_hwm;                  /* target's VmHWM at the last full sample */
    double last_full;                /* time of the last SAMPLE_PROCESS or ALL sample */
    double last_system;              /* time of the last SAMPLE_ALL sample */
} readers;

struct dprof_sampler {
    dprof_sampler_config cfg;
    pthread_mutex_t ctl;
    pthread_mutex_t lock;
    readers r;
    /* guarded by lock */
    dprof_colbuf *buf;
    size_t samples;
    uint64_t taken;
    double interval;
    unsigned int halvings;
    uint64_t errors;
    char last_error[DPROF_SAMPLER_MSG_LEN];
    int has_last_error;
    double started_at, stopped_at;
    double cost_sum_ns, cost_max_ns;
    uint64_t cost_n;
    double cost_full_sum_ns;          /* the part of cost_sum_ns spent in full samples */
    uint64_t cost_full_n;
    double thread_cpu_s;
    /* guarded by ctl */
    pthread_t thread;
    int thread_started;
    /* shared with the thread without a lock */
    atomic_int stop_requested;
    atomic_int thread_done;
    /* registry links, guarded by registry_lock */
    struct dprof_sampler *prev, *next;
};

/* ---- registry and fork safety ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static dprof_sampler *registry_head;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* Before fork: take every lock so that no engine is copied half-updated and no
 * lock is copied held by a thread that will not exist in the child. */
static void
atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (dprof_sampler *s = registry_head; s != NULL; s = s->next) {
        pthread_mutex_lock(&s->ctl);
    }
    for (dprof_sampler *s = registry_head; s != NULL; s = s->next) {
        pthread_mutex_lock(&s->lock);
    }
}

static void
atfork_parent(void)
{
    for (dprof_sampler *s = registry_head; s != NULL; s = s->next) {
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&s->ctl);
    }
    pthread_mutex_unlock(&registry_lock);
}

static double now_s(void);

/* In the child only the forking thread exists: no sampler thread runs, so every
 * engine is marked stopped. Every lock was taken by this thread in
 * atfork_prepare, so it is still its owner in the child and unlocks them. */
static void
atfork_child(void)
{
    for (dprof_sampler *s = registry_head; s != NULL; s = s->next) {
        if (s->thread_started && !atomic_load(&s->thread_done)) {
            s->stopped_at = now_s();
        }
        s->thread_started = 0;
        atomic_store(&s->thread_done, 1);
        atomic_store(&s->stop_requested, 0);
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&s->ctl);
    }
    pthread_mutex_unlock(&registry_lock);
}

static void
install_atfork(void)
{
    /* Failure (ENOMEM) leaves forks unprotected; nothing better can be done. */
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* ---- small helpers ---- */

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fmt(char *buf, size_t len, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t len, const char *format, ...)
{
    va_list ap;
    if (buf == NULL || len == 0) {
        return;
    }
    va_start(ap, format);
    vsnprintf(buf, len, format, ap);
    va_end(ap);
}

/* Records a read failure; called with s->lock held. */
static void record_error(dprof_sampler *s, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void
record_error(dprof_sampler *s, const char *format, ...)
{
    va_list ap;
    s->errors++;
    s->has_last_error = 1;
    va_start(ap, format);
    vsnprintf(s->last_error, sizeof(s->last_error), format, ap);
    va_end(ap);
}

/* dprof_proc_tree_report for the descendant readers; s->lock held. */
static void
report_tree_error(void *ctx, const char *message)
{
    record_error((dprof_sampler *)ctx, "%s", message);
}

static void set_missing(readers *r, int first, int last, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_missing(readers *r, int first, int last, const char *format, ...)
{
    char reason[DPROF_SAMPLER_MSG_LEN];
    va_list ap;
    va_start(ap, format);
    vsnprintf(reason, sizeof(reason), format, ap);
    va_end(ap);
    for (int c = first; c <= last; c++) {
        memcpy(r->missing[c], reason, sizeof(reason));
    }
}

/* ---- opening and closing the readers ---- */

static void
close_readers(readers *r, int after_fork)
{
    dprof_proc_tree_close(&r->tree);
    dprof_kfile_close(&r->sysstat);
    dprof_kfile_close(&r->meminfo);
    dprof_kfile_close(&r->netdev);
    dprof_cgroup_close(&r->cgroup);
    if (after_fork) {
        /* NVML state is not fork-safe; forget the parent's handle. */
        memset(&r->nvml, 0, sizeof(r->nvml));
    }
    else {
        dprof_nvml_close(&r->nvml);
    }
    r->opened = 0;
}

static int
read_delayacct_flag(readers *r)
{
    dprof_kfile f;
    char buf[16];
    int rc = dprof_kfile_open(&f, "/proc/sys/kernel/task_delayacct");
    if (rc < 0) {
        set_missing(r, DPROF_COL_IOWAIT_DELAYACCT_S, DPROF_COL_IOWAIT_DELAYACCT_S,
                    "kernel delay accounting unknown (/proc/sys/kernel/task_delayacct: %s); "
                    "I/O wait is derived from D-state samples (iowait_dstate_s)",
                    strerror(-rc));
        return 0;
    }
    rc = (int)dprof_kfile_read(&f, buf, sizeof(buf));
    dprof_kfile_close(&f);
    if (rc > 0 && buf[0] == '1') {
        return 1;
    }
    set_missing(r, DPROF_COL_IOWAIT_DELAYACCT_S, DPROF_COL_IOWAIT_DELAYACCT_S,
                "kernel delay accounting is off (/proc/sys/kernel/task_delayacct is 0, "
                "the default since Linux 5.14); I/O wait is derived from D-state samples "
                "(iowait_dstate_s)");
    return 0;
}

/* Opens every reader; with s->lock held. Returns 0 or -errno with msg. */
static int
open_readers(dprof_sampler *s, char *msg, size_t msg_len)
{
    readers *r = &s->r;
    char path[64];
    int io_err = 0;
    int rc;
    char reason[DPROF_SAMPLER_MSG_LEN];

    memset(r->missing, 0, sizeof(r->missing));
    r->opened_in = getpid();
    r->pid = s->cfg.pid ? s->cfg.pid : (int)r->opened_in;
    r->clk_tck = (double)sysconf(_SC_CLK_TCK);
    r->page_size = (double)sysconf(_SC_PAGESIZE);
    r->prev_ts = NAN;
    r->dstate_s = 0.0;
    r->tree_rss_peak = 0.0;
    r->own_hwm = 0.0;
    r->last_full = -INFINITY;
    r->last_system = -INFINITY;
    r->sysstat.fd = r->meminfo.fd = r->netdev.fd = -1;

    rc = dprof_proc_tree_open(&r->tree, r->pid, &io_err);
    if (rc < 0) {
        fmt(msg, msg_len, "cannot sample process %d: /proc/%d: %s", r->pid, r->pid,
            strerror(-rc));
        return rc;
    }
    if (io_err < 0) {
        set_missing(r, DPROF_COL_READ_BYTES, DPROF_COL_WRITE_SYSCALLS,
                    "cannot read /proc/%d/io: %s", r->pid, strerror(-io_err));
    }
    r->delayacct = read_delayacct_flag(r);

    rc = dprof_kfile_open(&r->sysstat, "/proc/stat");
    if (rc < 0) {
        set_missing(r, DPROF_COL_SYS_CPU_BUSY_S, DPROF_COL_SYS_CPU_TOTAL_S,
                    "cannot read /proc/stat: %s", strerror(-rc));
    }
    rc = dprof_kfile_open(&r->meminfo, "/proc/meminfo");
    if (rc < 0) {
        set_missing(r, DPROF_COL_SYS_MEM_TOTAL_BYTES, DPROF_COL_SYS_MEM_AVAILABLE_BYTES,
                    "cannot read /proc/meminfo: %s", strerror(-rc));
    }
    snprintf(path, sizeof(path), "/proc/%d/net/dev", r->pid);
    rc = dprof_kfile_open(&r->netdev, path);
    if (rc < 0) {
        set_missing(r, DPROF_COL_NET_SENT_BYTES, DPROF_COL_NET_RECV_BYTES,
                    "cannot read %s: %s", path, strerror(-rc));
    }

    dprof_cgroup_open(&r->cgroup, r->pid);
    {
        static const int first[DPROF_CG__COUNT] = {
            DPROF_COL_CGROUP_CPU_USAGE_S, DPROF_COL_CGROUP_MEM_CURRENT_BYTES,
            DPROF_COL_CGROUP_MEM_PEAK_BYTES, DPROF_COL_CGROUP_MEM_EVENTS_HIGH,
            DPROF_COL_CGROUP_IO_READ_BYTES,
        };
        static const int last[DPROF_CG__COUNT] = {
            DPROF_COL_CGROUP_CPU_SYSTEM_S, DPROF_COL_CGROUP_MEM_CURRENT_BYTES,
            DPROF_COL_CGROUP_MEM_PEAK_BYTES, DPROF_COL_CGROUP_MEM_EVENTS_OOM_KILL,
            DPROF_COL_CGROUP_IO_WRITE_BYTES,
        };
        for (int i = 0; i < DPROF_CG__COUNT; i++) {
            if (r->cgroup.reason[i][0] != '\0') {
                set_missing(r, first[i], last[i], "%s", r->cgroup.reason[i]);
            }
        }
    }

    if (dprof_nvml_open(&r->nvml, reason, sizeof(reason)) < 0) {
        set_missing(r, DPROF_COL_GPU_UTIL_PERCENT, DPROF_COL_GPU_POWER_W, "%s", reason);
    }
    else {
        /* the optional readings: only that column is missing */
        if (r->nvml.temperature_reason[0] != '\0') {
            set_missing(r, DPROF_COL_GPU_TEMPERATURE_C, DPROF_COL_GPU_TEMPERATURE_C, "%s",
                        r->nvml.temperature_reason);
        }
        if (r->nvml.power_reason[0] != '\0') {
            set_missing(r, DPROF_COL_GPU_POWER_W, DPROF_COL_GPU_POWER_W, "%s",
                        r->nvml.power_reason);
        }
    }
    r->opened = 1;
    return 0;
}

/* Makes sure the readers are open in this process; with s->lock held. After a
 * fork the inherited descriptors belong to the parent's view (pid 0 means the
 * parent there, and directory streams share offsets), so all are reopened. */
static int
ensure_open(dprof_sampler *s, char *msg, size_t msg_len)
{
    pid_t me = getpid();
    if (s->r.opened && s->r.opened_in == me) {
        return 0;
    }
    if (s->r.opened) {
        close_readers(&s->r, 1);
    }
    return open_readers(s, msg, msg_len);
}

/* ---- one sample ---- */

/* Fills row with one sample taken at `now`; with s->lock held and readers
 * open. Returns 0, or -ESRCH when the target process has gone. */
static int
take_sample(dprof_sampler *s, double now, int full, double row[DPROF_COL__COUNT])
{
    readers *r = &s->r;
    dprof_proc_sums sum;
    char buf[4096];
    ssize_t n;
    int io_failed = 0;
    int rc;

    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        row[c] = NAN;
    }
    row[DPROF_COL_TIMESTAMP] = now;
    memset(&sum, 0, sizeof(sum));

    rc = dprof_proc_read(&r->tree.target, &sum, s->cfg.children, full, &io_failed);
    if (rc == -ESRCH) {
        return -ESRCH;
    }
    if (rc < 0) {
        record_error(s, "cannot read process %d: %s", r->pid, strerror(-rc));
        return 0;   /* a row of NaN but the timestamp */
    }
    if (io_failed) {
        record_error(s, "cannot read /proc/%d/io", r->pid);
    }
    if (full) {
        r->own_hwm = sum.hwm * 1024.0;   /* only the target's so far */
    }
    if (s->cfg.children) {
        dprof_proc_tree_add_descendants(&r->tree, now, TREE_RESCAN_S, full, &sum,
                                        report_tree_error, s);
    }

    row[DPROF_COL_CPU_USER_S] = sum.utime / r->clk_tck;
    row[DPROF_COL_CPU_SYSTEM_S] = sum.stime / r->clk_tck;
    row[DPROF_COL_RSS_BYTES] = sum.rss * r->page_size;
    /* The peak: the kernel's VmHWM of the target (read at full samples), and,
     * with children, the largest summed RSS of the tree seen (peaks of
     * different processes need not coincide, so their VmHWMs are not added).
     * Between full samples the current RSS keeps it a true lower bound, and at
     * full samples too: RSS (from stat) and VmHWM (from status) are two reads of
     * the kernel's per-CPU-batched counters and may differ by a few pages, so a
     * VmHWM just under the RSS read beside it is raised to that RSS. */
    if (row[DPROF_COL_RSS_BYTES] > r->tree_rss_peak) {
        r->tree_rss_peak = row[DPROF_COL_RSS_BYTES];
    }
    if (s->cfg.children) {
        row[DPROF_COL_RSS_PEAK_BYTES] = r->own_hwm > r->tree_rss_peak ? r->own_hwm
                                                                      : r->tree_rss_peak;
    }
    else {
        double rss = row[DPROF_COL_RSS_BYTES];
        row[DPROF_COL_RSS_PEAK_BYTES] = r->own_hwm >= rss ? r->own_hwm : rss;
    }
    row[DPROF_COL_VMS_BYTES] = sum.vms * r->page_size;
    if (r->missing[DPROF_COL_READ_BYTES][0] == '\0' && !io_failed) {
        row[DPROF_COL_READ_BYTES] = sum.read_bytes;
        row[DPROF_COL_WRITE_BYTES] = sum.write_bytes;
        row[DPROF_COL_READ_CHARS] = sum.rchar;
        row[DPROF_COL_WRITE_CHARS] = sum.wchar;
        row[DPROF_COL_READ_SYSCALLS] = sum.syscr;
        row[DPROF_COL_WRITE_SYSCALLS] = sum.syscw;
    }
    row[DPROF_COL_MINOR_FAULTS] = sum.minflt;
    row[DPROF_COL_MAJOR_FAULTS] = sum.majflt;
    row[DPROF_COL_NUM_THREADS] = sum.threads;
    if (full) {
        row[DPROF_COL_CTX_VOLUNTARY] = sum.vctx;
        row[DPROF_COL_CTX_INVOLUNTARY] = sum.ivctx;
        row[DPROF_COL_THREADS_RUNNING] = sum.ts.running;
        row[DPROF_COL_THREADS_SLEEPING] = sum.ts.sleeping;
        row[DPROF_COL_THREADS_DISK_WAIT] = sum.ts.disk_wait;
        if (r->delayacct) {
            row[DPROF_COL_IOWAIT_DELAYACCT_S] = sum.ts.blkio_ticks / r->clk_tck;
        }
        /* Count time, not ticks: each thread seen in D state is charged the
         * time since the previous full sample. */
        if (!isnan(r->prev_ts) && now > r->prev_ts) {
            r->dstate_s += (now - r->prev_ts) * sum.ts.disk_wait;
        }
        r->prev_ts = now;
        row[DPROF_COL_IOWAIT_DSTATE_S] = r->dstate_s;
    }
    else {
        return 0;   /* the rest is for SAMPLE_PROCESS and SAMPLE_ALL only */
    }
    if (full < SAMPLE_ALL) {
        return 0;   /* the system-wide files are for SAMPLE_ALL only */
    }

    if (r->sysstat.fd >= 0) {
        dprof_sysstat ss;
        n = dprof_kfile_read(&r->sysstat, buf, sizeof(buf));
        if (n > 0 && dprof_parse_sysstat(buf, &ss) == 0) {
            row[DPROF_COL_SYS_CPU_BUSY_S] = ss.busy_ticks / r->clk_tck;
            row[DPROF_COL_SYS_CPU_TOTAL_S] = ss.total_ticks / r->clk_tck;
        }
        else {
            record_error(s, "cannot read /proc/stat");
        }
    }
    if (r->meminfo.fd >= 0) {
        dprof_meminfo mi;
        n = dprof_kfile_read(&r->meminfo, buf, sizeof(buf));
        if (n > 0 && dprof_parse_meminfo(buf, &mi) == 0) {
            row[DPROF_COL_SYS_MEM_TOTAL_BYTES] = mi.total_kb * 1024.0;
            row[DPROF_COL_SYS_MEM_AVAILABLE_BYTES] = mi.available_kb * 1024.0;
        }
        else {
            record_error(s, "cannot read /proc/meminfo");
        }
    }
    if (r->netdev.fd >= 0) {
        dprof_netdev nd;
        n = dprof_kfile_read(&r->netdev, buf, sizeof(buf));
        if (n > 0 && dprof_parse_netdev(buf, &nd) == 0) {
            row[DPROF_COL_NET_SENT_BYTES] = nd.sent_bytes;
            row[DPROF_COL_NET_RECV_BYTES] = nd.recv_bytes;
        }
        else {
            record_error(s, "cannot read /proc/%d/net/dev", r->pid);
        }
    }
    {
        dprof_cgroup_values cv;
        rc = dprof_cgroup_read(&r->cgroup, &cv);
        if (rc < 0) {
            record_error(s, "cannot read a cgroup v2 file: %s", strerror(-rc));
        }
        row[DPROF_COL_CGROUP_CPU_USAGE_S] = cv.usage_s;
        row[DPROF_COL_CGROUP_CPU_USER_S] = cv.user_s;
        row[DPROF_COL_CGROUP_CPU_SYSTEM_S] = cv.system_s;
        row[DPROF_COL_CGROUP_MEM_CURRENT_BYTES] = cv.mem_current;
        row[DPROF_COL_CGROUP_MEM_PEAK_BYTES] = cv.mem_peak;
        row[DPROF_COL_CGROUP_MEM_EVENTS_HIGH] = cv.events_high;
        row[DPROF_COL_CGROUP_MEM_EVENTS_MAX] = cv.events_max;
        row[DPROF_COL_CGROUP_MEM_EVENTS_OOM_KILL] = cv.events_oom_kill;
        row[DPROF_COL_CGROUP_IO_READ_BYTES] = cv.io_read_bytes;
        row[DPROF_COL_CGROUP_IO_WRITE_BYTES] = cv.io_write_bytes;
    }
    if (r->nvml.lib != NULL) {
        dprof_nvml_values gv;
        rc = dprof_nvml_read(&r->nvml, &gv);
        row[DPROF_COL_GPU_UTIL_PERCENT] = gv.util_percent;
        row[DPROF_COL_GPU_MEM_USED_BYTES] = gv.mem_used_bytes;
        row[DPROF_COL_GPU_MEM_TOTAL_BYTES] = gv.mem_total_bytes;
        row[DPROF_COL_GPU_TEMPERATURE_C] = gv.temperature_c;
        row[DPROF_COL_GPU_POWER_W] = gv.power_w;
        if (rc != 0) {
            record_error(s, "NVML reading failed (NVML error %d)", rc);
        }
    }
    return 0;
}

/* Appends a row, halving the resolution when full; with s->lock held. Returns
 * 1 when the row was dropped to keep the doubled grid (see below), else 0. */
static int
store_row(dprof_sampler *s, const double row[DPROF_COL__COUNT])
{
    dprof_colbuf *b = s->buf;
    size_t cap = b->capacity;
    size_t i = s->samples;
    if (i == cap) {
        /* Keep samples 0, 2, 4, ...: they lie on a grid of twice the interval. */
        size_t kept = (cap + 1) / 2;
        for (int c = 0; c < DPROF_COL__COUNT; c++) {
            double *col = b->data + (size_t)c * cap;
            for (size_t k = 1; k < kept; k++) {
                col[k] = col[2 * k];
            }
        }
        s->samples = kept;
        s->interval *= 2.0;
        s->halvings++;
        /* The new row is sample number `cap` of the old grid: it lies on the
         * new grid only when cap is even. */
        if (cap % 2 != 0) {
            return 1;
        }
        i = kept;
    }
    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        b->data[(size_t)c * cap + i] = row[c];
    }
    s->samples = i + 1;
    return 0;
}

/* ---- the thread ---- */

/* Sleeps until `deadline` (CLOCK_MONOTONIC seconds) in slices, returning early
 * when stop is requested. */
static void
sleep_until(dprof_sampler *s, double deadline)
{
    while (!atomic_load(&s->stop_requested)) {
        double now = now_s();
        double until = deadline;
        struct timespec ts;
        if (now >= deadline) {
            return;
        }
        if (until - now > SLEEP_SLICE_S) {
            until = now + SLEEP_SLICE_S;
        }
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        /* EINTR just loops; no other error is possible with valid arguments. */
        (void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
}

/* Takes one full sample in the calling thread and stores it (lock held).
 * start() and stop() call it so that a run's first and last samples are taken
 * exactly when it starts and stops: whatever the program does right after
 * start() returns, or right before stop() is called, falls inside the series. */
static void
take_edge_sample(dprof_sampler *s)
{
    double row[DPROF_COL__COUNT];
    double t0 = now_s(), cost_ns;
    s->r.last_full = s->r.last_system = t0;
    if (take_sample(s, t0, SAMPLE_ALL, row) == 0) {
        (void)store_row(s, row);
        s->taken++;
    }
    /* counted in the cost statistics like the thread's own full samples */
    cost_ns = (now_s() - t0) * 1e9;
    s->cost_sum_ns += cost_ns;
    s->cost_n++;
    s->cost_full_sum_ns += cost_ns;
    s->cost_full_n++;
    if (cost_ns > s->cost_max_ns) {
        s->cost_max_ns = cost_ns;
    }
}

static void *
thread_main(void *arg)
{
    dprof_sampler *s = arg;
    /* start() took the first sample; the thread's first one is one interval on */
    double deadline = now_s() + s->interval;
    double row[DPROF_COL__COUNT];
    struct timespec cpu;

    sleep_until(s, deadline);

    while (!atomic_load(&s->stop_requested)) {
        double t0, t1, step;
        int rc, full, dropped = 0;
        pthread_mutex_lock(&s->lock);
        t0 = now_s();
        full = SAMPLE_FAST;
        if (t0 - s->r.last_full >= FULL_PERIOD_S) {
            s->r.last_full = t0;
            full = SAMPLE_PROCESS;
            if (t0 - s->r.last_system >= SYSTEM_PERIOD_S) {
                s->r.last_system = t0;
                full = SAMPLE_ALL;
            }
        }
        rc = take_sample(s, t0, full, row);
        if (rc == 0) {
            dropped = store_row(s, row);
            s->taken++;
        }
        else {
            record_error(s, "process %d has exited; sampling stopped", s->r.pid);
        }
        if (dropped) {
            step = s->interval / 2.0;   /* back onto the doubled grid */
        }
        else {
            step = s->interval;
        }
        t1 = now_s();
        s->cost_sum_ns += (t1 - t0) * 1e9;
        if (full == SAMPLE_ALL) {
            s->cost_full_sum_ns += (t1 - t0) * 1e9;
            s->cost_full_n++;
        }
        if ((t1 - t0) * 1e9 > s->cost_max_ns) {
            s->cost_max_ns = (t1 - t0) * 1e9;
        }
        s->cost_n++;
        pthread_mutex_unlock(&s->lock);
        if (rc < 0) {
            break;
        }
        deadline += step;
        if (deadline <= t1) {
            /* Fell behind (machine busy): skip the missed deadlines. */
            deadline += step * ceil((t1 - deadline) / step);
            if (deadline <= t1) {
                deadline += step;
            }
        }
        sleep_until(s, deadline);
    }

    pthread_mutex_lock(&s->lock);
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0) {
        s->thread_cpu_s = (double)cpu.tv_sec + (double)cpu.tv_nsec * 1e-9;
    }
    s->stopped_at = now_s();
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->thread_done, 1);
    return NULL;
}

/* ---- public API ---- */

dprof_sampler *
dprof_sampler_new(const dprof_sampler_config *cfg, int *err, char *msg, size_t msg_len)
{
    dprof_sampler *s;
    char path[64];
    if (!(cfg->interval > 0.0) || !isfinite(cfg->interval)) {
        *err = -DPROF_EINVAL;
        fmt(msg, msg_len, "interval must be a finite number of seconds > 0, got %g",
            cfg->interval);
        return NULL;
    }
    if (cfg->capacity == 0) {
        *err = -DPROF_EINVAL;
        fmt(msg, msg_len, "capacity must be > 0 samples, got 0");
        return NULL;
    }
    if (cfg->capacity > ((size_t)1 << 40) / DPROF_COL__COUNT / sizeof(double)) {
        *err = -DPROF_EINVAL;
        fmt(msg, msg_len, "capacity %zu is too large", cfg->capacity);
        return NULL;
    }
    if (cfg->pid < 0) {
        *err = -DPROF_EINVAL;
        fmt(msg, msg_len, "pid must be 0 (this process) or a process id > 0, got %d",
            cfg->pid);
        return NULL;
    }
    if (cfg->pid > 0) {
        snprintf(path, sizeof(path), "/proc/%d/stat", cfg->pid);
        if (access(path, R_OK) != 0) {
            *err = -DPROF_ESRCH;
            fmt(msg, msg_len, "no process with pid %d", cfg->pid);
            return NULL;
        }
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *err = -DPROF_ENOMEM;
        fmt(msg, msg_len, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->interval = cfg->interval;
    s->started_at = s->stopped_at = NAN;
    atomic_init(&s->stop_requested, 0);
    atomic_init(&s->thread_done, 1);
    pthread_mutex_init(&s->ctl, NULL);
    pthread_mutex_init(&s->lock, NULL);

    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&registry_lock);
    s->next = registry_head;
    if (registry_head != NULL) {
        registry_head->prev = s;
    }
    registry_head = s;
    pthread_mutex_unlock(&registry_lock);
    return s;
}

static void
stop_locked(dprof_sampler *s)
{
    if (s->thread_started) {
        atomic_store(&s->stop_requested, 1);
        pthread_join(s->thread, NULL);
        s->thread_started = 0;
    }
}

void
dprof_sampler_free(dprof_sampler *s)
{
    if (s == NULL) {
        return;
    }
    pthread_mutex_lock(&s->ctl);
    stop_locked(s);
    pthread_mutex_unlock(&s->ctl);

    pthread_mutex_lock(&registry_lock);
    if (s->prev != NULL) {
        s->prev->next = s->next;
    }
    else {
        registry_head = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    pthread_mutex_unlock(&registry_lock);

    if (s->r.opened) {
        close_readers(&s->r, s->r.opened_in != getpid());
    }
    dprof_colbuf_release(s->buf);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->ctl);
    free(s);
}

int
dprof_sampler_start(dprof_sampler *s, char *msg, size_t msg_len)
{
    dprof_colbuf *b;
    size_t cap = s->cfg.capacity;
    sigset_t all, old;
    int rc;

    pthread_mutex_lock(&s->ctl);
    if (s->thread_started && !atomic_load(&s->thread_done)) {
        pthread_mutex_unlock(&s->ctl);
        fmt(msg, msg_len, "the sampler is already running");
        return -DPROF_EBUSY;
    }
    stop_locked(s);   /* joins a thread that ended by itself */

    b = malloc(sizeof(*b) + cap * DPROF_COL__COUNT * sizeof(double));
    if (b == NULL) {
        pthread_mutex_unlock(&s->ctl);
        fmt(msg, msg_len, "out of memory for %zu samples", cap);
        return -DPROF_ENOMEM;
    }
    atomic_init(&b->refs, 1);
    b->capacity = cap;

    pthread_mutex_lock(&s->lock);
    rc = ensure_open(s, msg, msg_len);
    if (rc < 0) {
        pthread_mutex_unlock(&s->lock);
        pthread_mutex_unlock(&s->ctl);
        free(b);
        return rc;
    }
    dprof_colbuf_release(s->buf);   /* views exported earlier keep their own ref */
    s->buf = b;
    s->samples = 0;
    s->taken = 0;
    s->interval = s->cfg.interval;
    s->halvings = 0;
    s->errors = 0;
    s->has_last_error = 0;
    s->last_error[0] = '\0';
    s->cost_sum_ns = s->cost_max_ns = 0.0;
    s->cost_n = 0;
    s->cost_full_sum_ns = 0.0;
    s->cost_full_n = 0;
    s->thread_cpu_s = 0.0;
    s->r.prev_ts = NAN;
    s->r.last_full = -INFINITY;
    s->r.last_system = -INFINITY;
    s->started_at = now_s();
    s->stopped_at = NAN;
    atomic_store(&s->stop_requested, 0);
    atomic_store(&s->thread_done, 0);
    take_edge_sample(s);
    pthread_mutex_unlock(&s->lock);

    /* The thread blocks every signal so that signals meant for the program
     * (SIGINT, SIGALRM, profilers' SIGPROF) are never delivered to it. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&s->thread, NULL, thread_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_store(&s->thread_done, 1);
        pthread_mutex_unlock(&s->ctl);
        fmt(msg, msg_len, "cannot start the sampler thread: %s", strerror(rc));
        return -rc;
    }
    s->thread_started = 1;
    pthread_mutex_unlock(&s->ctl);
    return 0;
}

void
dprof_sampler_stop(dprof_sampler *s)
{
    pthread_mutex_lock(&s->ctl);
    /* Only a run that was still going gets a closing sample: one that ended by
     * itself (the process exited) has nothing left to read. */
    int was_running = s->thread_started && !atomic_load(&s->thread_done);
    stop_locked(s);
    if (was_running && s->buf != NULL) {
        pthread_mutex_lock(&s->lock);
        take_edge_sample(s);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&s->ctl);
}

int
dprof_sampler_running(dprof_sampler *s)
{
    return !atomic_load(&s->thread_done);
}

int
dprof_sampler_sample_once(dprof_sampler *s, double row[DPROF_COL__COUNT], char *msg,
                          size_t msg_len)
{
    int rc;
    pthread_mutex_lock(&s->lock);
    rc = ensure_open(s, msg, msg_len);
    if (rc == 0) {
        double now = now_s();
        s->r.last_full = s->r.last_system = now;
        rc = take_sample(s, now, SAMPLE_ALL, row);
        if (rc == -ESRCH) {
            fmt(msg, msg_len, "process %d has exited", s->r.pid);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int
dprof_sampler_missing(dprof_sampler *s, int col, char *buf, size_t len)
{
    int rc;
    if (col < 0 || col >= DPROF_COL__COUNT) {
        return -DPROF_EINVAL;
    }
    pthread_mutex_lock(&s->lock);
    rc = ensure_open(s, buf, len);
    if (rc == 0) {
        rc = s->r.missing[col][0] != '\0';
        fmt(buf, len, "%s", s->r.missing[col]);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void
dprof_sampler_get_info(dprof_sampler *s, dprof_sampler_info *out)
{
    pthread_mutex_lock(&s->lock);
    out->samples = s->samples;
    out->taken = s->taken;
    out->capacity = s->cfg.capacity;
    out->interval = s->interval;
    out->requested_interval = s->cfg.interval;
    out->overflow_halvings = s->halvings;
    out->errors = s->errors;
    out->has_last_error = s->has_last_error;
    memcpy(out->last_error, s->last_error, sizeof(out->last_error));
    out->started_at = s->started_at;
    out->stopped_at = s->stopped_at;
    out->io_wait_delayacct = s->r.opened ? s->r.delayacct : 0;
    out->pid = s->cfg.pid;
    out->children = s->cfg.children;
    out->sample_cost_count = s->cost_n;
    out->sample_cost_ns_mean = s->cost_n ? s->cost_sum_ns / (double)s->cost_n : NAN;
    out->sample_cost_ns_max = s->cost_n ? s->cost_max_ns : NAN;
    out->full_cost_ns_mean = s->cost_full_n ? s->cost_full_sum_ns / (double)s->cost_full_n : NAN;
    out->fast_cost_ns_mean = s->cost_n > s->cost_full_n
        ? (s->cost_sum_ns - s->cost_full_sum_ns) / (double)(s->cost_n - s->cost_full_n) : NAN;
    out->thread_cpu_s = s->thread_cpu_s;
    pthread_mutex_unlock(&s->lock);
    out->running = dprof_sampler_running(s);
}

/* Index of the first held sample whose timestamp is >= since (timestamps only
 * grow, also across compaction, so a binary search is valid). Lock held. */
static size_t
first_sample_since(const dprof_sampler *s, double since)
{
    const double *ts = s->buf->data + (size_t)DPROF_COL_TIMESTAMP * s->buf->capacity;
    size_t lo = 0, hi = s->samples;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts[mid] < since) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo;
}

size_t
dprof_sampler_count_since(dprof_sampler *s, double since)
{
    size_t n = 0;
    pthread_mutex_lock(&s->lock);
    if (s->buf != NULL && s->samples > 0) {
        n = s->samples - first_sample_since(s, since);
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

dprof_colbuf *
dprof_sampler_columns(dprof_sampler *s, double since, size_t *first, size_t *samples,
                      int *err)
{
    dprof_colbuf *out = NULL;
    pthread_mutex_lock(&s->lock);
    *first = 0;
    *samples = 0;
    *err = 0;
    if (s->buf != NULL && s->samples > 0) {
        size_t start = first_sample_since(s, since);
        size_t n = s->samples - start;
        if (n == 0) {
            /* nothing in the window: no block */
        }
        else if (dprof_sampler_running(s)) {
            /* Snapshot: the thread keeps writing and compacting the live one. */
            out = malloc(sizeof(*out) + n * DPROF_COL__COUNT * sizeof(double));
            if (out != NULL) {
                atomic_init(&out->refs, 1);
                out->capacity = n;
                for (int c = 0; c < DPROF_COL__COUNT; c++) {
                    memcpy(out->data + (size_t)c * n,
                           s->buf->data + (size_t)c * s->buf->capacity + start,
                           n * sizeof(double));
                }
                *samples = n;
            }
            else {
                *err = -DPROF_ENOMEM;   /* not "no samples": the caller must say so */
            }
        }
        else {
            out = s->buf;
            atomic_fetch_add(&out->refs, 1);
            *first = start;
            *samples = n;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

dprof_colbuf *
dprof_colbuf_ref(dprof_colbuf *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

const double *
dprof_colbuf_column(const dprof_colbuf *b, int col)
{
    return b->data + (size_t)col * b->capacity;
}

void
dprof_colbuf_release(dprof_colbuf *b)
{
    if (b != NULL && atomic_fetch_sub(&b->refs, 1) == 1) {
        free(b);
    }
}
