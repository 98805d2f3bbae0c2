/* The allocation counter's Python functions: how many Python memory allocations a
 * thread makes.
 *
 * The counting itself is done by the hook layer of alloc_hooks.c, which wraps the
 * PYMEM_DOMAIN_MEM and PYMEM_DOMAIN_OBJ allocators (the allocation sampler rides
 * on the same layer). Counts are kept per thread, so a profile takes the
 * difference of its own thread's counts between its start and its end, and asks
 * alloc_counter_intact() at its end whether the hooks were in the allocator chain
 * all along: tracemalloc.stop() can take them out (it restores the allocators it
 * saw at its start), and a window they were out of is not counted.
 *
 * The only state here is the number of the counter's own users (the sampler holds
 * the hook layer too), to refuse a release without an acquire; GIL held.
 */
#include "module_state.h"
#include "alloc_hooks.h"

#include <math.h>
#include <stdint.h>

static int counter_users = 0;       /* guarded by the GIL */

PyDoc_STRVAR(alloc_counter_acquire_doc,
"alloc_counter_acquire() -> None\n"
"\n"
"Start counting Python allocations: installs the hooks for the first user, and\n"
"installs them afresh when another tool (tracemalloc.stop()) took them out of the\n"
"allocator chain. Each call must be paired with alloc_counter_release().");

static PyObject *
alloc_counter_acquire(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    if (dprof_hooks_acquire() < 0) {
        return NULL;
    }
    counter_users++;        /* acquire refuses before this could overflow */
    Py_RETURN_NONE;
}

PyDoc_STRVAR(alloc_counter_release_doc,
"alloc_counter_release() -> None\n"
"\n"
"Give back one use of the counter; the hooks are removed when no user is left\n"
"(where another tool has wrapped them since, they stay, still delegating).");

static PyObject *
alloc_counter_release(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    if (counter_users <= 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "alloc_counter_release() called more often than alloc_counter_acquire()");
        return NULL;
    }
    counter_users--;
    dprof_hooks_release();
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
    uint64_t allocations, bytes;
    dprof_hooks_thread_counts(&allocations, &bytes);
    return Py_BuildValue("(KK)", (unsigned long long)allocations,
                         (unsigned long long)bytes);
}

PyDoc_STRVAR(alloc_counter_active_doc,
"alloc_counter_active() -> bool\n"
"\n"
"Whether the counting hooks are installed right now.");

static PyObject *
alloc_counter_active(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyBool_FromLong(dprof_hooks_installed());
}

PyDoc_STRVAR(alloc_counter_intact_doc,
"alloc_counter_intact(since) -> bool\n"
"\n"
"Whether every allocation since `since` (a time.monotonic() value taken while\n"
"holding the counter) was counted: the hooks are in the allocator chain now (one\n"
"probe allocation per domain, not counted) and have not had to be installed\n"
"afresh since. False after tracemalloc.stop() took them out in that window.");

static PyObject *
alloc_counter_intact(PyObject *module, PyObject *arg)
{
    (void)module;
    double since = PyFloat_AsDouble(arg);
    if (since == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (!isfinite(since) || since < 0) {
        PyObject *bad = PyFloat_FromDouble(since);
        if (bad != NULL) {
            PyErr_Format(PyExc_ValueError,
                         "since must be a time.monotonic() value (finite, >= 0), got %R",
                         bad);
            Py_DECREF(bad);
        }
        return NULL;
    }
    /* seconds to ns; clamped well inside uint64 (584 years) */
    uint64_t since_ns = since >= 1.8e10 ? (uint64_t)1.8e19 : (uint64_t)(since * 1e9);
    return PyBool_FromLong(dprof_hooks_intact_since(since_ns));
}

static PyMethodDef allocs_methods[] = {
    {"alloc_counter_acquire", alloc_counter_acquire, METH_NOARGS, alloc_counter_acquire_doc},
    {"alloc_counter_release", alloc_counter_release, METH_NOARGS, alloc_counter_release_doc},
    {"alloc_counts", alloc_counts, METH_NOARGS, alloc_counts_doc},
    {"alloc_counter_active", alloc_counter_active, METH_NOARGS, alloc_counter_active_doc},
    {"alloc_counter_intact", alloc_counter_intact, METH_O, alloc_counter_intact_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_allocs_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, allocs_methods);
}
