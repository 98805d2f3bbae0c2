/* Per-process readings for the resource sampler: one process, or a process and
 * its descendants, summed.
 *
 * Plain C, no Python.h, no locks: the sampler engine (sampler.c) calls these
 * with its own lock held. Each process has kept-open /proc files (procfs.h);
 * descendants are found again at most every `rescan` seconds, between scans the
 * known ones are read, and one that has gone is dropped (its times reach its
 * parent's cutime/cstime when it is reaped).
 */
#ifndef DPROF_PROC_TREE_H
#define DPROF_PROC_TREE_H

#include "procfs.h"

/* Kept-open files of one process. */
typedef struct {
    int pid;
    dprof_kfile stat, status, io;
    dprof_threads threads;
} dprof_proc_reader;

/* Sums over one or more processes, in the units of the files (clock ticks,
 * pages, kB, bytes, counts). */
typedef struct {
    double utime, stime, rss, hwm, vms;
    double rchar, wchar, syscr, syscw, read_bytes, write_bytes;
    double vctx, ivctx, minflt, majflt, threads;
    dprof_thread_states ts;
} dprof_proc_sums;

/* A process and the descendants seen at the last scan. */
typedef struct {
    dprof_proc_reader target;
    dprof_proc_reader *desc;
    size_t ndesc, desc_cap;
    dprof_pidvec found;          /* scratch for dprof_descendants */
    double last_scan;            /* time of the last descendant scan, -inf before */
} dprof_proc_tree;

/* Called with a message for each failure that does not stop the reading. */
typedef void (*dprof_proc_tree_report)(void *ctx, const char *message);

/* Opens the files of `pid` into the tree (no descendants yet). Returns 0 or the
 * -errno of the stat file (without which the process cannot be read); *io_err
 * gets the -errno of its io file (0 when open). */
int dprof_proc_tree_open(dprof_proc_tree *t, int pid, int *io_err);
void dprof_proc_tree_close(dprof_proc_tree *t);

/* Reads one process into `sum`. Returns 0, -ESRCH when it has gone, or another
 * -errno. `with_reaped` adds the times and faults of its reaped children; `full`
 * also reads the slow files (status, every thread's state). *io_failed is 1 when
 * its io file is open but could not be read. */
int dprof_proc_read(dprof_proc_reader *p, dprof_proc_sums *sum, int with_reaped,
                    int full, int *io_failed);

/* Adds the descendants of the tree's target to `sum` (with their reaped
 * children), looking for new ones when `rescan` seconds have passed since the
 * last scan at time `now`. Failures go to `report`. */
void dprof_proc_tree_add_descendants(dprof_proc_tree *t, double now, double rescan,
                                     int full, dprof_proc_sums *sum,
                                     dprof_proc_tree_report report, void *ctx);

#endif
