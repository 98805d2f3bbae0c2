/* libFuzzer harness for the C parsers of /proc and cgroup text (csrc/procfs.c,
 * csrc/cgroup.c): arbitrary bytes, NUL-terminated as dprof_kfile_read leaves them,
 * to one parser chosen at build time (-DDPROF_FUZZ_TARGET=N, see TARGETS below), so
 * that each parser gets its own corpus and its own time. Built and run by
 * tests/fuzz/run_c_fuzz.sh under AddressSanitizer and UndefinedBehaviorSanitizer:
 * any read past the text, overflow or undefined arithmetic aborts the run.
 *
 * Beyond "does not crash", every parser must leave its outputs finite or NaN-free
 * when it returns 0 (a sample of inf would poison every statistic of a series). */
#include "../../csrc/cgroup.h"
#include "../../csrc/procfs.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef DPROF_FUZZ_TARGET
#define DPROF_FUZZ_TARGET 0
#endif

/* Aborts (a crash libFuzzer records) when a parser that said "ok" gave a
 * non-finite number. */
static void
finite_or_die(const double *values, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (!isfinite(values[i])) {
            abort();
        }
    }
}

#define CHECK_STRUCT(rc, s) \
    do { if ((rc) == 0) finite_or_die((const double *)&(s), sizeof(s) / sizeof(double)); } while (0)

static void
run(const char *text)
{
    int rc;
    switch (DPROF_FUZZ_TARGET) {
    case 0: {   /* stat: its first fields are not doubles, check the doubles */
        dprof_stat s;
        rc = dprof_parse_stat(text, &s);
        if (rc == 0) {
            finite_or_die(&s.minflt, (size_t)(&s.delayacct_blkio_ticks - &s.minflt) + 1);
        }
        break;
    }
    case 1: { dprof_statm s; rc = dprof_parse_statm(text, &s); CHECK_STRUCT(rc, s); break; }
    case 2: { dprof_status s; rc = dprof_parse_status(text, &s); CHECK_STRUCT(rc, s); break; }
    case 3: { dprof_io s; rc = dprof_parse_io(text, &s); CHECK_STRUCT(rc, s); break; }
    case 4: { dprof_sysstat s; rc = dprof_parse_sysstat(text, &s); CHECK_STRUCT(rc, s); break; }
    case 5: { dprof_meminfo s; rc = dprof_parse_meminfo(text, &s); CHECK_STRUCT(rc, s); break; }
    case 6: { dprof_netdev s; rc = dprof_parse_netdev(text, &s); CHECK_STRUCT(rc, s); break; }
    case 7: {   /* cgroup cpu.stat, memory.events, io.stat, memory.max */
        double v[3];
        rc = dprof_parse_cg_cpu_stat(text, &v[0], &v[1], &v[2]);
        CHECK_STRUCT(rc, v);
        rc = dprof_parse_cg_memory_events(text, &v[0], &v[1], &v[2]);
        CHECK_STRUCT(rc, v);
        rc = dprof_parse_cg_io_stat(text, &v[0], &v[1]);
        if (rc == 0) finite_or_die(v, 2);
        rc = dprof_parse_cg_limit(text, &v[0]);
        (void)rc;               /* "max" is +inf by design: no finiteness check */
        break;
    }
    case 8: {   /* the keyed-number reader behind status and the cgroup files */
        double v;
        if (dprof_keyed_number(text, "VmHWM:", &v) == 0) finite_or_die(&v, 1);
        if (dprof_keyed_number(text, "usage_usec ", &v) == 0) finite_or_die(&v, 1);
        break;
    }
    default:
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size + 1 bytes, so that ASan sees any read past the NUL. */
    char *text = malloc(size + 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    run(text);
    free(text);
    return 0;
}
