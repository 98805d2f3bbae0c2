/* Readers of Linux /proc files for the resource sampler.
 *
 * Plain C, no Python.h: everything here is testable from C alone. Files that are
 * re-read at every sample are kept open and re-read with pread() from offset 0,
 * which the kernel answers by regenerating the file (about 3x cheaper than
 * open/read/close each time). Parsers take a NUL-terminated buffer and fill a
 * struct of doubles; they return 0, or -1 when the text is not what they expect.
 *
 * Errors are returned as negative errno values and never printed: the sampler
 * thread records them and reports them at stop.
 */
#ifndef DPROF_PROCFS_H
#define DPROF_PROCFS_H

#include <dirent.h>
#include <stddef.h>
#include <sys/types.h>

/* A kernel file kept open for repeated pread() from offset 0; fd < 0 = closed. */
typedef struct {
    int fd;
} dprof_kfile;

#define DPROF_KFILE_CLOSED {-1}

/* Opens `path` read-only (close-on-exec). Returns 0 or -errno. */
int dprof_kfile_open(dprof_kfile *f, const char *path);
/* Opens `path` relative to the directory descriptor `dirfd`. Returns 0 or -errno. */
int dprof_kfile_openat(dprof_kfile *f, int dirfd, const char *path);
/* Reads the whole file (up to size-1 bytes) into buf and NUL-terminates it.
 * Returns the number of bytes read, or -errno (-EBADF when closed). */
ssize_t dprof_kfile_read(dprof_kfile *f, char *buf, size_t size);
void dprof_kfile_close(dprof_kfile *f);

/* /proc/PID/stat and /proc/PID/task/TID/stat. Times are in clock ticks. */
typedef struct {
    char state;               /* R, S, D, Z, T, ... */
    int ppid;
    double minflt, cminflt, majflt, cmajflt;
    double utime, stime, cutime, cstime;  /* clock ticks */
    double num_threads;
    double vsize;             /* bytes */
    double rss_pages;
    double delayacct_blkio_ticks;
} dprof_stat;
int dprof_parse_stat(const char *buf, dprof_stat *out);

/* /proc/PID/statm, in pages. */
typedef struct {
    double size_pages, resident_pages;
} dprof_statm;
int dprof_parse_statm(const char *buf, dprof_statm *out);

/* The few /proc/PID/status lines the sampler needs. Context switches are those
 * of the thread-group leader, as the kernel (and psutil) report them. */
typedef struct {
    double vm_hwm_kb, vm_rss_kb, threads, voluntary_ctxt, nonvoluntary_ctxt;
} dprof_status;
int dprof_parse_status(const char *buf, dprof_status *out);

/* /proc/PID/io. */
typedef struct {
    double rchar, wchar, syscr, syscw, read_bytes, write_bytes;
} dprof_io;
int dprof_parse_io(const char *buf, dprof_io *out);

/* First line of /proc/stat, all CPUs, in clock ticks. busy = user + nice +
 * system + irq + softirq + steal (guest time is already inside user/nice);
 * total = busy + idle + iowait. */
typedef struct {
    double busy_ticks, total_ticks;
} dprof_sysstat;
int dprof_parse_sysstat(const char *buf, dprof_sysstat *out);

/* MemTotal and MemAvailable of /proc/meminfo, in kB. */
typedef struct {
    double total_kb, available_kb;
} dprof_meminfo;
int dprof_parse_meminfo(const char *buf, dprof_meminfo *out);

/* /proc/PID/net/dev totals of every interface but `lo`. */
typedef struct {
    double recv_bytes, sent_bytes;
} dprof_netdev;
int dprof_parse_netdev(const char *buf, dprof_netdev *out);

/* Thread states of one process from /proc/PID/task/TID/stat, one kept-open
 * descriptor per thread (opened when a thread appears, closed when it goes). */
typedef struct {
    int tid;
    dprof_kfile stat;
    int seen;                 /* mark for the sweep of vanished threads */
} dprof_thread_file;

typedef struct {
    DIR *task_dir;            /* /proc/PID/task, rewound at each scan */
    int task_dirfd;
    dprof_thread_file *threads;
    size_t count, cap;
} dprof_threads;

typedef struct {
    double running, sleeping, disk_wait, total;
    double blkio_ticks;       /* sum of delayacct_blkio_ticks over live threads */
} dprof_thread_states;

int dprof_threads_open(dprof_threads *t, int pid);   /* 0 or -errno */
int dprof_threads_scan(dprof_threads *t, dprof_thread_states *out); /* 0 or -errno */
void dprof_threads_close(dprof_threads *t);

/* A growable list of pids. */
typedef struct {
    int *pids;
    size_t count, cap;
} dprof_pidvec;

int dprof_pidvec_push(dprof_pidvec *v, int pid);    /* 0 or -ENOMEM */
void dprof_pidvec_free(dprof_pidvec *v);

/* Appends the pids of a whitespace-separated list file (a .../children file) of
 * any length to `out`. Returns 0 or -errno (-ENOMEM, -EPROTO for a file that is
 * not such a list). */
int dprof_read_pid_list(dprof_kfile *f, dprof_pidvec *out);

/* Fills `out` (cleared first) with every descendant of `pid`, not `pid` itself.
 * Uses /proc/PID/task/TID/children when the kernel has it, else scans /proc for
 * parent pids. Returns 0 or -errno. */
int dprof_descendants(int pid, dprof_pidvec *out);

/* Finds "key" at the start of a line of `buf` (the key includes its separator,
 * e.g. "VmHWM:" or "usage_usec ") and parses the integer after it, blanks
 * skipped. 0, or -1 when the key is absent or no number follows. */
int dprof_keyed_number(const char *buf, const char *key, double *out);

#endif
