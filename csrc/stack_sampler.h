/* The stack sampler: a pthread that, at a jittered rate, reads the Python frames of
 * every thread (without the GIL where the version's layout is known, else with it)
 * and adds one time-weighted sample per thread to a call-tree table. See
 * stack_sampler.c. All functions are called with the GIL held.
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
    /* How the thread samples were read (see stack_sampler.c, "GIL-free reads"). */
    uint64_t gil_free_samples;  /* read without the GIL and validated */
    uint64_t gil_new_thread;    /* read with the GIL: a thread state not yet known */
    uint64_t gil_new_code;      /* read with the GIL: a code object to intern */
    uint64_t gil_invalid;       /* read with the GIL: the GIL-free read failed validation */
    uint64_t new_code_charged_at_read; /* of gil_new_code: charged at the GIL-free read,
                                          once the GIL pass had interned the code */
    uint64_t gil_ticks;         /* ticks that took the GIL at all */
    uint64_t older_chunk_reads; /* older data-stack chunks copied whole for a chain
                                   deeper than one chunk (3.11+) */
    uint64_t thread_list_walks; /* GIL-free ticks that walked the thread list link by
                                   link, not re-read it in one call (it changed) */
    uint64_t paused_samples;    /* GIL-free reads of a running thread held still */
    uint64_t pause_missed;      /* running threads that did not answer a pause in time
                                   (read running instead) */
    uint64_t pause_overran;     /* held reads that outlasted the hold (not snapshots) */
    uint64_t off_cpu_samples;   /* GIL-free reads of a runnable thread waiting for a CPU,
                                   whose CPU clock did not move while it was read */
    uint64_t off_cpu_raced;     /* such reads where it got a CPU meanwhile (held and
                                   read again, or kept as read running) */
    uint64_t pause_held_ns;     /* time threads were held, from their answer to release */
    uint64_t pause_answer_ns;   /* time the sampler waited for threads to answer (the
                                   signal's delivery; misses wait the whole 1 ms) */
    uint64_t pause_handler_ns;  /* time the program's threads spent in the pause
                                   handler while this sampler ran (process-wide) */
    const char *reader;         /* the frame layout read, or why the GIL walk is used */
    const char *pause;          /* how running threads are paused for a read, or why not */
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

/* The line table the GIL-free reader uses for a code object (one line per code
 * unit, -1 where none), for the tests' comparison with PyCode_Addr2Line. 0 with
 * *lines owned by the caller (PyMem_RawFree), or -1 with an exception set. */
#include <Python.h>
int dprof_stack_code_lines(PyObject *code, int32_t **lines, Py_ssize_t *nunits);

#endif
