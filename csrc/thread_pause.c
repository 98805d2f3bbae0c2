/* Holding one running thread still while the sampler reads it: see thread_pause.h.
 *
 * One word carries the whole hand-shake, so that the handler and the sampler agree
 * on whose pause it is without a lock (the handler may take none):
 *
 *     0                 idle
 *     tid << 2 | 1      the sampler asks thread tid to hold still (signal sent)
 *     tid << 2 | 2      thread tid's handler holds it
 *
 * The sampler moves 0 -> requested -> (its read) -> 0; the handler moves
 * requested -> held, and back to 0 only when the sampler overstays. Each side
 * changes the word by compare-and-swap, so a handler that runs late (its signal was
 * blocked, or it waited for a CPU) finds a word that names another request or none,
 * and returns at once: it can never hold a thread the sampler is not reading, and
 * the sampler never reads as a snapshot a thread that was not held. TIDs fit: the
 * kernel's PID_MAX_LIMIT is 2^22.
 *
 * Both sides spin a little before they sleep on the futex, since the other side
 * usually answers within microseconds on another CPU; on one CPU the spin is short
 * enough not to matter.
 */
#include "thread_pause.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PHASE_REQUESTED 1u
#define PHASE_HELD 2u
/* How long each side spins before it sleeps on the futex. The sampler spins longer
 * for the answer: should it sleep, the held thread then waits for it to wake up
 * (tens of microseconds on a VM), and the program's time is the dearer. */
#define HANDLER_SPIN_NS 50000ULL
#define SAMPLER_SPIN_NS 250000ULL

static _Atomic uint32_t pause_word;
static _Atomic uint64_t handler_ns;     /* lock-free on the 64-bit targets we build */
static atomic_int pause_sig;
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static const char *install_failure;

static uint64_t
mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);     /* async-signal-safe */
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
futex_wake_all(void)
{
    (void)syscall(SYS_futex, &pause_word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Waits while the word is `value`, at most `ns` (spurious wake-ups are fine: every
 * caller re-checks the word and its own deadline). */
static void
futex_wait_ns(uint32_t value, uint64_t ns)
{
    struct timespec rel = {(time_t)(ns / 1000000000ULL), (long)(ns % 1000000000ULL)};
    (void)syscall(SYS_futex, &pause_word, FUTEX_WAIT_PRIVATE, value, &rel, NULL, 0);
}

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Waits until the word is no longer `value` or `limit_ns` have passed since
 * `start`: spins for the first `spin_ns`, then sleeps on the futex. Returns the word. */
static uint32_t
wait_while(uint32_t value, uint64_t start, uint64_t limit_ns, uint64_t spin_ns)
{
    uint32_t w;
    unsigned spins = 0;
    while ((w = atomic_load(&pause_word)) == value) {
        if ((++spins & 63) != 0) {
            cpu_relax();
            continue;
        }
        uint64_t waited = mono_ns() - start;
        if (waited >= limit_ns) {
            break;
        }
        if (waited >= spin_ns) {
            futex_wait_ns(value, limit_ns - waited);
        }
    }
    return w;
}

/* The handler: async-signal-safe, saves errno (the futex calls may set it). */
static void
on_pause_signal(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)info;
    (void)context;
    int saved_errno = errno;
    uint64_t entered = mono_ns();
    uint32_t me = (uint32_t)syscall(SYS_gettid);
    uint32_t requested = me << 2 | PHASE_REQUESTED, held = me << 2 | PHASE_HELD;
    uint32_t expected = requested;
    if (atomic_compare_exchange_strong(&pause_word, &expected, held)) {
        futex_wake_all();                           /* the sampler waits for this */
        uint64_t start = mono_ns();
        if (wait_while(held, start, DPROF_PAUSE_HOLD_MAX_NS, HANDLER_SPIN_NS) == held) {
            /* The sampler overstayed: go on. Its release then sees 0 and reports it. */
            expected = held;
            (void)atomic_compare_exchange_strong(&pause_word, &expected, 0);
        }
    }
    atomic_fetch_add(&handler_ns, mono_ns() - entered);
    errno = saved_errno;
}

static void
reset_in_child(void)
{
    /* A fork taken while a sampler thread paused another thread: neither exists in
     * the child, whose copy of the lock and the word would stay taken. */
    atomic_store(&pause_word, 0);
    pthread_mutex_init(&pause_lock, NULL);
}

static int
signal_is_free(int sig)
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0) {
        return 0;
    }
    return !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL;
}

static void
install(void)
{
    /* The first few real-time signals are the ones other code picks first. */
    for (int sig = SIGRTMIN + 4; sig <= SIGRTMAX; sig++) {
        if (!signal_is_free(sig)) {
            continue;
        }
        struct sigaction sa = {0};
        sa.sa_sigaction = on_pause_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) != 0) {
            install_failure = "sigaction failed";
            return;
        }
        if (pthread_atfork(NULL, NULL, reset_in_child) != 0) {
            install_failure = "pthread_atfork failed";
            /* the handler stays: a signal in flight must find it */
            return;
        }
        atomic_store(&pause_sig, sig);
        return;
    }
    install_failure = "no real-time signal is free";
}

int
dprof_pause_install(const char **why)
{
    (void)pthread_once(&install_once, install);
    int sig = atomic_load(&pause_sig);
    if (sig == 0) {
        *why = install_failure != NULL ? install_failure : "not installed";
        return -1;
    }
    /* Someone may have taken the signal over since: then pausing stays off. */
    struct sigaction now;
    if (sigaction(sig, NULL, &now) != 0 || !(now.sa_flags & SA_SIGINFO)
        || now.sa_sigaction != on_pause_signal) {
        *why = "another handler took over the pause signal";
        return -1;
    }
    return 0;
}

int
dprof_pause_signal(void)
{
    return atomic_load(&pause_sig);
}

int
dprof_pause_thread(pid_t pid, pid_t tid)
{
    int sig = atomic_load(&pause_sig);
    if (sig == 0 || tid <= 0 || (uint32_t)tid >= (1u << 30)) {
        return 0;
    }
    pthread_mutex_lock(&pause_lock);
    uint32_t requested = (uint32_t)tid << 2 | PHASE_REQUESTED;
    atomic_store(&pause_word, requested);
    uint64_t start = mono_ns();
    if (syscall(SYS_tgkill, pid, tid, sig) != 0) {
        atomic_store(&pause_word, 0);   /* no signal: no handler can see the request */
        pthread_mutex_unlock(&pause_lock);
        return 0;
    }
    uint32_t w = wait_while(requested, start, DPROF_PAUSE_ACK_MAX_NS, SAMPLER_SPIN_NS);
    if (w == requested) {
        uint32_t expected = requested;
        if (atomic_compare_exchange_strong(&pause_word, &expected, 0)) {
            pthread_mutex_unlock(&pause_lock);   /* withdrawn: a late handler returns */
            return 0;
        }
        w = expected;                            /* held just now */
    }
    if (w != ((uint32_t)tid << 2 | PHASE_HELD)) {
        /* held and already given up: cannot happen within the ack wait, which is
         * shorter than the hold, but a snapshot it would not be */
        atomic_store(&pause_word, 0);
        pthread_mutex_unlock(&pause_lock);
        return 0;
    }
    return 1;
}

uint64_t
dprof_pause_handler_ns(void)
{
    return atomic_load(&handler_ns);
}

int
dprof_pause_release(pid_t tid)
{
    uint32_t expected = (uint32_t)tid << 2 | PHASE_HELD;
    int still_held = atomic_compare_exchange_strong(&pause_word, &expected, 0);
    if (!still_held) {
        atomic_store(&pause_word, 0);
    }
    futex_wake_all();
    pthread_mutex_unlock(&pause_lock);
    return still_held;
}
