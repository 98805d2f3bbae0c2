/* NumPy's data allocations for the allocation sampler (memsample_binding.c holds the
 * Python-domain hooks and the sampler's state).
 *
 * dprof sets a NumPy data-memory handler (PyDataMem_SetHandler, NumPy >= 1.22) that
 * delegates to the previous handler and reports allocations and frees through the
 * hook interface of memsample_hooks.h. The NumPy C-API table comes from the Python
 * layer (numpy's _ARRAY_API capsule), so building needs no NumPy headers; the
 * handler structs are declared here from NumPy's documented layout (version 1).
 *
 * NumPy may call its handler without the GIL: then only the no-GIL entry points are
 * used, which touch no Python object and no engine state.
 *
 * Python objects held in C globals: the previous handler's capsule and ours, kept
 * for the life of the process: an array made through our handler frees through it,
 * and it delegates to the previous one.
 */
#include "module_state.h"
#include "memsample_hooks.h"

#include <stdint.h>

/* NumPy's PyDataMemAllocator / PyDataMem_Handler (numpy/ndarraytypes.h, version 1),
 * declared here so that building needs no NumPy headers. */
typedef struct {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
    void *(*realloc)(void *ctx, void *ptr, size_t new_size);
    void (*free)(void *ctx, void *ptr, size_t size);
} np_allocator;

typedef struct {
    char name[127];
    uint8_t version;
    np_allocator allocator;
} np_handler;

/* NumPy C-API table slots (numpy_api.py, stable since 1.22) */
#define NP_API_SET_HANDLER 304
#define NP_API_GET_HANDLER 305

static np_allocator np_prev;                 /* what our handler delegates to */
static PyObject *np_prev_capsule = NULL;     /* strong ref, for the life of the process */
static PyObject *np_our_capsule = NULL;      /* strong ref, for the life of the process */
static PyObject *(*np_set_handler)(PyObject *) = NULL;
static PyObject *(*np_get_handler)(void) = NULL;
static volatile int np_sampling = 0;                  /* our handler records */

static void
np_note_alloc(void *ptr, size_t size)
{
    if (!PyGILState_Check()) {
        /* no GIL: no stack, no engine; only say how much went unseen */
        dprof_ms_hook_nogil_alloc(size);
        return;
    }
    dprof_ms_hook_alloc(ptr, size);
}

static void
np_note_free(void *ptr)
{
    if (!PyGILState_Check()) {
        dprof_ms_hook_nogil_free(ptr);
    } else {
        dprof_ms_hook_free(ptr);
    }
}

static void *
np_malloc(void *ctx, size_t size)
{
    (void)ctx;
    void *ptr = np_prev.malloc(np_prev.ctx, size);
    if (ptr != NULL && np_sampling) {
        np_note_alloc(ptr, size);
    }
    return ptr;
}

static void *
np_calloc(void *ctx, size_t nelem, size_t elsize)
{
    (void)ctx;
    void *ptr = np_prev.calloc(np_prev.ctx, nelem, elsize);
    if (ptr != NULL && np_sampling) {
        np_note_alloc(ptr, nelem * elsize);
    }
    return ptr;
}

static void *
np_realloc(void *ctx, void *old, size_t new_size)
{
    (void)ctx;
    void *ptr = np_prev.realloc(np_prev.ctx, old, new_size);
    if (ptr != NULL && np_sampling) {
        if (old != NULL) {
            np_note_free(old);
        }
        np_note_alloc(ptr, new_size);
    }
    return ptr;
}

static void
np_free(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (ptr != NULL && np_sampling) {
        np_note_free(ptr);
    }
    np_prev.free(np_prev.ctx, ptr, size);
}

static np_handler our_np_handler = {
    "dprof_memsample", 1, {NULL, np_malloc, np_calloc, np_realloc, np_free}};

/* Installs our NumPy handler; returns NULL (hooked) or a static reason why not.
 * -1-style failures (a Python error) are turned into reasons too: the profiled
 * program must not see them. GIL held. */
const char *
dprof_ms_numpy_hook(PyObject *api_capsule)
{
    if (api_capsule == NULL || api_capsule == Py_None) {
        return "NumPy is not imported";
    }
    void **api = (void **)PyCapsule_GetPointer(api_capsule, NULL);
    if (api == NULL) {
        PyErr_Clear();
        return "NumPy's _ARRAY_API is not a capsule";
    }
    np_set_handler = (PyObject *(*)(PyObject *))api[NP_API_SET_HANDLER];
    np_get_handler = (PyObject *(*)(void))api[NP_API_GET_HANDLER];
    PyObject *current = np_get_handler();                  /* new ref */
    if (current == NULL) {
        PyErr_Clear();
        return "PyDataMem_GetHandler failed";
    }
    if (np_our_capsule != NULL && current == np_our_capsule) {
        Py_DECREF(current);         /* still ours from an earlier session */
        np_sampling = 1;
        return NULL;
    }
    if (np_prev_capsule != NULL && current != np_prev_capsule) {
        Py_DECREF(current);
        return "another NumPy allocation handler was set since dprof's first session";
    }
    if (np_prev_capsule == NULL) {
        np_handler *prev = (np_handler *)PyCapsule_GetPointer(current, "mem_handler");
        if (prev == NULL || prev->version != 1) {
            PyErr_Clear();
            Py_DECREF(current);
            return "NumPy's current allocation handler is not a version-1 mem_handler";
        }
        np_prev = prev->allocator;
        np_prev_capsule = current;      /* keeps the ref: prev must outlive our arrays */
    } else {
        Py_DECREF(current);
    }
    if (np_our_capsule == NULL) {
        np_our_capsule = PyCapsule_New(&our_np_handler, "mem_handler", NULL);
        if (np_our_capsule == NULL) {
            PyErr_Clear();
            return "could not create the handler capsule";
        }
    }
    PyObject *old = np_set_handler(np_our_capsule);       /* new ref */
    if (old == NULL) {
        PyErr_Clear();
        return "PyDataMem_SetHandler failed";
    }
    Py_DECREF(old);
    np_sampling = 1;
    return NULL;
}

/* Puts the previous handler back where ours is current. GIL held. */
void
dprof_ms_numpy_unhook(void)
{
    np_sampling = 0;
    if (np_get_handler == NULL || np_prev_capsule == NULL) {
        return;
    }
    PyObject *current = np_get_handler();                  /* new ref */
    if (current == NULL) {
        PyErr_Clear();
        return;
    }
    if (current == np_our_capsule) {
        PyObject *old = np_set_handler(np_prev_capsule);  /* new ref */
        if (old == NULL) {
            PyErr_Clear();
        }
        Py_XDECREF(old);
    }
    Py_DECREF(current);
}

void
dprof_ms_numpy_after_fork(void)
{
    np_sampling = 0;
}
