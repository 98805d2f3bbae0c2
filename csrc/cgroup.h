/* cgroup v2 readers for the resource sampler.
 *
 * Plain C, no Python.h. The cgroup of a process is the "0::<path>" line of
 * /proc/PID/cgroup; its files live under the cgroup2 mount point (found in
 * /proc/self/mountinfo: /sys/fs/cgroup on unified systems, often
 * /sys/fs/cgroup/unified on hybrid ones). Each file that cannot be opened is
 * reported missing with a reason, never as zero: on a cgroup v1 or hybrid system
 * the memory and io files of v2 do not exist because the controllers are bound
 * to v1.
 */
#ifndef DPROF_CGROUP_H
#define DPROF_CGROUP_H

#include "procfs.h"

enum dprof_cgroup_file {
    DPROF_CG_CPU_STAT = 0,   /* cpu.stat: usage_usec, user_usec, system_usec */
    DPROF_CG_MEM_CURRENT,    /* memory.current */
    DPROF_CG_MEM_PEAK,       /* memory.peak (Linux 5.19+) */
    DPROF_CG_MEM_EVENTS,     /* memory.events: high, max, oom_kill */
    DPROF_CG_IO_STAT,        /* io.stat: rbytes, wbytes summed over devices */
    DPROF_CG__COUNT
};

#define DPROF_CG_REASON_LEN 320

typedef struct {
    dprof_kfile files[DPROF_CG__COUNT];
    char reason[DPROF_CG__COUNT][DPROF_CG_REASON_LEN];  /* "" when available */
} dprof_cgroup;

typedef struct {
    double usage_s, user_s, system_s;
    double mem_current, mem_peak;
    double events_high, events_max, events_oom_kill;
    double io_read_bytes, io_write_bytes;
} dprof_cgroup_values;

/* Opens the cgroup v2 files of `pid`; files that cannot be opened get a reason.
 * Never fails as a whole. */
void dprof_cgroup_open(dprof_cgroup *cg, int pid);
/* The cgroup v2 directory of `pid` (under the cgroup2 mount point). Returns 0, or
 * -1 with `why` (a static string) set. */
int dprof_cgroup_dir(int pid, char *dir, size_t len, const char **why);
/* Opens the files of the cgroup v2 directory `dir` (as dprof_cgroup_open does for
 * a pid's); used to watch a cgroup from outside it (a container). */
void dprof_cgroup_open_dir(dprof_cgroup *cg, const char *dir);
/* memory.max of `dir` in bytes (+inf for "max", no limit). Returns 0 or -errno
 * (-EINVAL when the file holds neither). */
int dprof_cgroup_read_limit(const char *dir, double *bytes);
/* Parser of memory.max ("max\n" or a number): 0 with *bytes set, or -1. */
int dprof_parse_cg_limit(const char *buf, double *bytes);
/* Reads every open file; values of files not available (or failing now) are NaN.
 * Returns 0, or -errno of the first read that failed. */
int dprof_cgroup_read(dprof_cgroup *cg, dprof_cgroup_values *out);
void dprof_cgroup_close(dprof_cgroup *cg);

/* Parsers, exposed for tests. */
int dprof_parse_cg_cpu_stat(const char *buf, double *usage_us, double *user_us, double *system_us);
int dprof_parse_cg_memory_events(const char *buf, double *high, double *max, double *oom_kill);
int dprof_parse_cg_io_stat(const char *buf, double *rbytes, double *wbytes);

#endif
