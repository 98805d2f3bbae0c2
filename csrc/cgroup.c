/* cgroup v2 readers for the resource sampler (see cgroup.h). No Python.h. */
#include "cgroup.h"
#include "procfs.h"

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* snprintf that may truncate (reasons are messages, a cut one is fine). */
static void fmt(char *buf, size_t len, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void
fmt(char *buf, size_t len, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, len, format, ap);
    va_end(ap);
}

static const char *const file_names[DPROF_CG__COUNT] = {
    "cpu.stat", "memory.current", "memory.peak", "memory.events", "io.stat",
};

int
dprof_parse_cg_cpu_stat(const char *buf, double *usage_us, double *user_us, double *system_us)
{
    if (dprof_keyed_number(buf, "usage_usec ", usage_us) < 0
        || dprof_keyed_number(buf, "user_usec ", user_us) < 0
        || dprof_keyed_number(buf, "system_usec ", system_us) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_parse_cg_memory_events(const char *buf, double *high, double *max, double *oom_kill)
{
    if (dprof_keyed_number(buf, "high ", high) < 0
        || dprof_keyed_number(buf, "max ", max) < 0
        || dprof_keyed_number(buf, "oom_kill ", oom_kill) < 0) {
        return -1;
    }
    return 0;
}

int
dprof_parse_cg_io_stat(const char *buf, double *rbytes, double *wbytes)
{
    /* One line per device: "8:0 rbytes=N wbytes=N rios=N wios=N ..." */
    const char *p = buf;
    *rbytes = 0.0;
    *wbytes = 0.0;
    while ((p = strstr(p, "bytes=")) != NULL) {
        char kind = p > buf ? p[-1] : '\0';
        char *end;
        unsigned long long v = strtoull(p + 6, &end, 10);
        if (end == p + 6) {
            return -1;
        }
        if (kind == 'r') {
            *rbytes += (double)v;
        }
        else if (kind == 'w') {
            *wbytes += (double)v;
        }
        p = end;
    }
    return 0;
}

/* Finds the cgroup2 mount point (and the root of the hierarchy it shows) in
 * /proc/self/mountinfo. Returns 0 or -1. */
static int
cgroup2_mount(char *mnt, size_t mntlen, char *root, size_t rootlen)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int found = -1;
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char r[PATH_MAX], m[PATH_MAX];
        const char *sep = strstr(line, " - cgroup2 ");
        if (sep == NULL) {
            continue;
        }
        /* id parent major:minor root mountpoint ... */
        if (sscanf(line, "%*s %*s %*s %4095s %4095s", r, m) != 2) {
            continue;
        }
        snprintf(mnt, mntlen, "%s", m);
        snprintf(root, rootlen, "%s", r);
        found = 0;
        break;
    }
    fclose(f);
    return found;
}

/* The "0::<path>" line of /proc/PID/cgroup. Returns 0 or -1. */
static int
cgroup2_path(int pid, char *path, size_t len)
{
    char fname[64];
    char line[4096];
    FILE *f;
    int found = -1;
    snprintf(fname, sizeof(fname), "/proc/%d/cgroup", pid);
    f = fopen(fname, "re");
    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "0::", 3) == 0) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, len, "%s", line + 3);
            found = 0;
            break;
        }
    }
    fclose(f);
    return found;
}

int
dprof_cgroup_dir(int pid, char *dir, size_t len, const char **why)
{
    char mnt[PATH_MAX], root[PATH_MAX], path[PATH_MAX];
    const char *rel;
    int n;
    if (cgroup2_path(pid, path, sizeof(path)) < 0) {
        *why = "no cgroup v2 entry (\"0::\" line) in /proc/PID/cgroup";
        return -1;
    }
    if (cgroup2_mount(mnt, sizeof(mnt), root, sizeof(root)) < 0) {
        *why = "no cgroup2 file system mounted";
        return -1;
    }
    /* A mount of a sub-tree shows paths relative to its root. */
    rel = path;
    if (strcmp(root, "/") != 0 && strncmp(path, root, strlen(root)) == 0) {
        rel = path + strlen(root);
    }
    if (rel[0] == '\0' || strcmp(rel, "/") == 0) {
        n = snprintf(dir, len, "%s", mnt);
    }
    else {
        n = snprintf(dir, len, "%s%s", mnt, rel);
    }
    if (n < 0 || (size_t)n >= len) {
        *why = "cgroup path too long";
        return -1;
    }
    return 0;
}

void
dprof_cgroup_open_dir(dprof_cgroup *cg, const char *dir)
{
    for (int i = 0; i < DPROF_CG__COUNT; i++) {
        char fpath[PATH_MAX + 32];
        int rc;
        cg->files[i].fd = -1;
        cg->reason[i][0] = '\0';
        fmt(fpath, sizeof(fpath), "%s/%s", dir, file_names[i]);
        rc = dprof_kfile_open(&cg->files[i], fpath);
        if (rc < 0) {
            fmt(cg->reason[i], DPROF_CG_REASON_LEN,
                "cgroup v2 file %s not available (%s: cgroup v1 or controller not enabled)",
                fpath, strerror(-rc));
        }
    }
}

void
dprof_cgroup_open(dprof_cgroup *cg, int pid)
{
    char dir[PATH_MAX];
    const char *why = NULL;
    if (dprof_cgroup_dir(pid, dir, sizeof(dir), &why) == 0) {
        dprof_cgroup_open_dir(cg, dir);
        return;
    }
    for (int i = 0; i < DPROF_CG__COUNT; i++) {
        cg->files[i].fd = -1;
        fmt(cg->reason[i], DPROF_CG_REASON_LEN, "cgroup v2 %s not available: %s",
            file_names[i], why);
    }
}

int
dprof_parse_cg_limit(const char *buf, double *bytes)
{
    char *end;
    unsigned long long v;
    if (strncmp(buf, "max", 3) == 0 && (buf[3] == '\n' || buf[3] == '\0')) {
        *bytes = INFINITY;
        return 0;
    }
    v = strtoull(buf, &end, 10);
    if (end == buf || (*end != '\n' && *end != '\0')) {
        return -1;
    }
    *bytes = (double)v;
    return 0;
}

int
dprof_cgroup_read_limit(const char *dir, double *bytes)
{
    char fpath[PATH_MAX + 32], buf[64];
    dprof_kfile f;
    ssize_t n;
    int rc;
    fmt(fpath, sizeof(fpath), "%s/memory.max", dir);
    rc = dprof_kfile_open(&f, fpath);
    if (rc < 0) {
        return rc;
    }
    n = dprof_kfile_read(&f, buf, sizeof(buf));
    dprof_kfile_close(&f);
    if (n < 0) {
        return (int)n;
    }
    return dprof_parse_cg_limit(buf, bytes) == 0 ? 0 : -EINVAL;
}

int
dprof_cgroup_read(dprof_cgroup *cg, dprof_cgroup_values *out)
{
    char buf[4096];
    int first_error = 0;
    double a, b, c;
    out->usage_s = out->user_s = out->system_s = NAN;
    out->mem_current = out->mem_peak = NAN;
    out->events_high = out->events_max = out->events_oom_kill = NAN;
    out->io_read_bytes = out->io_write_bytes = NAN;
    for (int i = 0; i < DPROF_CG__COUNT; i++) {
        ssize_t n;
        char *end;
        if (cg->files[i].fd < 0) {
            continue;
        }
        n = dprof_kfile_read(&cg->files[i], buf, sizeof(buf));
        if (n < 0) {
            if (first_error == 0) {
                first_error = (int)n;
            }
            continue;
        }
        switch (i) {
        case DPROF_CG_CPU_STAT:
            if (dprof_parse_cg_cpu_stat(buf, &a, &b, &c) == 0) {
                out->usage_s = a / 1e6;
                out->user_s = b / 1e6;
                out->system_s = c / 1e6;
            }
            break;
        case DPROF_CG_MEM_CURRENT:
        case DPROF_CG_MEM_PEAK:
            a = (double)strtoull(buf, &end, 10);
            if (end != buf) {
                *(i == DPROF_CG_MEM_CURRENT ? &out->mem_current : &out->mem_peak) = a;
            }
            break;
        case DPROF_CG_MEM_EVENTS:
            if (dprof_parse_cg_memory_events(buf, &a, &b, &c) == 0) {
                out->events_high = a;
                out->events_max = b;
                out->events_oom_kill = c;
            }
            break;
        case DPROF_CG_IO_STAT:
            if (dprof_parse_cg_io_stat(buf, &a, &b) == 0) {
                out->io_read_bytes = a;
                out->io_write_bytes = b;
            }
            break;
        default:
            break;
        }
    }
    return first_error;
}

void
dprof_cgroup_close(dprof_cgroup *cg)
{
    for (int i = 0; i < DPROF_CG__COUNT; i++) {
        dprof_kfile_close(&cg->files[i]);
    }
}
