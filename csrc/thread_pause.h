/* Holding one running thread still while the stack sampler reads its frames, as
 * py-spy pauses the whole process (ptrace) for each of its samples.
 *
 * Why: a thread that runs while its frame chain is copied moves between the reads
 * (its frame pointer, each frame's code and instruction are read microseconds
 * apart), so a reader that does not pause sees torn chains, and on call-heavy code
 * (pyperformance's richards, go) reads lines 40 to 50 points away from py-spy's
 * (benchmarks/line_oracle.py --nonblocking). Paused, the copy is a snapshot.
 *
 * How: the sampler sends the thread a real-time signal (tgkill). Its handler, on
 * that thread, says it is held and waits on a futex until the sampler lets it go,
 * or at most DPROF_PAUSE_HOLD_MAX_NS. The handler only makes system calls and
 * atomic operations (async-signal-safe): no Python, no locks, no allocation. The
 * sampler reads nothing but memory copies while the thread is held (the thread may
 * hold the GIL or the allocator's lock).
 *
 * Which threads: only one the kernel shows running outside any system call
 * (stack_sampler.c asks /proc/self/task/TID/syscall first). A blocked thread's frames
 * do not move, and a signal could end its wait with EINTR; a thread interrupted in
 * user space only sees its instruction stream stop for a few microseconds.
 *
 * No Python.h: plain C, testable without the interpreter.
 */
#ifndef DPROF_THREAD_PAUSE_H
#define DPROF_THREAD_PAUSE_H

#include <stdint.h>
#include <sys/types.h>

/* The longest a handler keeps its thread held when the sampler never lets it go. */
#define DPROF_PAUSE_HOLD_MAX_NS 2000000ULL
/* How long the sampler waits for the handler to say the thread is held. */
#define DPROF_PAUSE_ACK_MAX_NS 1000000ULL

/* Installs the handler, once per process, on the first free real-time signal (one
 * whose disposition is the default). 0, or -1 with *why set to the reason (static
 * text) when no signal is free or sigaction failed. Never removed: a signal still
 * in flight after the sampler stopped must find a handler, not the default action
 * (which ends the process). */
int dprof_pause_install(const char **why);

/* The signal in use (0 before a successful install). */
int dprof_pause_signal(void);

/* Asks thread `tid` of process `pid` to hold still and waits up to
 * DPROF_PAUSE_ACK_MAX_NS for it. 1 when it is held (call dprof_pause_release),
 * 0 when it is not (the signal could not be sent, or the thread did not answer in
 * time: it may have the signal blocked, or be waiting for a CPU). One thread at a
 * time, process-wide: callers are serialised by a lock taken here and given back by
 * dprof_pause_release (or before returning 0). */
int dprof_pause_thread(pid_t pid, pid_t tid);

/* Nanoseconds that threads of this process have spent in the pause handler, from
 * its entry to its return, summed over all pauses since the process started: what
 * the pauses cost the program itself (less the kernel's signal delivery, about a
 * microsecond each). */
uint64_t dprof_pause_handler_ns(void);

/* Lets the held thread go. 1 when it was still held (the read in between was a
 * snapshot), 0 when its handler had already given up (the read took longer than
 * DPROF_PAUSE_HOLD_MAX_NS). */
int dprof_pause_release(pid_t tid);

#endif
