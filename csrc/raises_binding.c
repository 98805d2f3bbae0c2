/* The raise counter: how many exceptions Python code raises, caught ones included.
 *
 * CPython 3.12 added sys.monitoring, whose RAISE event fires when an exception is
 * raised in a Python frame and again in every frame it then propagates into (the
 * traceback has grown by one entry each time). dprof/task/exceptions.py registers
 * count_raise() below as the RAISE callback; it counts an exception once, at the
 * event whose traceback has a single entry: the first Python frame that saw it.
 * Propagation events (traceback of two or more entries) are not counted, nor is
 * an exception object raised again with the traceback of its earlier raise.
 *
 * The callback is C so that an event costs a C call and two increments (about a
 * third of what a Python callback costs; see benchmarks/decorator_overhead.py).
 * On 3.9 to 3.11 there is no such event: the functions exist but nothing calls
 * count_raise, and the Python layer reports the count's source accordingly.
 *
 * State is C data only: a count per thread in thread-local storage, so that a
 * profile can take its own thread's difference, and a process-wide atomic count for
 * a profile that claims the whole process. The callback runs with the GIL held.
 */
#include "module_state.h"

#include <stdint.h>

static _Thread_local uint64_t thread_raises
    __attribute__((tls_model("initial-exec")));
static uint64_t process_raises;     /* updated with __atomic builtins */

PyDoc_STRVAR(count_raise_doc,
"count_raise(code, offset, exception) -> None\n"
"\n"
"sys.monitoring RAISE callback: counts `exception` when this event is its first\n"
"(its traceback has one entry). Any other argument is ignored, never an error:\n"
"the profiled program must not see the counter fail.");

static PyObject *
count_raise(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "count_raise() takes 3 arguments (code, offset, exception), got %zd",
                     nargs);
        return NULL;
    }
    PyObject *exc = args[2];
    if (!PyExceptionInstance_Check(exc)) {
        Py_RETURN_NONE;
    }
    /* New reference or NULL (no traceback yet: raised and seen before any frame
     * recorded it, which is a first event too). */
    PyObject *tb = PyException_GetTraceback(exc);
    int first = tb == NULL || !PyTraceBack_Check(tb) ||
                ((PyTracebackObject *)tb)->tb_next == NULL;
    Py_XDECREF(tb);
    if (first) {
        thread_raises++;
        __atomic_fetch_add(&process_raises, 1, __ATOMIC_RELAXED);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(raise_counts_doc,
"raise_counts() -> tuple[int, int]\n"
"\n"
"(process, thread): exceptions counted by count_raise() in the whole process and in\n"
"the calling thread. The numbers only grow; take differences.");

static PyObject *
raise_counts(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    unsigned long long process = __atomic_load_n(&process_raises, __ATOMIC_RELAXED);
    unsigned long long thread = thread_raises;
    return Py_BuildValue("(KK)", process, thread);
}

static PyMethodDef raises_methods[] = {
    {"count_raise", (PyCFunction)(void (*)(void))count_raise, METH_FASTCALL, count_raise_doc},
    {"raise_counts", raise_counts, METH_NOARGS, raise_counts_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_raises_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, raises_methods);
}
