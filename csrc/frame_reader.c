/* The GIL-free stack reader; see frame_reader.h.
 *
 * Every access to interpreter memory goes through process_vm_readv on this
 * process's own pid: a plain load from a frame another thread pops at the same
 * instant could fault on unmapped memory (a freed data-stack chunk, a freed
 * generator), whereas process_vm_readv fails with EFAULT. Nothing read here is
 * trusted: values are copied out as numbers and the caller decides whether they
 * name a code object it holds.
 *
 * System calls are most of what a sample costs (each one also pays the kernel's
 * entry hooks, several microseconds on a machine with seccomp or BPF filters), so
 * reads that do not depend on each other go in one call: the thread list of the
 * last tick is re-read in one call and checked link by link (dprof_read_threads_again),
 * and a thread's current frame and the top of its data stack in another
 * (dprof_read_top). The pid is cached, and forgotten in a forked child.
 */
#include "frame_reader.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* getpid() is a system call (glibc stopped caching it in 2.25). A forked child must
 * never read with its parent's pid: at the same addresses it would read the
 * parent's frames, which validate against the same code objects. */
static atomic_int self_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void forget_pid(void) { atomic_store(&self_pid, 0); }
static void watch_forks(void) { (void)pthread_atfork(NULL, NULL, forget_pid); }

pid_t
dprof_self_pid(void)
{
    (void)pthread_once(&pid_once, watch_forks);
    pid_t pid = (pid_t)atomic_load(&self_pid);
    if (pid == 0) {
        pid = getpid();
        atomic_store(&self_pid, (int)pid);
    }
    return pid;
}

int
dprof_mem_read(uintptr_t addr, void *buf, size_t len)
{
    if (addr == 0) {
        errno = EFAULT;
        return -1;
    }
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)addr, len};
    ssize_t got = process_vm_readv(dprof_self_pid(), &local, 1, &remote, 1, 0);
    if (got < 0) {
        return -1;
    }
    if ((size_t)got != len) {
        errno = EFAULT;     /* a partial read: the tail is unmapped */
        return -1;
    }
    return 0;
}

size_t
dprof_mem_readv(const dprof_read_piece *pieces, size_t n)
{
    struct iovec local[DPROF_MAX_PIECES], remote[DPROF_MAX_PIECES];
    size_t k = 0;
    if (n > DPROF_MAX_PIECES) {
        n = DPROF_MAX_PIECES;
    }
    /* A null address ends the batch there: the pieces before it are still read. */
    for (; k < n && pieces[k].addr != 0; k++) {
        local[k].iov_base = pieces[k].buf;
        local[k].iov_len = pieces[k].len;
        remote[k].iov_base = (void *)pieces[k].addr;
        remote[k].iov_len = pieces[k].len;
    }
    if (k == 0) {
        return 0;
    }
    ssize_t got = process_vm_readv(dprof_self_pid(), local, (unsigned long)k, remote,
                                   (unsigned long)k, 0);
    if (got <= 0) {
        return 0;
    }
    /* The kernel stops at the first piece it cannot read whole. */
    size_t whole = 0, sum = 0;
    while (whole < k && sum + pieces[whole].len <= (size_t)got) {
        sum += pieces[whole].len;
        whole++;
    }
    return whole;
}

static int
read_ptr(uintptr_t addr, uintptr_t *out)
{
    return dprof_mem_read(addr, out, sizeof *out);
}

/* A field of a struct already copied into buf. */
static uintptr_t
field_ptr(const unsigned char *buf, size_t off)
{
    uintptr_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

/* The most bytes of a PyThreadState the reader needs (all offsets below it). */
static size_t
tstate_span(const dprof_frame_layout *L)
{
    size_t offs[] = {L->tstate_next, L->tstate_interp, L->tstate_thread_id,
                     L->tstate_native_id, L->tstate_cframe, L->tstate_frame,
                     L->tstate_datastack_chunk, L->tstate_datastack_top};
    size_t end = 0;
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        if (offs[i] != (size_t)-1 && offs[i] + sizeof(uintptr_t) > end) {
            end = offs[i] + sizeof(uintptr_t);
        }
    }
    return end;
}

#define TSTATE_BUF 1024

size_t
dprof_tstate_span(const dprof_frame_layout *L)
{
    return tstate_span(L);
}

/* The fields of one thread state copied into buf; its frame is not resolved yet
 * where it sits behind the _PyCFrame (see dprof_read_top). */
static void
parse_tstate(const dprof_frame_layout *L, const unsigned char *buf, uintptr_t ts,
             dprof_raw_thread *t)
{
    t->tstate = ts;
    t->thread_id = (uint64_t)field_ptr(buf, L->tstate_thread_id);
    t->native_id = L->tstate_native_id != (size_t)-1
        ? (uint64_t)field_ptr(buf, L->tstate_native_id) : 0;
    t->cframe = 0;
    t->frame = 0;
    if (L->tstate_cframe != (size_t)-1) {
        /* 3.11/3.12: the _PyCFrame lives on the thread's C stack. */
        t->cframe = field_ptr(buf, L->tstate_cframe);
    }
    else {
        t->frame = field_ptr(buf, L->tstate_frame);
    }
    t->stack_lo = t->stack_hi = 0;
    if (L->tstate_datastack_chunk != (size_t)-1) {
        uintptr_t chunk = field_ptr(buf, L->tstate_datastack_chunk);
        uintptr_t top = field_ptr(buf, L->tstate_datastack_top);
        if (chunk != 0 && top > chunk + L->chunk_data) {
            t->stack_lo = chunk + L->chunk_data;
            t->stack_hi = top;
        }
    }
}

int
dprof_read_threads(const dprof_frame_layout *L, uintptr_t interp,
                   dprof_raw_thread *out, size_t cap, size_t *n)
{
    unsigned char buf[TSTATE_BUF];
    size_t span = tstate_span(L);
    *n = 0;
    if (L->kind == DPROF_LAYOUT_NONE || span > sizeof buf) {
        errno = ENOSYS;
        return -1;
    }
    uintptr_t ts;
    if (read_ptr(interp + L->interp_threads_head, &ts) < 0) {
        return -1;
    }
    while (ts != 0) {
        if (*n == cap) {
            errno = ELOOP;
            return -1;
        }
        if (dprof_mem_read(ts, buf, span) < 0) {
            return -1;
        }
        if (field_ptr(buf, L->tstate_interp) != interp) {
            errno = ESTALE;     /* not a thread state of ours (any more) */
            return -1;
        }
        parse_tstate(L, buf, ts, &out[(*n)++]);
        ts = field_ptr(buf, L->tstate_next);
    }
    return 0;
}

int
dprof_read_threads_again(const dprof_frame_layout *L, uintptr_t interp,
                         dprof_raw_thread *threads, size_t n, unsigned char *scratch)
{
    size_t span = tstate_span(L);
    if (L->kind == DPROF_LAYOUT_NONE || span > TSTATE_BUF || n == 0
        || n + 1 > DPROF_MAX_PIECES) {
        errno = ENOSYS;
        return -1;
    }
    dprof_read_piece pieces[DPROF_MAX_PIECES];
    uintptr_t head = 0;
    pieces[0] = (dprof_read_piece){interp + L->interp_threads_head, &head, sizeof head};
    for (size_t i = 0; i < n; i++) {
        pieces[i + 1] = (dprof_read_piece){threads[i].tstate, scratch + i * span, span};
    }
    if (dprof_mem_readv(pieces, n + 1) != n + 1) {
        errno = EFAULT;
        return -1;
    }
    /* The same list only if every link is where it was: what a walk would have
     * read, link by link, at these very addresses. */
    if (head != threads[0].tstate) {
        errno = ESTALE;
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *buf = scratch + i * span;
        uintptr_t next = field_ptr(buf, L->tstate_next);
        if (field_ptr(buf, L->tstate_interp) != interp
            || next != (i + 1 < n ? threads[i + 1].tstate : 0)) {
            errno = ESTALE;
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        parse_tstate(L, scratch + i * span, threads[i].tstate, &threads[i]);
    }
    return 0;
}

int
dprof_read_thread_again(const dprof_frame_layout *L, uintptr_t interp, dprof_raw_thread *t)
{
    unsigned char buf[TSTATE_BUF];
    size_t span = tstate_span(L);
    if (L->kind == DPROF_LAYOUT_NONE || span > sizeof buf) {
        errno = ENOSYS;
        return -1;
    }
    if (dprof_mem_read(t->tstate, buf, span) < 0) {
        return -1;
    }
    dprof_raw_thread now;
    parse_tstate(L, buf, t->tstate, &now);
    if (field_ptr(buf, L->tstate_interp) != interp || now.thread_id != t->thread_id
        || now.native_id != t->native_id) {
        errno = ESTALE;     /* freed, or another thread's state now */
        return -1;
    }
    *t = now;
    return 0;
}

int
dprof_read_top(const dprof_frame_layout *L, dprof_raw_thread *t, dprof_frame_window *w)
{
    dprof_read_piece pieces[2];
    size_t n = 0;
    int frame_piece = L->tstate_cframe != (size_t)-1;
    w->len = 0;
    w->chunk = 0;
    if (frame_piece) {
        t->frame = 0;
        if (t->cframe == 0) {
            return 0;       /* no _PyCFrame: no Python code running in it */
        }
        pieces[n++] = (dprof_read_piece){t->cframe + L->cframe_current_frame, &t->frame,
                                         sizeof t->frame};
    }
    uintptr_t lo = 0, chunk = 0;
    size_t len = 0;
    if (t->stack_hi > t->stack_lo && w->buf != NULL && w->cap != 0) {
        /* From the chunk's header (its link to the older chunk) to the top, when
         * that fits; else the innermost frames, which are at the top. */
        chunk = t->stack_lo - L->chunk_data;
        len = t->stack_hi - chunk;
        if (len > w->cap) {
            len = w->cap;
            chunk = 0;
        }
        lo = t->stack_hi - len;
        pieces[n++] = (dprof_read_piece){lo, w->buf, len};
    }
    if (n == 0) {
        return 0;
    }
    size_t whole = dprof_mem_readv(pieces, n);
    if (frame_piece && whole == 0) {
        t->frame = 0;
        errno = EFAULT;
        return -1;
    }
    if (len != 0 && whole == n) {
        w->lo = lo;
        w->len = len;
        w->chunk = chunk;
    }
    return 0;
}

/* The chunk before the one in w, copied into w (its header and its slots in use,
 * at most w->cap bytes from the top), if `frame` lies in it: two reads (the older
 * chunk's header, which says how many slots are in use, then those) where reading
 * frame by frame would take one per frame. 0; or -1, with w unchanged unless the
 * copy itself failed (then w holds none). Only a window that starts at its chunk's
 * header (the link to the older chunk) can be followed. */

static int
window_to_older_chunk(const dprof_frame_layout *L, dprof_frame_window *w, uintptr_t frame)
{
    if (w->chunk == 0 || L->chunk_previous == (size_t)-1 || w->lo != w->chunk
        || w->len < L->chunk_data) {
        return -1;
    }
    uintptr_t older = field_ptr(w->buf, L->chunk_previous);
    if (older == 0 || frame < older + L->chunk_data) {
        return -1;
    }
    unsigned char head[64];
    if (L->chunk_data > sizeof head || dprof_mem_read(older, head, L->chunk_data) < 0) {
        return -1;
    }
    size_t top_slots = (size_t)field_ptr(head, L->chunk_top);
    if (top_slots == 0 || top_slots > (SIZE_MAX - L->chunk_data) / sizeof(void *)) {
        return -1;
    }
    uintptr_t hi = older + L->chunk_data + top_slots * sizeof(void *);
    if (frame + L->frame_size > hi) {
        return -1;      /* not in that chunk: a generator's frame, or a torn read */
    }
    size_t len = hi - older;
    uintptr_t lo = older;
    if (len > w->cap) {
        len = w->cap;
        lo = hi - len;
        if (frame < lo) {
            return -1;
        }
    }
    if (dprof_mem_read(lo, w->buf, len) < 0) {
        w->len = 0;     /* the buffer may hold part of the read */
        w->chunk = 0;
        return -1;
    }
    w->lo = lo;
    w->len = len;
    w->chunk = lo == older ? older : 0;
    w->refills++;
    return 0;
}

#define FRAME_BUF 256

int
dprof_read_frames(const dprof_frame_layout *L, uintptr_t frame,
                  dprof_frame_window *w,
                  dprof_raw_frame *out, size_t cap, size_t *n, int *truncated)
{
    unsigned char buf[FRAME_BUF];
    *n = 0;
    *truncated = 0;
    if (w != NULL) {
        w->refills = 0;
    }
    if (L->kind == DPROF_LAYOUT_NONE || L->frame_size > sizeof buf) {
        errno = ENOSYS;
        return -1;
    }
    /* Bound the walk by reads as well as by frames kept, so that a cycle of
     * shim frames in reused memory cannot spin. */
    for (size_t reads = 0; frame != 0; reads++) {
        if (*n == cap || reads == 2 * cap) {
            *truncated = 1;
            break;
        }
        int in_window = w != NULL && w->len >= L->frame_size && frame >= w->lo
                        && frame - w->lo <= w->len - L->frame_size;
        /* (an older chunk may lie above or below: each is a mapping of its own) */
        if (!in_window && w != NULL && window_to_older_chunk(L, w, frame) == 0) {
            in_window = frame - w->lo <= w->len - L->frame_size;
        }
        if (in_window) {
            /* In the copy of the data stack: same bytes, one read for the lot. */
            memcpy(buf, w->buf + (frame - w->lo), L->frame_size);
        }
        else if (dprof_mem_read(frame, buf, L->frame_size) < 0) {
            return -1;
        }
        int owner = -1;
        if (L->frame_owner != (size_t)-1) {
            owner = (int)(signed char)buf[L->frame_owner];
        }
        uintptr_t previous = field_ptr(buf, L->frame_previous);
        if (L->owner_cstack >= 0 && owner == L->owner_cstack) {
            frame = previous;   /* the C stack's entry shim: no code of its own */
            continue;
        }
        dprof_raw_frame *f = &out[(*n)++];
        f->code = field_ptr(buf, L->frame_code);
        f->owner = owner;
        if (L->instr_is_pointer) {
            /* Signed: prev_instr is one unit before the code until the frame
             * starts (lasti -1), and garbage in a popped frame. */
            uintptr_t instr = field_ptr(buf, L->frame_instr);
            f->lasti = ((int64_t)instr - (int64_t)(f->code + L->code_units)) / 2;
        }
        else {
            int lasti;
            memcpy(&lasti, buf + L->frame_instr, sizeof lasti);
            f->lasti = L->lasti_in_bytes && lasti >= 0 ? lasti / 2 : lasti;
        }
        frame = previous;
    }
    return 0;
}
