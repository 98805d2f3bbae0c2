/* Readers of Linux /proc files for the resource sampler (see procfs.h).
 *
 * No Python.h and no allocation on the per-sample path except when a new
 * thread or process appears. Never prints, never aborts: errors go back to the
 * caller as -errno.
 */
#include "procfs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
dprof_kfile_open(dprof_kfile *f, const char *path)
{
    return dprof_kfile_openat(f, AT_FDCWD, path);
}

int
dprof_kfile_openat(dprof_kfile *f, int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        f->fd = -1;
        return -errno;
    }
    f->fd = fd;
    return 0;
}

ssize_t
dprof_kfile_read(dprof_kfile *f, char *buf, size_t size)
{
    size_t used = 0;
    if (f->fd < 0) {
        return -EBADF;
    }
    /* Most files fit in one read; loop for those that come in pieces. */
    while (used + 1 < size) {
        ssize_t n = pread(f->fd, buf + used, size - 1 - used, (off_t)used);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        used += (size_t)n;
        /* A short read is the whole file: kernel files are generated in one
         * go, and asking again for EOF would generate them a second time. */
        if ((size_t)n < size - 1 - (used - (size_t)n)) {
            break;
        }
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

void
dprof_kfile_close(dprof_kfile *f)
{
    if (f->fd >= 0) {
        close(f->fd);
    }
    f->fd = -1;
}

/* Parses one unsigned or signed decimal number at *p, skipping leading blanks;
 * advances *p. Returns 0, or -1 when there is no number. */
static int
next_number(const char **p, double *out)
{
    const char *s = *p;
    char *end;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '-') {
        long long v = strtoll(s, &end, 10);
        if (end == s) {
            return -1;
        }
        *out = (double)v;
    }
    else {
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s) {
            return -1;
        }
        *out = (double)v;
    }
    *p = end;
    return 0;
}

int
dprof_parse_stat(const char *buf, dprof_stat *out)
{
    /* The command name may hold spaces and ')', so fields start after the last ')'. */
    const char *p = strrchr(buf, ')');
    double v;
    if (p == NULL || p[1] != ' ' || p[2] == '\0') {
        return -1;
    }
    p += 2;
    out->state = *p++;
    out->delayacct_blkio_ticks = 0.0;
    /* Fields are numbered as in proc(5); the state is field 3. */
    for (int field = 4; field <= 42; field++) {
        if (next_number(&p, &v) < 0) {
            /* Kernels older than 2.6.18 stop before delayacct_blkio_ticks. */
            return field > 24 ? 0 : -1;
        }
        switch (field) {
        case 4:
            /* a pid fits in an int (pid_max is at most 2^22); a converted value that
             * does not is undefined behaviour, and the text is no kernel's */
            if (!(v >= 0.0 && v <= (double)INT_MAX)) {
                return -1;
            }
            out->ppid = (int)v;
            break;
        case 10: out->minflt = v; break;
        case 11: out->cminflt = v; break;
        case 12: out->majflt = v; break;
        case 13: out->cmajflt = v; break;
        case 14: out->utime = v; break;
        case 15: out->stime = v; break;
        case 16: out->cutime = v; break;
        case 17: out->cstime = v; break;
        case 20: out->num_threads = v; break;
        case 23: out->vsize = v; break;
        case 24: out->rss_pages = v; break;
        case 42: out->delayacct_blkio_ticks = v; break;
        default: break;
        }
    }
    return 0;
}

int
dprof_parse_statm(const char *buf, dprof_statm *out)
{
    const char *p = buf;
    if (next_number(&p, &out->size_pages) < 0
        || next_number(&p, &out->resident_pages) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_keyed_number(const char *buf, const char *key, double *out)
{
    size_t klen = strlen(key);
    const char *p = buf;
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, klen) == 0) {
            p += klen;
            return next_number(&p, out);
        }
        p = strchr(p, '\n');
        if (p != NULL) {
            p++;
        }
    }
    return -1;
}

int
dprof_parse_status(const char *buf, dprof_status *out)
{
    /* VmHWM/VmRSS are absent for kernel threads and zombies: report them as 0
     * pages held, which is what such a process holds. */
    if (dprof_keyed_number(buf, "VmHWM:", &out->vm_hwm_kb) < 0) {
        out->vm_hwm_kb = 0.0;
    }
    if (dprof_keyed_number(buf, "VmRSS:", &out->vm_rss_kb) < 0) {
        out->vm_rss_kb = 0.0;
    }
    if (dprof_keyed_number(buf, "Threads:", &out->threads) < 0
        || dprof_keyed_number(buf, "voluntary_ctxt_switches:", &out->voluntary_ctxt) < 0
        || dprof_keyed_number(buf, "nonvoluntary_ctxt_switches:", &out->nonvoluntary_ctxt) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_parse_io(const char *buf, dprof_io *out)
{
    if (dprof_keyed_number(buf, "rchar:", &out->rchar) < 0
        || dprof_keyed_number(buf, "wchar:", &out->wchar) < 0
        || dprof_keyed_number(buf, "syscr:", &out->syscr) < 0
        || dprof_keyed_number(buf, "syscw:", &out->syscw) < 0
        || dprof_keyed_number(buf, "read_bytes:", &out->read_bytes) < 0
        || dprof_keyed_number(buf, "write_bytes:", &out->write_bytes) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_parse_sysstat(const char *buf, dprof_sysstat *out)
{
    /* cpu  user nice system idle iowait irq softirq steal guest guest_nice */
    double f[8] = {0};
    const char *p = buf;
    if (strncmp(p, "cpu ", 4) != 0) {
        return -1;
    }
    p += 4;
    for (int i = 0; i < 8; i++) {
        if (next_number(&p, &f[i]) < 0) {
            if (i < 4) {
                return -1;
            }
            break;  /* very old kernels have fewer fields; the rest stay 0 */
        }
    }
    out->busy_ticks = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    out->total_ticks = out->busy_ticks + f[3] + f[4];
    return 0;
}

int
dprof_parse_meminfo(const char *buf, dprof_meminfo *out)
{
    if (dprof_keyed_number(buf, "MemTotal:", &out->total_kb) < 0
        || dprof_keyed_number(buf, "MemAvailable:", &out->available_kb) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_parse_netdev(const char *buf, dprof_netdev *out)
{
    const char *line = buf;
    int lineno = 0;
    out->recv_bytes = 0.0;
    out->sent_bytes = 0.0;
    while (line != NULL && *line != '\0') {
        const char *next = strchr(line, '\n');
        if (next != NULL) {
            next++;
        }
        /* The first two lines are headers. */
        if (lineno++ >= 2) {
            const char *colon = strchr(line, ':');
            const char *name = line;
            if (colon == NULL || (next != NULL && colon > next)) {
                return -1;
            }
            while (*name == ' ') {
                name++;
            }
            if (!(colon - name == 2 && strncmp(name, "lo", 2) == 0)) {
                const char *p = colon + 1;
                double v[9];
                for (int i = 0; i < 9; i++) {
                    if (next_number(&p, &v[i]) < 0) {
                        return -1;
                    }
                }
                out->recv_bytes += v[0];
                out->sent_bytes += v[8];
            }
        }
        line = next;
    }
    return lineno >= 2 ? 0 : -1;
}

/* ---- thread states ---- */

int
dprof_threads_open(dprof_threads *t, int pid)
{
    char path[64];
    int fd;
    memset(t, 0, sizeof(*t));
    t->task_dirfd = -1;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    t->task_dir = fdopendir(fd);   /* owns fd from here on */
    if (t->task_dir == NULL) {
        int err = errno;
        close(fd);
        return -err;
    }
    t->task_dirfd = fd;
    return 0;
}

static dprof_thread_file *
find_thread(dprof_threads *t, int tid, size_t *hint)
{
    /* readdir gives tids in the same order at every scan, so the entry after
     * the previous hit is almost always the right one. */
    for (size_t k = 0; k < t->count; k++) {
        size_t i = (*hint + k) % t->count;
        if (t->threads[i].tid == tid) {
            *hint = i + 1;
            return &t->threads[i];
        }
    }
    return NULL;
}

int
dprof_threads_scan(dprof_threads *t, dprof_thread_states *out)
{
    struct dirent *ent;
    size_t hint = 0;
    char buf[1024];
    /* The thread scanning is the sampler itself, always running while it reads:
     * it is counted in total but not in the states, so that "threads running"
     * says what the program's threads were doing, not that dprof was sampling. */
    const int self_tid = (int)syscall(SYS_gettid);
    memset(out, 0, sizeof(*out));
    if (t->task_dir == NULL) {
        return -EBADF;
    }
    for (size_t i = 0; i < t->count; i++) {
        t->threads[i].seen = 0;
    }
    rewinddir(t->task_dir);
    errno = 0;
    while ((ent = readdir(t->task_dir)) != NULL) {
        dprof_thread_file *th;
        dprof_stat st;
        int tid;
        if (!isdigit((unsigned char)ent->d_name[0])) {
            continue;
        }
        tid = atoi(ent->d_name);
        th = find_thread(t, tid, &hint);
        if (th == NULL) {
            char rel[48];
            if (t->count == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                dprof_thread_file *grown = realloc(t->threads, cap * sizeof(*grown));
                if (grown == NULL) {
                    return -ENOMEM;
                }
                t->threads = grown;
                t->cap = cap;
            }
            th = &t->threads[t->count];
            snprintf(rel, sizeof(rel), "%d/stat", tid);
            if (dprof_kfile_openat(&th->stat, t->task_dirfd, rel) < 0) {
                continue;   /* the thread ended between readdir and open */
            }
            th->tid = tid;
            t->count++;
        }
        th->seen = 1;
        if (dprof_kfile_read(&th->stat, buf, sizeof(buf)) <= 0
            || dprof_parse_stat(buf, &st) < 0) {
            th->seen = 0;   /* ended since the last scan: swept below */
            continue;
        }
        out->total += 1;
        if (tid == self_tid) {
            continue;
        }
        switch (st.state) {
        case 'R': out->running += 1; break;
        case 'S': out->sleeping += 1; break;
        case 'D': out->disk_wait += 1; break;
        default: break;
        }
        out->blkio_ticks += st.delayacct_blkio_ticks;
    }
    /* Sweep threads that have gone, keeping the order of the survivors. */
    {
        size_t kept = 0;
        for (size_t i = 0; i < t->count; i++) {
            if (t->threads[i].seen) {
                t->threads[kept++] = t->threads[i];
            }
            else {
                dprof_kfile_close(&t->threads[i].stat);
            }
        }
        t->count = kept;
    }
    if (out->total == 0) {
        return -ESRCH;   /* no thread left: the process has gone */
    }
    return 0;
}

void
dprof_threads_close(dprof_threads *t)
{
    for (size_t i = 0; i < t->count; i++) {
        dprof_kfile_close(&t->threads[i].stat);
    }
    free(t->threads);
    if (t->task_dir != NULL) {
        closedir(t->task_dir);   /* also closes task_dirfd */
    }
    memset(t, 0, sizeof(*t));
    t->task_dirfd = -1;
}

/* ---- descendants ---- */

int
dprof_pidvec_push(dprof_pidvec *v, int pid)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 32;
        int *grown = realloc(v->pids, cap * sizeof(*grown));
        if (grown == NULL) {
            return -ENOMEM;
        }
        v->pids = grown;
        v->cap = cap;
    }
    v->pids[v->count++] = pid;
    return 0;
}

void
dprof_pidvec_free(dprof_pidvec *v)
{
    free(v->pids);
    v->pids = NULL;
    v->count = v->cap = 0;
}

int
dprof_read_pid_list(dprof_kfile *f, dprof_pidvec *out)
{
    /* Read in pieces: a process with a few hundred children has a list longer
     * than one buffer, and a pid cut at the end of a piece must not be taken for
     * a small pid. Digits at the end of a full piece are carried over. */
    char buf[4096];
    size_t carry = 0;
    off_t offset = 0;
    if (f->fd < 0) {
        return -EBADF;
    }
    for (;;) {
        size_t room = sizeof(buf) - 1 - carry;
        ssize_t n = pread(f->fd, buf + carry, room, offset);
        size_t len, usable;
        int at_end;
        const char *p;
        double pid;
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        offset += n;
        len = carry + (size_t)n;
        at_end = (size_t)n < room;   /* short read: the whole file (see kfile_read) */
        usable = len;
        if (!at_end) {
            while (usable > 0 && isdigit((unsigned char)buf[usable - 1])) {
                usable--;
            }
            if (usable == 0) {
                return -EPROTO;   /* 4 KB of digits is no list of pids */
            }
        }
        carry = len - usable;
        buf[len] = '\0';
        {
            char kept = buf[usable];
            buf[usable] = '\0';
            p = buf;
            while (next_number(&p, &pid) == 0) {
                if (dprof_pidvec_push(out, (int)pid) < 0) {
                    return -ENOMEM;
                }
            }
            buf[usable] = kept;
        }
        if (at_end) {
            return 0;
        }
        memmove(buf, buf + usable, carry);
    }
}

/* Appends the children of every thread of `pid` read from .../children files.
 * Returns 0, -ENOENT when the kernel lacks those files, or -errno. */
static int
children_from_files(int pid, dprof_pidvec *out)
{
    char path[64];
    DIR *dir;
    struct dirent *ent;
    int found_file = 0;
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    dir = opendir(path);
    if (dir == NULL) {
        return -errno;
    }
    while ((ent = readdir(dir)) != NULL) {
        char cpath[320];
        dprof_kfile f;
        int rc;
        if (!isdigit((unsigned char)ent->d_name[0])) {
            continue;
        }
        snprintf(cpath, sizeof(cpath), "/proc/%d/task/%s/children", pid, ent->d_name);
        rc = dprof_kfile_open(&f, cpath);
        if (rc < 0) {
            if (rc == -ENOENT && !found_file) {
                closedir(dir);
                return -ENOENT;
            }
            continue;   /* the thread ended meanwhile */
        }
        found_file = 1;
        rc = dprof_read_pid_list(&f, out);
        dprof_kfile_close(&f);
        if (rc == -ENOMEM) {
            closedir(dir);
            return rc;
        }
    }
    closedir(dir);
    return 0;
}

/* Reads (pid, ppid) of every process in /proc. */
static int
scan_parents(dprof_pidvec *pids, dprof_pidvec *ppids)
{
    DIR *proc = opendir("/proc");
    struct dirent *ent;
    int procfd;
    if (proc == NULL) {
        return -errno;
    }
    procfd = dirfd(proc);
    while ((ent = readdir(proc)) != NULL) {
        char rel[300];
        char buf[1024];
        dprof_kfile f;
        dprof_stat st;
        ssize_t n;
        if (!isdigit((unsigned char)ent->d_name[0])) {
            continue;
        }
        snprintf(rel, sizeof(rel), "%s/stat", ent->d_name);
        if (dprof_kfile_openat(&f, procfd, rel) < 0) {
            continue;   /* exited meanwhile */
        }
        n = dprof_kfile_read(&f, buf, sizeof(buf));
        dprof_kfile_close(&f);
        if (n <= 0 || dprof_parse_stat(buf, &st) < 0) {
            continue;
        }
        if (dprof_pidvec_push(pids, atoi(ent->d_name)) < 0
            || dprof_pidvec_push(ppids, st.ppid) < 0) {
            closedir(proc);
            return -ENOMEM;
        }
    }
    closedir(proc);
    return 0;
}

int
dprof_descendants(int pid, dprof_pidvec *out)
{
    int rc;
    out->count = 0;
    rc = children_from_files(pid, out);
    if (rc == 0) {
        /* Breadth first: out grows while we walk it. */
        for (size_t i = 0; i < out->count; i++) {
            rc = children_from_files(out->pids[i], out);
            if (rc == -ENOMEM) {
                return rc;
            }
        }
        return 0;
    }
    if (rc != -ENOENT) {
        return rc;
    }
    /* No children files (CONFIG_PROC_CHILDREN off): walk the parent links. */
    {
        dprof_pidvec pids = {0}, ppids = {0};
        rc = scan_parents(&pids, &ppids);
        if (rc == 0) {
            /* out[0..i) are found; look for children of the next parent. */
            int parent = pid;
            size_t i = 0;
            for (;;) {
                for (size_t k = 0; k < pids.count; k++) {
                    if (ppids.pids[k] == parent && pids.pids[k] != pid) {
                        if (dprof_pidvec_push(out, pids.pids[k]) < 0) {
                            rc = -ENOMEM;
                            goto done;
                        }
                    }
                }
                if (i >= out->count) {
                    break;
                }
                parent = out->pids[i++];
            }
        }
    done:
        dprof_pidvec_free(&pids);
        dprof_pidvec_free(&ppids);
    }
    return rc;
}
