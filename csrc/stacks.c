/* Engine pieces of the stack sampler with no Python: see stacks.h. */
#include "stacks.h"
#include "calltree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t
dprof_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t
dprof_self_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- task table ---------------------------------------------------------- */

static int
open_task_file(pid_t tid, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/%s", (int)tid, name);
    return open(path, O_RDONLY | O_CLOEXEC);
}

dprof_task *
dprof_tasks_get(dprof_task_table *tt, pid_t tid)
{
    for (size_t i = 0; i < tt->ntasks; i++) {
        if (tt->tasks[i].tid == tid) {
            return &tt->tasks[i];
        }
    }
    if (tt->ntasks == tt->cap) {
        size_t ncap = tt->cap ? tt->cap * 2 : 16;
        dprof_task *n = realloc(tt->tasks, ncap * sizeof(dprof_task));
        if (n == NULL) {
            return NULL;
        }
        tt->tasks = n;
        tt->cap = ncap;
    }
    dprof_task *t = &tt->tasks[tt->ntasks++];
    memset(t, 0, sizeof *t);
    t->run_stack = -1;
    t->wait_stack = -1;
    t->tid = tid;
    t->schedstat_fd = open_task_file(tid, "schedstat");
    t->stat_fd = -1;
    t->syscall_fd = -1;
    return t;
}

static void
task_close(dprof_task *t)
{
    if (t->schedstat_fd >= 0) {
        close(t->schedstat_fd);
    }
    if (t->stat_fd >= 0) {
        close(t->stat_fd);
    }
    if (t->syscall_fd >= 0) {
        close(t->syscall_fd);
    }
    t->schedstat_fd = t->stat_fd = t->syscall_fd = -1;
}

void
dprof_tasks_forget_unseen(dprof_task_table *tt, uint64_t tick)
{
    size_t keep = 0;
    for (size_t i = 0; i < tt->ntasks; i++) {
        if (tt->tasks[i].seen_tick == tick) {
            tt->tasks[keep++] = tt->tasks[i];
        }
        else {
            task_close(&tt->tasks[i]);
        }
    }
    tt->ntasks = keep;
}

void
dprof_tasks_clear(dprof_task_table *tt)
{
    for (size_t i = 0; i < tt->ntasks; i++) {
        task_close(&tt->tasks[i]);
    }
    free(tt->tasks);
    tt->tasks = NULL;
    tt->ntasks = tt->cap = 0;
}

/* An unsigned decimal at *p, which is left after it: 0, or -1 when there is none or
 * it overflows. sscanf's "%llu" costs the sampler several times more (locale
 * machinery, on every sample of every thread). */
static int
parse_decimal(const char **p, uint64_t *out)
{
    const char *q = *p;
    uint64_t v = 0;
    if (*q < '0' || *q > '9') {
        return -1;
    }
    for (; *q >= '0' && *q <= '9'; q++) {
        uint64_t digit = (uint64_t)(*q - '0');
        if (v > (UINT64_MAX - digit) / 10) {
            return -1;
        }
        v = v * 10 + digit;
    }
    *p = q;
    *out = v;
    return 0;
}

int
dprof_task_cpu(dprof_task *t, uint64_t *cpu_ns, uint64_t *runq_ns)
{
    if (t->schedstat_fd >= 0) {
        /* "<ns on cpu> <ns waiting on a runqueue> <timeslices>\n" */
        char buf[96];
        ssize_t n = pread(t->schedstat_fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            uint64_t on_cpu, runq;
            const char *p = buf;
            if (parse_decimal(&p, &on_cpu) == 0 && *p++ == ' '
                && parse_decimal(&p, &runq) == 0) {
                /* schedstat's CPU time is brought up to date only at scheduler
                 * events: for a thread on a CPU right now it lags by up to a
                 * scheduler tick, which a sampler reading at any instant (the
                 * GIL-free one) would count as waiting. The thread CPU clock is
                 * always current. */
                uint64_t clock_ns;
                *cpu_ns = dprof_task_clock_ns(t, &clock_ns) == 0 ? clock_ns : on_cpu;
                *runq_ns = runq;
                return 0;
            }
        }
        if (n < 0 && errno == ESRCH) {
            return -1;
        }
    }
    /* No schedstat: the thread CPU clock. */
    *runq_ns = 0;
    return dprof_task_clock_ns(t, cpu_ns);
}

int
dprof_task_syscall(dprof_task *t)
{
    /* "running", or "<nr> <args...> <sp> <pc>", or "-1 <sp> <pc>" when blocked
     * outside a system call (proc(5)). */
    char buf[160];
    if (t->syscall_fd < 0) {
        t->syscall_fd = open_task_file(t->tid, "syscall");
        if (t->syscall_fd < 0) {
            return DPROF_SYSCALL_UNKNOWN;
        }
    }
    ssize_t n = pread(t->syscall_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return DPROF_SYSCALL_UNKNOWN;
    }
    buf[n] = '\0';
    if (strncmp(buf, "running", 7) == 0) {
        return DPROF_SYSCALL_RUNNING;
    }
    char *end;
    long nr = strtol(buf, &end, 10);
    return end == buf || nr < 0 ? DPROF_SYSCALL_UNKNOWN : (int)nr;
}

int
dprof_task_clock_ns(const dprof_task *t, uint64_t *ns)
{
    /* The thread CPU clock by TID, as glibc builds it for pthread_getcpuclockid
     * (CPUCLOCK_SCHED of a thread). A dead TID gives EINVAL, never a crash, unlike
     * pthread_getcpuclockid on an exited pthread_t. */
    clockid_t cid = (clockid_t)((~(unsigned)t->tid << 3) | 6);
    struct timespec ts;
    if (clock_gettime(cid, &ts) != 0) {
        return -1;
    }
    *ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    return 0;
}

char
dprof_task_state(dprof_task *t)
{
    if (t->stat_fd < 0) {
        t->stat_fd = open_task_file(t->tid, "stat");
        if (t->stat_fd < 0) {
            return 0;
        }
    }
    /* "tid (comm) S ..." where comm may hold spaces and parentheses: the state is
     * the first letter after the last ')'. */
    char buf[512];
    ssize_t n = pread(t->stat_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    if (close_paren == NULL || close_paren[1] != ' ' || close_paren[2] == '\0') {
        return 0;
    }
    return close_paren[2];
}

/* ---- classification ------------------------------------------------------ */

dprof_split
dprof_classify(double wall, double cpu, double runq, int at_call, char state)
{
    dprof_split s;
    if (wall < 0) {
        wall = 0;
    }
    /* Time runnable on a run queue is time the thread wanted the CPU for what it was
     * doing (a loaded machine must not turn Python work into "waiting"). */
    double busy = cpu + runq;
    if (busy > wall) {
        busy = wall;
    }
    if (busy < 0) {
        busy = 0;
    }
    s.cpu_seconds = busy;
    s.cpu_category = at_call ? DPROF_CAT_CPU_NATIVE : DPROF_CAT_CPU_PYTHON;
    s.wait_seconds = wall - busy;
    if (state == 'D') {
        s.wait_category = DPROF_CAT_WAIT_IO;
    }
    else if (!at_call) {
        /* Between two bytecodes and not running: the only thing a Python thread
         * waits for there is the GIL. */
        s.wait_category = DPROF_CAT_WAIT_GIL;
    }
    else {
        s.wait_category = DPROF_CAT_WAIT_SLEEP;
    }
    return s;
}

/* ---- jitter and budget --------------------------------------------------- */

uint64_t
dprof_rand_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9E3779B97F4A7C15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

uint64_t
dprof_jittered_ns(uint64_t period_ns, double jitter, uint64_t *rng)
{
    double u = (double)(dprof_rand_next(rng) >> 11) / 9007199254740992.0;  /* [0,1) */
    double f = 1.0 - jitter + 2.0 * jitter * u;
    double ns = (double)period_ns * f;
    return ns < 1000.0 ? 1000 : (uint64_t)ns;
}

void
dprof_budget_init(dprof_budget *b, double budget, uint64_t base_period_ns)
{
    b->budget = budget;
    b->base_period_ns = base_period_ns;
    b->paid_until_ns = 0;
    b->start_allowance_ns = DPROF_BUDGET_START_ALLOWANCE_NS;
}

uint64_t
dprof_budget_update(dprof_budget *b, uint64_t start_ns, uint64_t cost_ns)
{
    /* Pacing, as a rate limiter paces packets: a tick that cost c is paid for by
     * c / budget of the program's time, counted from the later of its start and the
     * instant the earlier ticks were paid for, and the next tick waits until then.
     * Time spent under budget is not saved up (no burst later), so over any stretch
     * of the run the ticks cost at most the budget plus one tick. A smoothed cost
     * would let one expensive tick (the first, which interns every code object on
     * the stack) hold the rate down for dozens of ticks after it had been paid for:
     * a 0.5 s program asked to be sampled at 100 Hz got 26. The first ticks' cost,
     * up to the start allowance in all, is not paced (see stacks.h). */
    if (b->budget <= 0.0) {
        return b->base_period_ns;
    }
    uint64_t allowed = cost_ns < b->start_allowance_ns ? cost_ns : b->start_allowance_ns;
    b->start_allowance_ns -= allowed;
    cost_ns -= allowed;
    uint64_t from = b->paid_until_ns > start_ns ? b->paid_until_ns : start_ns;
    double pay = (double)cost_ns / b->budget;
    if (pay > (double)DPROF_BUDGET_MAX_PERIOD_NS) {
        pay = (double)DPROF_BUDGET_MAX_PERIOD_NS;
    }
    b->paid_until_ns = from + (uint64_t)pay;
    if (b->paid_until_ns > start_ns + DPROF_BUDGET_MAX_PERIOD_NS) {
        b->paid_until_ns = start_ns + DPROF_BUDGET_MAX_PERIOD_NS;   /* debt bounded */
    }
    uint64_t needed = b->paid_until_ns - start_ns;
    return needed > b->base_period_ns ? needed : b->base_period_ns;
}
