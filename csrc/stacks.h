/* Engine pieces of the stack sampler that need no Python: per-thread CPU clocks and
 * states read from /proc without the GIL, the classification of one thread sample,
 * the jittered sampling interval and the overhead budget.
 *
 * stack_sampler.c (which must include Python.h to walk frames) uses these; keeping
 * them here keeps that file about the GIL-holding walk only.
 */
#ifndef DPROF_STACKS_H
#define DPROF_STACKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

uint64_t dprof_now_ns(void);            /* CLOCK_MONOTONIC */
uint64_t dprof_self_cpu_ns(void);       /* CPU clock of the calling thread */

/* One kernel thread (TID) of this process, with its kept-open /proc files and the
 * values seen at its previous sample. */
typedef struct {
    pid_t tid;
    int schedstat_fd;       /* /proc/self/task/TID/schedstat, or -1 */
    int stat_fd;            /* /proc/self/task/TID/stat, opened on first need, or -1 */
    int syscall_fd;         /* /proc/self/task/TID/syscall, opened on first need, or -1 */
    int have_prev;
    uint64_t prev_wall_ns;
    uint64_t prev_cpu_ns;
    uint64_t prev_runq_ns;
    uint64_t seen_tick;     /* last tick this thread was seen on (to forget dead ones) */
    int32_t run_stack;      /* stack id where the thread was last seen running, or -1 */
    int run_category;       /* its CPU class then */
    int32_t wait_stack;     /* stack id where it was last seen blocked, or -1 */
    int wait_category;      /* its waiting class then */
    uint64_t pre_clock_ns;  /* CPU clock read just before the sampler asked for the GIL */
    uint64_t pre_tick;      /* the tick that reading belongs to (0: none) */
    /* Waiting held back because it may be accounting lag (see stack_sampler.c,
     * charge): seconds, where they go as waiting or as CPU, and for how many
     * intervals they have been held. */
    double deferred_wait;
    int32_t deferred_wait_stack, deferred_cpu_stack;
    int deferred_wait_category, deferred_cpu_category;
    int deferred_age;
    int pause_misses;       /* pauses in a row it did not answer (stack_sampler.c) */
} dprof_task;

typedef struct {
    dprof_task *tasks;
    size_t ntasks, cap;
} dprof_task_table;

/* Finds or adds the record of tid; NULL when memory ran out. */
dprof_task *dprof_tasks_get(dprof_task_table *tt, pid_t tid);
/* Closes and forgets the records not seen on `tick`. */
void dprof_tasks_forget_unseen(dprof_task_table *tt, uint64_t tick);
void dprof_tasks_clear(dprof_task_table *tt);

/* CPU time and run-queue wait of a thread so far, in ns. 0, or -1 when the thread
 * is gone. runq is 0 when the kernel does not keep schedstats. */
int dprof_task_cpu(dprof_task *t, uint64_t *cpu_ns, uint64_t *runq_ns);

/* What the thread is doing in the kernel right now: DPROF_SYSCALL_RUNNING (on a
 * CPU), the number of the system call it is blocked in (>= 0), or
 * DPROF_SYSCALL_UNKNOWN (blocked outside a system call, or unreadable). */
#define DPROF_SYSCALL_RUNNING (-2)
#define DPROF_SYSCALL_UNKNOWN (-1)
int dprof_task_syscall(dprof_task *t);

/* The thread's CPU clock (always current, unlike schedstat, which can lag a
 * scheduler tick behind for a running thread). 0, or -1 if the thread is gone. */
int dprof_task_clock_ns(const dprof_task *t, uint64_t *ns);
/* The thread's scheduler state letter ('R', 'S', 'D', ...), or 0 when unknown. */
char dprof_task_state(dprof_task *t);

/* The split of one thread's interval between two samples. */
typedef struct {
    double cpu_seconds;     /* on CPU (or runnable, waiting for a CPU) */
    int cpu_category;       /* DPROF_CAT_CPU_PYTHON or _NATIVE */
    double wait_seconds;
    int wait_category;      /* DPROF_CAT_WAIT_IO, _GIL or _SLEEP */
} dprof_split;

/* Classifies an interval of `wall` seconds in which the thread's CPU clock advanced
 * by `cpu` and it waited `runq` seconds for a CPU. `at_call` says the leaf frame is
 * on a call-family instruction (the thread is inside native code called from Python);
 * `state` is the thread's scheduler state letter (0 if not read). */
dprof_split dprof_classify(double wall, double cpu, double runq, int at_call, char state);

/* xorshift64* generator for the jitter; never returns 0 state. */
uint64_t dprof_rand_next(uint64_t *state);
/* Next sleep in ns: period * uniform(1 - jitter, 1 + jitter). */
uint64_t dprof_jittered_ns(uint64_t period_ns, double jitter, uint64_t *rng);

/* Overhead budget: keeps the cost per second of profiled time at or under `budget`
 * by stretching the sampling period. */
typedef struct {
    double budget;          /* fraction of the program's time, e.g. 0.01; 0 = off */
    uint64_t base_period_ns;
    uint64_t paid_until_ns; /* the instant by which the ticks so far are paid for */
    uint64_t start_allowance_ns;   /* what is left of DPROF_BUDGET_START_ALLOWANCE_NS */
} dprof_budget;

/* The longest the budget stretches a period (the rate never falls below 1 Hz: a
 * profile with no samples tells nothing), and so the most debt it carries. */
#define DPROF_BUDGET_MAX_PERIOD_NS 1000000000ULL
/* The first ticks' cost that is not paced, in all: the first ticks of a run intern
 * every code object and open every thread's files (0.3-0.5 ms each), and pacing them
 * at 1% held a 0.1 s program to 2 or 3 ticks at a requested 100 Hz, each interval
 * then charged to a stack 50 ms old. Over a run of T seconds the ticks cost at most
 * budget * T + this + one tick. */
#define DPROF_BUDGET_START_ALLOWANCE_NS 2000000ULL

void dprof_budget_init(dprof_budget *b, double budget, uint64_t base_period_ns);
/* Records a tick that started at start_ns and cost cost_ns; returns the period from
 * start_ns to the next tick's start (before jitter). */
uint64_t dprof_budget_update(dprof_budget *b, uint64_t start_ns, uint64_t cost_ns);

#endif
