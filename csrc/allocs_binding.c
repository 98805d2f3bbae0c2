/* The allocation counter: how many Python memory allocations a thread makes.
 *
 * dprof counts allocations by wrapping the PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ
 * allocators (PyMem_Malloc and PyObject_Malloc: every Python object and most
 * interpreter buffers) with hooks that delegate to the allocator that was installed
 * before, the way tracemalloc does. The RAW domain is left alone: it may be called
 * without the GIL, and counting it would need atomics on the hottest path.
 *
 * Counts are kept per thread in thread-local storage, so the hook costs one
 * increment and no atomic operation; a profile takes the difference of its own
 * thread's counts between its start and its end.
 *
 * The hooks are installed while at least one user holds the counter
 * (alloc_counter_acquire/release). Install and removal happen with the GIL held,
 * which is what makes swapping the MEM and OBJ allocators safe: no other thread can
 * be inside them at that moment. On removal the hooks are only taken out when they
 * are still the installed allocator; if another tool (tracemalloc) has wrapped them
 * since, they stay in place underneath it, still delegating correctly.
 *
 * The state below is C data only (no Python objects): the previous allocators and
 * the number of users, touched only with the GIL held.
 */
#include "module_state.h"

#include <stdint.h>

static PyMemAllocatorEx previous_mem;   /* allocator we delegate to, MEM domain */
static PyMemAllocatorEx previous_obj;   /* allocator we delegate to, OBJ domain */
static int hook_users = 0;              /* guarded by the GIL */
static int hooks_installed = 0;         /* guarded by the GIL */

/* initial-exec keeps the thread-local access to one instruction; the two counters
 * fit easily in the static TLS surplus that glibc reserves for dlopen'ed modules. */
static _Thread_local uint64_t thread_allocations
    __attribute__((tls_model("initial-exec")));
static _Thread_local uint64_t thread_allocated_bytes
    __attribute__((tls_model("initial-exec")));

static void *
count_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *previous = (PyMemAllocatorEx *)ctx;
    void *ptr = previous->malloc(previous->ctx, size);
    if (ptr != NULL) {
        thread_allocations++;
        thread_allocated_bytes += size;
    }
    return ptr;
}

static void *
count_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *previous = (PyMemAllocatorEx *)ctx;
    void *ptr = previous->calloc(previous->ctx, nelem, elsize);
    if (ptr != NULL) {
        thread_allocations++;
        /* the allocator already refused nelem * elsize overflowing */
        thread_allocated_bytes += (uint64_t)nelem * (uint64_t)elsize;
    }
    return ptr;
}

static void *
count_realloc(void *ctx, void *old, size_t new_size)
{
    PyMemAllocatorEx *previous = (PyMemAllocatorEx *)ctx;
    void *ptr = previous->realloc(previous->ctx, old, new_size);
    /* realloc(NULL, n) is an allocation; resizing a live block is not a new one. */
    if (ptr != NULL && old == NULL) {
        thread_allocations++;
        thread_allocated_bytes += new_size;
    }
    return ptr;
}

static void
count_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *previous = (PyMemAllocatorEx *)ctx;
    previous->free(previous->ctx, ptr);
}

static int
is_our_hook(const PyMemAllocatorEx *alloc, const PyMemAllocatorEx *previous)
{
    return alloc->malloc == count_malloc && alloc->ctx == (void *)previous;
}

static void
install_hooks(void)
{
    PyMemAllocatorEx hook = {NULL, count_malloc, count_calloc, count_realloc, count_free};

    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &previous_mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &previous_obj);
    hook.ctx = &previous_mem;
    PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &hook);
    hook.ctx = &previous_obj;
    PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &hook);
    hooks_installed = 1;
}

static void
remove_hooks(void)
{
    PyMemAllocatorEx current_mem, current_obj;

    PyMem_GetAllocator(PYMEM_DOMAIN_MEM, &current_mem);
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &current_obj);
    /* Only unhook when nobody has wrapped us since; otherwise removing our hook
     * would also remove theirs. Staying installed is harmless. */
    if (is_our_hook(&current_mem, &previous_mem) && is_our_hook(&current_obj, &previous_obj)) {
        PyMem_SetAllocator(PYMEM_DOMAIN_MEM, &previous_mem);
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &previous_obj);
        hooks_installed = 0;
    }
}

PyDoc_STRVAR(alloc_counter_acquire_doc,
"alloc_counter_acquire() -> None\n"
"\n"
"Start counting Python allocations (installs the hooks for the first user).\n"
"Each call must be paired with alloc_counter_release().");

static PyObject *
alloc_counter_acquire(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    if (hook_users == INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many allocation counter users");
        return NULL;
    }
    if (hook_users++ == 0 && !hooks_installed) {
        install_hooks();
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(alloc_counter_release_doc,
"alloc_counter_release() -> None\n"
"\n"
"Give back one use of the counter; the hooks are removed when no user is left.");

static PyObject *
alloc_counter_release(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    if (hook_users <= 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "alloc_counter_release() called more often than alloc_counter_acquire()");
        return NULL;
    }
    if (--hook_users == 0 && hooks_installed) {
        remove_hooks();
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(alloc_counts_doc,
"alloc_counts() -> tuple[int, int]\n"
"\n"
"(allocations, bytes) made by the calling thread through PyMem_Malloc and\n"
"PyObject_Malloc while the counter was active. The numbers only grow; take\n"
"differences between two calls made while holding the counter.");

static PyObject *
alloc_counts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    /* Read both before building objects: building the tuple allocates. */
    unsigned long long allocations = thread_allocations;
    unsigned long long bytes = thread_allocated_bytes;
    return Py_BuildValue("(KK)", allocations, bytes);
}

PyDoc_STRVAR(alloc_counter_active_doc,
"alloc_counter_active() -> bool\n"
"\n"
"Whether the counting hooks are installed right now.");

static PyObject *
alloc_counter_active(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyBool_FromLong(hooks_installed);
}

static PyMethodDef allocs_methods[] = {
    {"alloc_counter_acquire", alloc_counter_acquire, METH_NOARGS, alloc_counter_acquire_doc},
    {"alloc_counter_release", alloc_counter_release, METH_NOARGS, alloc_counter_release_doc},
    {"alloc_counts", alloc_counts, METH_NOARGS, alloc_counts_doc},
    {"alloc_counter_active", alloc_counter_active, METH_NOARGS, alloc_counter_active_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_allocs_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, allocs_methods);
}
