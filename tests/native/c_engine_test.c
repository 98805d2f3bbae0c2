/* Pure-C test of the sampler's readers and engine, with no Python involved.
 * Built and run by test_sampler_c.py (gcc, optionally with sanitizers). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "procfs.h"
#include "sampler.h"

static int failures;

#define CHECK(cond)                                                   \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                 \
            failures++;                                               \
        }                                                             \
    } while (0)

static void
test_parsers(void)
{
    dprof_stat st;
    dprof_netdev nd;
    dprof_sysstat ss;
    double a, b, c;
    /* A command name holding ") " must not shift the fields. */
    const char *stat =
        "42 (evil) name) S 7 42 42 0 -1 4194560 11 22 33 44 150 250 5 6 20 0 3 0 99 "
        "1048576 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 12 0 0";
    CHECK(dprof_parse_stat(stat, &st) == 0);
    CHECK(st.state == 'S' && st.ppid == 7);
    CHECK(st.minflt == 11 && st.cminflt == 22 && st.majflt == 33 && st.cmajflt == 44);
    CHECK(st.utime == 150 && st.stime == 250 && st.cutime == 5 && st.cstime == 6);
    CHECK(st.num_threads == 3 && st.vsize == 1048576 && st.rss_pages == 300);
    CHECK(st.delayacct_blkio_ticks == 12);
    CHECK(dprof_parse_stat("garbage", &st) < 0);

    CHECK(dprof_parse_netdev(
              "Inter-| head\n face |head\n    lo: 100 1 0 0 0 0 0 0 200 2 0 0 0 0 0 0\n"
              "  eth0: 1000 1 0 0 0 0 0 0 2000 2 0 0 0 0 0 0\n"
              "  eth1: 1 1 0 0 0 0 0 0 2 2 0 0 0 0 0 0\n",
              &nd) == 0);
    CHECK(nd.recv_bytes == 1001 && nd.sent_bytes == 2002);

    CHECK(dprof_parse_sysstat("cpu  10 1 5 100 4 2 3 1 0 0\ncpu0 ...", &ss) == 0);
    CHECK(ss.busy_ticks == 10 + 1 + 5 + 2 + 3 + 1 && ss.total_ticks == ss.busy_ticks + 104);

    CHECK(dprof_parse_cg_io_stat("8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=5 dios=0\n"
                                 "8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
                                 &a, &b) == 0);
    CHECK(a == 11 && b == 22);
    CHECK(dprof_parse_cg_memory_events("low 0\nhigh 3\nmax 4\noom 1\noom_kill 2\n", &a, &b, &c) == 0);
    CHECK(a == 3 && b == 4 && c == 2);
    CHECK(dprof_parse_cg_cpu_stat("usage_usec 30\nuser_usec 20\nsystem_usec 10\n", &a, &b, &c) == 0);
    CHECK(a == 30 && b == 20 && c == 10);
    /* memory.max: a byte count, or "max" for no limit */
    CHECK(dprof_parse_cg_limit("536870912\n", &a) == 0 && a == 536870912.0);
    CHECK(dprof_parse_cg_limit("max\n", &a) == 0 && isinf(a) && a > 0);
    CHECK(dprof_parse_cg_limit("maximum\n", &a) < 0);
    CHECK(dprof_parse_cg_limit("12abc", &a) < 0);
    CHECK(dprof_parse_cg_limit("", &a) < 0);
}

/* A children file longer than one read buffer: every pid comes back whole, none
 * is cut in two at a buffer boundary. */
static void
test_long_pid_list(void)
{
    char path[] = "/tmp/dprof-pids-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    dprof_kfile kf;
    dprof_pidvec v = {0};
    const int count = 3000;
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    f = fdopen(fd, "w");
    for (int i = 0; i < count; i++) {
        fprintf(f, "%d ", 1000003 + 7 * i);   /* 8 characters each, 24 KB in all */
    }
    fclose(f);
    CHECK(dprof_kfile_open(&kf, path) == 0);
    CHECK(dprof_read_pid_list(&kf, &v) == 0);
    CHECK(v.count == (size_t)count);
    for (size_t i = 0; i < v.count && i < (size_t)count; i++) {
        if (v.pids[i] != 1000003 + 7 * (int)i) {
            CHECK(v.pids[i] == 1000003 + 7 * (int)i);
            break;
        }
    }
    dprof_kfile_close(&kf);
    dprof_pidvec_free(&v);
    unlink(path);
}

static void
test_engine(void)
{
    dprof_sampler_config cfg = {0, 0.001, 8, 0};
    dprof_sampler_info info;
    char msg[DPROF_SAMPLER_MSG_LEN];
    int err = 0;
    size_t n = 0;
    dprof_colbuf *cols;
    struct timespec pause = {0, 100 * 1000 * 1000};
    dprof_sampler *s = dprof_sampler_new(&cfg, &err, msg, sizeof(msg));
    CHECK(s != NULL);
    if (s == NULL) {
        return;
    }
    for (int round = 0; round < 3; round++) {
        CHECK(dprof_sampler_start(s, msg, sizeof(msg)) == 0);
        CHECK(dprof_sampler_start(s, msg, sizeof(msg)) == -DPROF_EBUSY);
        nanosleep(&pause, NULL);
        dprof_sampler_stop(s);
        dprof_sampler_get_info(s, &info);
        CHECK(info.samples <= 8 && info.samples >= 4);
        CHECK(info.overflow_halvings >= 1);
        CHECK(info.errors == 0);
    }
    size_t first = 1;
    cols = dprof_sampler_columns(s, -INFINITY, &first, &n, &err);
    CHECK(cols != NULL && n == info.samples && first == 0);
    if (cols != NULL) {
        const double *ts = dprof_colbuf_column(cols, DPROF_COL_TIMESTAMP);
        for (size_t i = 1; i < n; i++) {
            CHECK(ts[i] > ts[i - 1]);
        }
    }
    dprof_sampler_free(s);   /* the exported block outlives the sampler */
    if (cols != NULL) {
        CHECK(!isnan(dprof_colbuf_column(cols, DPROF_COL_RSS_BYTES)[0]));
        dprof_colbuf_release(cols);
    }

    cfg.capacity = 0;
    CHECK(dprof_sampler_new(&cfg, &err, msg, sizeof(msg)) == NULL && err == -DPROF_EINVAL);
    cfg.capacity = 8;
    cfg.pid = 4194305;
    CHECK(dprof_sampler_new(&cfg, &err, msg, sizeof(msg)) == NULL && err == -DPROF_ESRCH);
}

int
main(void)
{
    test_parsers();
    test_long_pid_list();
    test_engine();
    if (failures == 0) {
        printf("ok\n");
    }
    return failures != 0;
}
