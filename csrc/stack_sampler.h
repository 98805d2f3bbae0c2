/* The stack sampler: a pthread that, at a jittered rate, takes the GIL, walks the
 * Python frames of every thread and adds one time-weighted sample per thread to a
 * call-tree table. See stack_sampler.c. All functions are called with the GIL held.
 */
#ifndef DPROF_STACK_SAMPLER_H
#define DPROF_STACK_SAMPLER_H

#include <stdint.h>
#include "calltree.h"

typedef struct dprof_stack_sampler dprof_stack_sampler;

typedef struct {
    uint64_t duration_ns;       /* start to stop */
    uint64_t ticks;             /* samples taken (all threads walked once per tick) */
    uint64_t thread_samples;    /* thread samples recorded */
    uint64_t gil_hold_ns;       /* time the sampler held the GIL */
    uint64_t sampler_cpu_ns;    /* CPU time of the sampler thread */
    uint64_t overhead_ns;       /* measured cost: sum over ticks of max(hold, cpu) */
    uint64_t gil_wait_ns;       /* time the sampler waited to get the GIL */
    uint64_t last_period_ns;    /* the period in use at stop (after the budget) */
    uint64_t truncated_stacks;  /* stacks cut at the depth limit */
    uint64_t errors;            /* failures recorded during sampling */
    int forked;                 /* stopped by fork (this is the child) */
    char first_error[200];      /* message of the first failure, or "" */
} dprof_stack_sampler_stats;

/* A thread seen while sampling and its threading name (string id in the table, or
 * -1 when it had none). */
typedef struct {
    uint64_t tid;
    int32_t name;
} dprof_thread_name;

/* The threads seen, valid until take_table (call it before). */
const dprof_thread_name *dprof_stack_sampler_thread_names(const dprof_stack_sampler *s,
                                                          size_t *n);

/* New stopped sampler; NULL with an exception set on failure. call_flags[op] is
 * non-zero for the opcodes of the call family (computed from `dis` by the caller). */
dprof_stack_sampler *dprof_stack_sampler_new(double hz, double jitter, double budget,
                                             const unsigned char call_flags[256]);
/* 0, or -1 with an exception set. */
int dprof_stack_sampler_start(dprof_stack_sampler *s);
/* Stops and joins the thread (releasing the GIL while it waits). 0, or -1 with an
 * exception set when it was not running. */
int dprof_stack_sampler_stop(dprof_stack_sampler *s);
int dprof_stack_sampler_running(const dprof_stack_sampler *s);
/* Hands the collected table to the caller (who frees it) and starts a new one;
 * NULL with an exception set on out-of-memory. Only while stopped. */
dprof_calltree *dprof_stack_sampler_take_table(dprof_stack_sampler *s);
/* The table being filled (read only; only while stopped). */
const dprof_calltree *dprof_stack_sampler_peek_table(const dprof_stack_sampler *s);
const dprof_stack_sampler_stats *dprof_stack_sampler_get_stats(const dprof_stack_sampler *s);
/* Stops if needed and frees everything, dropping the code objects it kept. */
void dprof_stack_sampler_free(dprof_stack_sampler *s);

#endif
