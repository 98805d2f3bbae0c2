/* Internal interface of the allocation sampler (memsample_binding.c, which owns the
 * sampler's state) towards the shared hook layer (alloc_hooks.c, which runs the
 * sampler's fast path inside the PyMem/PyObject hooks) and NumPy's data handler
 * (memsample_numpy.c). Include after module_state.h. */
#ifndef DPROF_MEMSAMPLE_HOOKS_H
#define DPROF_MEMSAMPLE_HOOKS_H

#include <stddef.h>
#include <stdint.h>

/* GIL held. The hook layer's slow path: the block at ptr is sampled with weight. */
void dprof_ms_sampled(void *ptr, size_t size, uint64_t weight);
/* The sampler's clock (CLOCK_MONOTONIC ns), for timeline points of frees. */
uint64_t dprof_ms_now_ns(void);

/* GIL held: an allocation / a free to account while a session samples. */
void dprof_ms_hook_alloc(void *ptr, size_t size);
void dprof_ms_hook_free(void *ptr);
/* No GIL: touch no Python object and no engine state (atomics only). */
void dprof_ms_hook_nogil_alloc(size_t size);
void dprof_ms_hook_nogil_free(void *ptr);

/* NumPy's handler (memsample_numpy.c). GIL held. hook: NULL when hooked, else a
 * static reason why not (never a Python error). */
const char *dprof_ms_numpy_hook(PyObject *api_capsule);
void dprof_ms_numpy_unhook(void);
void dprof_ms_numpy_after_fork(void);   /* pthread_atfork child: stop recording */

#endif
