/* The one allocator hook layer that the allocation counter (allocs_binding.c) and
 * the allocation sampler (memsample_binding.c) share (alloc_hooks.c).
 * Include after module_state.h. Every function here is called with the GIL held.
 */
#ifndef DPROF_ALLOC_HOOKS_H
#define DPROF_ALLOC_HOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "memsample.h"

/* Take one use of the layer: makes sure it is in the MEM and OBJ allocator chains
 * (installing it, or installing it afresh when another tool took it out). 0, or -1
 * with a Python error set (MemoryError). */
int dprof_hooks_acquire(void);
/* Give one use back; with no user left the layer is taken out where it is on top. */
void dprof_hooks_release(void);
/* Whether the layer is installed (it may be a pass-through under another tool). */
int dprof_hooks_installed(void);
/* 1 when both domains' allocations reach the layer now and it has not had to be
 * installed afresh since `since_ns` (CLOCK_MONOTONIC): everything in between was
 * counted. 0 otherwise. Probes with one PyMem_Malloc and one PyObject_Malloc. */
int dprof_hooks_intact_since(uint64_t since_ns);

/* The calling thread's allocations and bytes counted so far (only grow). */
void dprof_hooks_thread_counts(uint64_t *allocations, uint64_t *bytes);

/* Sampling rides on the same layer: while `engine` is set, each allocation runs
 * the engine's countdown inline and each free checks the engine's live-block
 * filter, calling the sampler (memsample_hooks.h) only when they hit. */
void dprof_hooks_sampling_on(dprof_ms *engine);
void dprof_hooks_sampling_off(void);   /* also safe in a pthread_atfork child */

/* The hooks' view of the engine's countdown (the part up to its `always` size, and
 * the rest), and one allocation decided on it as the hooks decide it: fast-path
 * test, then the engine. Each hit's weight is the engine's; the twin test runs
 * sequences through these (memsample_decide(..., through_hooks=True)). */
void dprof_hooks_publish(const dprof_ms *ms, int64_t *countdown, int64_t *reserve);
int dprof_hooks_decide(dprof_ms *ms, int64_t *countdown, int64_t *reserve, size_t size,
                       uint64_t *weight);
/* The sampler's check for an allocation that did not come through the layer
 * (NumPy's data handler); the free counterpart. */
void dprof_hooks_sample_alloc(void *ptr, size_t size);
void dprof_hooks_sample_free(void *ptr);

#endif
