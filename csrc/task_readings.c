/* Point readings for task profiles (see task_readings.h).
 *
 * /proc/self/io and /proc/self/net/dev are kept open and re-read with pread, which
 * costs a fraction of opening them each time. The descriptors are remembered with
 * the pid that opened them: "/proc/self" is resolved at open(), so after fork() the
 * child must reopen them, and does so on its first reading. The per-thread file
 * (/proc/thread-self/io) is kept open per thread in a pthread key whose destructor
 * closes it when the thread exits, so no descriptor outlives its thread.
 *
 * ru_maxrss is max(the mm's high-water mark, signal->maxrss). A reset through
 * /proc/self/clear_refs lowers the first, but the kernel copies the old image's
 * mark into signal->maxrss at exec(), and that copy is never lowered.
 * So ru_maxrss is only the task's peak when, right after the reset, it equals
 * the current RSS; the caller compares it with rss_bytes and otherwise reads
 * VmHWM from /proc/self/status (the mm's own mark).
 *
 * The cached descriptors are C data shared by all threads, guarded by a small
 * mutex only on the reopen path (see kept_read).
 */
#include "task_readings.h"
#include "procfs.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *path;
    int fd;
    pid_t pid;
} kept_file;

static kept_file process_io_file = {"/proc/self/io", -1, 0};
static kept_file net_dev_file = {"/proc/self/net/dev", -1, 0};
static kept_file statm_file = {"/proc/self/statm", -1, 0};
static pthread_mutex_t reopen_lock = PTHREAD_MUTEX_INITIALIZER;

/* per-thread kept /proc/thread-self/io: malloc'ed, freed by the key destructor */
typedef struct {
    int fd;
    pid_t pid;
} thread_io_file;

static pthread_key_t thread_io_key;
static pthread_once_t thread_io_once = PTHREAD_ONCE_INIT;
static int thread_io_key_ok = 0;

static void
thread_io_destroy(void *ptr)
{
    thread_io_file *file = (thread_io_file *)ptr;
    if (file->fd >= 0) {
        close(file->fd);
    }
    free(file);
}

static void
thread_io_key_create(void)
{
    thread_io_key_ok = pthread_key_create(&thread_io_key, thread_io_destroy) == 0;
}

/* Read /proc/thread-self/io of the calling thread into buf; length or -1. */
static ssize_t
thread_io_read(char *buf, size_t size)
{
    pid_t pid = getpid();
    pthread_once(&thread_io_once, thread_io_key_create);
    thread_io_file *file = thread_io_key_ok ? pthread_getspecific(thread_io_key) : NULL;
    if (file != NULL && file->pid != pid) {          /* forked: the thread is new */
        if (file->fd >= 0) {
            close(file->fd);
        }
        file->fd = -1;
    }
    if (file == NULL && thread_io_key_ok) {
        file = malloc(sizeof(*file));
        if (file != NULL) {
            file->fd = -1;
            if (pthread_setspecific(thread_io_key, file) != 0) {
                free(file);
                file = NULL;
            }
        }
    }
    int fd;
    if (file != NULL) {
        if (file->fd < 0) {
            file->fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
            file->pid = pid;
        }
        fd = file->fd;
        if (fd < 0) {
            return -1;
        }
        ssize_t n = pread(fd, buf, size - 1, 0);
        if (n >= 0) {
            buf[n] = '\0';
        }
        return n;
    }
    /* no per-thread slot could be made: open and close each time */
    fd = open("/proc/thread-self/io", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    ssize_t n = pread(fd, buf, size - 1, 0);
    close(fd);
    if (n >= 0) {
        buf[n] = '\0';
    }
    return n;
}

static double
timeval_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double
clock_seconds(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0) {
        return -1.0;
    }
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read a kept file into buf (NUL-terminated); returns length or -1.
 *
 * Lock-free on the common path. A reopen stores the descriptor before the pid
 * (release), and readers load the pid before the descriptor (acquire), so a reader
 * that sees its own pid also sees the descriptor opened for it. A reader that sees
 * another pid takes the lock; the descriptor inherited over fork() is only ever
 * read by a thread that saw the parent's pid, which in the child means only under
 * the lock, so it can be closed there. */
static ssize_t
kept_read(kept_file *file, char *buf, size_t size)
{
    pid_t pid = getpid();
    int fd = -1;
    if (__atomic_load_n(&file->pid, __ATOMIC_ACQUIRE) == pid) {
        fd = __atomic_load_n(&file->fd, __ATOMIC_RELAXED);
    }
    if (fd < 0) {
        pthread_mutex_lock(&reopen_lock);
        if (file->fd < 0 || file->pid != pid) {
            if (file->fd >= 0) {
                /* inherited over fork: it reads the parent's /proc entry */
                close(file->fd);
            }
            __atomic_store_n(&file->fd, open(file->path, O_RDONLY | O_CLOEXEC),
                             __ATOMIC_RELAXED);
            __atomic_store_n(&file->pid, pid, __ATOMIC_RELEASE);
        }
        fd = file->fd;
        pthread_mutex_unlock(&reopen_lock);
        if (fd < 0) {
            return -1;
        }
    }
    ssize_t n = pread(fd, buf, size - 1, 0);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return n;
}

/* /proc/PID/io text into (rchar, wchar, read_bytes, write_bytes), with the
 * sampler's parser. */
static int
parse_io(const char *text, int64_t out[4])
{
    dprof_io io;
    if (dprof_parse_io(text, &io) < 0) {
        return -1;
    }
    out[0] = (int64_t)io.rchar;
    out[1] = (int64_t)io.wchar;
    out[2] = (int64_t)io.read_bytes;
    out[3] = (int64_t)io.write_bytes;
    return 0;
}

/* The network namespace's counters, read at most every NET_MAX_AGE_S: reading
 * /proc/self/net/dev costs about 6 us (the kernel formats every interface), a large
 * part of a decorated call's budget, and a namespace-wide counter says nothing
 * finer than that about one task anyway. The last reading is shared by all
 * threads under a mutex (it is a few numbers; the lock is not contended for long). */
#define NET_MAX_AGE_S 0.001

static pthread_mutex_t net_lock = PTHREAD_MUTEX_INITIALIZER;
static double net_read_at = -1.0;
static pid_t net_read_pid = 0;
static int64_t net_sent_cached = -1, net_received_cached = -1;

static void
net_reading(dprof_task_reading *out, char *buf, size_t size)
{
    pthread_mutex_lock(&net_lock);
    if (net_read_at < 0 || out->monotonic - net_read_at >= NET_MAX_AGE_S
        || out->monotonic < net_read_at || net_read_pid != getpid()) {
        dprof_netdev nd;
        if (kept_read(&net_dev_file, buf, size) < 0 || dprof_parse_netdev(buf, &nd) < 0) {
            net_sent_cached = net_received_cached = -1;
        }
        else {
            net_sent_cached = (int64_t)nd.sent_bytes;
            net_received_cached = (int64_t)nd.recv_bytes;
        }
        net_read_at = out->monotonic;
        net_read_pid = getpid();
    }
    out->net_sent = net_sent_cached;
    out->net_received = net_received_cached;
    pthread_mutex_unlock(&net_lock);
    if (out->net_sent < 0) {
        out->missing |= DPROF_TR_MISSING_NET;
    }
}

void
dprof_task_reading_take(dprof_task_reading *out)
{
    char buf[4096];
    struct rusage ru;

    memset(out, 0, sizeof(*out));
    out->monotonic = clock_seconds(CLOCK_MONOTONIC);
    out->wall = clock_seconds(CLOCK_REALTIME);

    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        out->process_user = timeval_seconds(ru.ru_utime);
        out->process_system = timeval_seconds(ru.ru_stime);
        out->max_rss_bytes = (int64_t)ru.ru_maxrss * 1024;   /* Linux reports KiB */
    }
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
        out->children_user = timeval_seconds(ru.ru_utime);
        out->children_system = timeval_seconds(ru.ru_stime);
    }
#ifdef RUSAGE_THREAD
    if (getrusage(RUSAGE_THREAD, &ru) == 0) {
        out->thread_user = timeval_seconds(ru.ru_utime);
        out->thread_system = timeval_seconds(ru.ru_stime);
    }
    else
#endif
    {
        out->thread_user = out->thread_system = -1.0;
        out->missing |= DPROF_TR_MISSING_THREAD_CPU;
    }

    out->rss_bytes = -1;
    dprof_statm sm;
    if (kept_read(&statm_file, buf, sizeof(buf)) > 0 && dprof_parse_statm(buf, &sm) == 0) {
        out->rss_bytes = (int64_t)sm.resident_pages * (int64_t)sysconf(_SC_PAGESIZE);
    }
    if (kept_read(&process_io_file, buf, sizeof(buf)) < 0 || parse_io(buf, out->process_io) < 0) {
        out->process_io[0] = out->process_io[1] = out->process_io[2] = out->process_io[3] = -1;
        out->missing |= DPROF_TR_MISSING_PROCESS_IO;
    }

    if (thread_io_read(buf, sizeof(buf)) < 0 || parse_io(buf, out->thread_io) < 0) {
        out->thread_io[0] = out->thread_io[1] = out->thread_io[2] = out->thread_io[3] = -1;
        out->missing |= DPROF_TR_MISSING_THREAD_IO;
    }

    net_reading(out, buf, sizeof(buf));
}
