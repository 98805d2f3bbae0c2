/* The GIL-free stack reader: reads the interpreter's thread list and a thread's
 * frame chain from this process's own memory the way an outside profiler does
 * (py-spy, Austin), with process_vm_readv on getpid(), so that memory freed or
 * unmapped while it reads (a frame popped, a thread state deleted) gives EFAULT or
 * stale bytes, never a crash. No Python.h: it knows only the offsets of
 * frame_layout.h and hands back raw addresses and instruction offsets, which the
 * caller validates (stack_sampler.c: against the code objects it holds) before any
 * use.
 */
#ifndef DPROF_FRAME_READER_H
#define DPROF_FRAME_READER_H

#include <stddef.h>
#include <stdint.h>
#include "frame_layout.h"

/* This process's pid, cached (getpid() is a system call) and forgotten in a forked
 * child. */
#include <sys/types.h>
pid_t dprof_self_pid(void);

/* Copies len bytes at addr of this process into buf. 0, or -1 when any of it
 * could not be read (errno from process_vm_readv, EFAULT for unmapped memory). */
int dprof_mem_read(uintptr_t addr, void *buf, size_t len);

/* One piece of a batched read: len bytes at addr into buf. */
typedef struct {
    uintptr_t addr;
    void *buf;
    size_t len;
} dprof_read_piece;

#define DPROF_MAX_PIECES 130     /* per system call; the kernel allows IOV_MAX (1024) */

/* Reads up to DPROF_MAX_PIECES pieces in one system call. Returns how many, from
 * the first, were read whole: the kernel stops at the first one it cannot read (and
 * a null address stops the batch there). */
size_t dprof_mem_readv(const dprof_read_piece *pieces, size_t n);

/* One thread state as read (unvalidated). */
typedef struct {
    uintptr_t tstate;
    uintptr_t frame;        /* its current frame, or 0; on 3.11/3.12 only once
                               dprof_read_top has read it through cframe */
    uintptr_t cframe;       /* 3.11/3.12: its _PyCFrame, else 0 */
    uint64_t thread_id;     /* threading.get_ident() */
    uint64_t native_id;     /* kernel TID (0 where the layout has none) */
    uintptr_t stack_lo;     /* 3.11+: its data stack's current chunk, from its first */
    uintptr_t stack_hi;     /* slot to the first free one; 0, 0 where unknown */
} dprof_raw_thread;

/* A copy of the top of a thread's data stack, where its innermost frames live
 * (3.11+), so that one read serves most of a chain. A chain deeper than one chunk
 * (16 KiB: about a hundred frames) goes on in the older chunks, which
 * dprof_read_frames copies into the window in turn. */
typedef struct {
    uintptr_t lo;           /* address of buf[0] */
    size_t len;             /* bytes copied (0: no window) */
    unsigned char *buf;
    size_t cap;
    uintptr_t chunk;        /* the _PyStackChunk the copy is from, 0 where unknown */
    unsigned refills;       /* older chunks copied in by the last dprof_read_frames */
} dprof_frame_window;

/* In one system call: t's current frame (3.11/3.12, through its _PyCFrame; other
 * versions have it from the thread state) and the top of its data stack (at most
 * w->cap bytes below its top) into w. w->len stays 0 when there is no data stack
 * or it could not be read (frames are then read one by one). 0, or -1 when the
 * frame pointer could not be read. */
int dprof_read_top(const dprof_frame_layout *L, dprof_raw_thread *t, dprof_frame_window *w);

/* Reads the thread list of interpreter `interp`, one thread state at a time. Thread
 * states whose interp field is not `interp` end the walk (a freed or reused state).
 * 0 with *n set, or -1 when a read failed or the list is longer than cap (a cycle
 * through reused memory). Frames are resolved by dprof_read_top. */
int dprof_read_threads(const dprof_frame_layout *L, uintptr_t interp,
                       dprof_raw_thread *out, size_t cap, size_t *n);

/* Re-reads the list `threads[0..n)` read last time, in one system call: the
 * interpreter's head and each thread state at its known address, and accepts it only
 * if every link is unchanged (the head is threads[0], each next is the following
 * one, the last's is null, every interp field is `interp`). 0 with threads[] updated,
 * or -1 (nothing changed in threads[]): then read the list with dprof_read_threads.
 * scratch holds n * dprof_tstate_span(L) bytes; n + 1 <= DPROF_MAX_PIECES. */
int dprof_read_threads_again(const dprof_frame_layout *L, uintptr_t interp,
                             dprof_raw_thread *threads, size_t n, unsigned char *scratch);

/* Re-reads one thread state of the list (its frame, _PyCFrame and data stack move
 * as the thread runs): for a thread held still, so that what dprof_read_top then
 * reads is where the thread is now, not where it was when the list was read. 0
 * with *t updated, or -1 (t unchanged) when the state is no longer that thread's
 * (another interp, other thread ids) or could not be read. */
int dprof_read_thread_again(const dprof_frame_layout *L, uintptr_t interp,
                            dprof_raw_thread *t);

/* Bytes of a thread state the reader copies. */
size_t dprof_tstate_span(const dprof_frame_layout *L);

/* One frame as read (unvalidated). */
typedef struct {
    uintptr_t code;         /* the code object's address (f_code / f_executable) */
    int64_t lasti;          /* instruction index in code units (-1: not started) */
    int owner;              /* 3.11+: the frame's owner, else -1 */
} dprof_raw_frame;

/* Reads the chain from `frame` outwards (innermost first), skipping the C-stack
 * shim frames of 3.12+. Frames inside the window `w` (may be NULL) are taken from
 * it, others read one by one. 0 with *n set (*truncated = 1 when it stopped at cap), or
 * -1 when a read failed. */
int dprof_read_frames(const dprof_frame_layout *L, uintptr_t frame,
                      dprof_frame_window *w,
                      dprof_raw_frame *out, size_t cap, size_t *n, int *truncated);

#endif
