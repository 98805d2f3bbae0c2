/* Per-process readings for the resource sampler (see proc_tree.h). No Python.h.
 *
 * Nothing here allocates on the per-sample path except when a thread or a
 * descendant appears; failures are returned as -errno or reported, never
 * printed.
 */
#include "proc_tree.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPORT_LEN 320

static void report(dprof_proc_tree_report fn, void *ctx, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void
report(dprof_proc_tree_report fn, void *ctx, const char *format, ...)
{
    char message[REPORT_LEN];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof(message), format, ap);
    va_end(ap);
    fn(ctx, message);
}

/* ---- one process ---- */

static long
page_size(void)
{
    static long size = 0;   /* C data, set once; every thread computes the same value */
    if (size <= 0) {
        size = sysconf(_SC_PAGESIZE);
        if (size <= 0) {
            size = 4096;
        }
    }
    return size;
}

static void
proc_close(dprof_proc_reader *p)
{
    dprof_kfile_close(&p->stat);
    dprof_kfile_close(&p->status);
    dprof_kfile_close(&p->io);
    dprof_threads_close(&p->threads);
}

/* Opens the files of `pid`. Returns 0 or -errno of the stat file (the one the
 * process cannot be sampled without); *io_err gets the io file's -errno. */
static int
proc_open(dprof_proc_reader *p, int pid, int *io_err)
{
    char path[64];
    int rc;
    memset(p, 0, sizeof(*p));
    p->stat.fd = p->status.fd = p->io.fd = -1;
    p->threads.task_dirfd = -1;
    p->pid = pid;
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    rc = dprof_kfile_open(&p->stat, path);
    if (rc < 0) {
        return rc;
    }
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    rc = dprof_kfile_open(&p->status, path);
    if (rc == 0) {
        rc = dprof_threads_open(&p->threads, pid);
    }
    if (rc < 0) {
        proc_close(p);
        return rc;
    }
    snprintf(path, sizeof(path), "/proc/%d/io", pid);
    *io_err = dprof_kfile_open(&p->io, path);
    return 0;
}

int
dprof_proc_read(dprof_proc_reader *p, dprof_proc_sums *sum, int with_reaped, int full,
                int *io_failed)
{
    char buf[4096];
    dprof_stat st;
    dprof_status ss;
    dprof_io io;
    dprof_thread_states ts;
    ssize_t n = dprof_kfile_read(&p->stat, buf, sizeof(buf));
    if (n == -ESRCH || n == 0) {
        return -ESRCH;
    }
    if (n < 0) {
        return (int)n;
    }
    if (dprof_parse_stat(buf, &st) < 0) {
        return -EPROTO;
    }
    if (st.state == 'Z' || st.state == 'X') {
        return -ESRCH;   /* exited; its times move to its parent when reaped */
    }
    memset(&ss, 0, sizeof(ss));
    memset(&ts, 0, sizeof(ts));
    if (full) {
        n = dprof_kfile_read(&p->status, buf, sizeof(buf));
        if (n <= 0 || dprof_parse_status(buf, &ss) < 0) {
            return n == 0 ? -ESRCH : (n < 0 ? (int)n : -EPROTO);
        }
        n = dprof_threads_scan(&p->threads, &ts);
        if (n < 0) {
            return (int)n;
        }
    }
    sum->utime += st.utime + (with_reaped ? st.cutime : 0.0);
    sum->stime += st.stime + (with_reaped ? st.cstime : 0.0);
    sum->minflt += st.minflt + (with_reaped ? st.cminflt : 0.0);
    sum->majflt += st.majflt + (with_reaped ? st.cmajflt : 0.0);
    sum->threads += st.num_threads;
    /* stat's rss and vsize are the kernel's same counters as statm's resident and
     * size, so statm is not read: one file fewer on every sample */
    sum->rss += st.rss_pages;
    sum->vms += st.vsize / (double)page_size();
    sum->hwm += ss.vm_hwm_kb;
    sum->vctx += ss.voluntary_ctxt;
    sum->ivctx += ss.nonvoluntary_ctxt;
    sum->ts.running += ts.running;
    sum->ts.sleeping += ts.sleeping;
    sum->ts.disk_wait += ts.disk_wait;
    sum->ts.total += ts.total;
    sum->ts.blkio_ticks += ts.blkio_ticks;
    *io_failed = 0;
    if (p->io.fd >= 0) {
        n = dprof_kfile_read(&p->io, buf, sizeof(buf));
        if (n > 0 && dprof_parse_io(buf, &io) == 0) {
            sum->rchar += io.rchar;
            sum->wchar += io.wchar;
            sum->syscr += io.syscr;
            sum->syscw += io.syscw;
            sum->read_bytes += io.read_bytes;
            sum->write_bytes += io.write_bytes;
        }
        else {
            *io_failed = 1;
        }
    }
    return 0;
}

/* ---- the tree ---- */

int
dprof_proc_tree_open(dprof_proc_tree *t, int pid, int *io_err)
{
    memset(t, 0, sizeof(*t));
    t->last_scan = -INFINITY;
    *io_err = 0;
    return proc_open(&t->target, pid, io_err);
}

void
dprof_proc_tree_close(dprof_proc_tree *t)
{
    proc_close(&t->target);
    for (size_t i = 0; i < t->ndesc; i++) {
        proc_close(&t->desc[i]);
    }
    free(t->desc);
    t->desc = NULL;
    t->ndesc = t->desc_cap = 0;
    dprof_pidvec_free(&t->found);
}

/* Brings the list of descendants up to date: closes the readers of processes
 * that left the tree and opens readers for newcomers. */
static void
refresh_tree(dprof_proc_tree *t, dprof_proc_tree_report fn, void *ctx)
{
    size_t kept = 0;
    int pid = t->target.pid;
    int rc = dprof_descendants(pid, &t->found);
    if (rc < 0) {
        report(fn, ctx, "cannot list the descendants of process %d: %s", pid, strerror(-rc));
        return;
    }
    for (size_t i = 0; i < t->ndesc; i++) {
        int still = 0;
        for (size_t k = 0; k < t->found.count; k++) {
            if (t->found.pids[k] == t->desc[i].pid) {
                still = 1;
                t->found.pids[k] = 0;   /* known: not to be opened again */
                break;
            }
        }
        if (still) {
            t->desc[kept++] = t->desc[i];
        }
        else {
            proc_close(&t->desc[i]);
        }
    }
    t->ndesc = kept;
    for (size_t k = 0; k < t->found.count; k++) {
        int io_err = 0;
        if (t->found.pids[k] <= 0) {
            continue;
        }
        if (t->ndesc == t->desc_cap) {
            size_t cap = t->desc_cap ? t->desc_cap * 2 : 8;
            dprof_proc_reader *grown = realloc(t->desc, cap * sizeof(*grown));
            if (grown == NULL) {
                report(fn, ctx, "out of memory tracking descendants of process %d", pid);
                return;
            }
            t->desc = grown;
            t->desc_cap = cap;
        }
        if (proc_open(&t->desc[t->ndesc], t->found.pids[k], &io_err) == 0) {
            if (io_err < 0) {
                report(fn, ctx, "cannot read /proc/%d/io (%s): that descendant's I/O is "
                       "not counted", t->found.pids[k], strerror(-io_err));
            }
            t->ndesc++;
        }
    }
}

void
dprof_proc_tree_add_descendants(dprof_proc_tree *t, double now, double rescan, int full,
                                dprof_proc_sums *sum, dprof_proc_tree_report fn, void *ctx)
{
    size_t kept = 0;
    if (now - t->last_scan >= rescan) {
        refresh_tree(t, fn, ctx);
        t->last_scan = now;
    }
    for (size_t i = 0; i < t->ndesc; i++) {
        int failed = 0;
        if (dprof_proc_read(&t->desc[i], sum, 1, full, &failed) < 0) {
            /* Gone (or going): drop it; its times reach its parent's
             * cutime/cstime when it is reaped. */
            proc_close(&t->desc[i]);
            continue;
        }
        t->desc[kept++] = t->desc[i];
    }
    t->ndesc = kept;
}
