/* Python binding of the task point readings (task_readings.c). */
#include "module_state.h"
#include "task_readings.h"

PyDoc_STRVAR(task_reading_doc,
"task_reading() -> tuple\n"
"\n"
"Point readings for a task profile, in this order:\n"
"(monotonic, wall, process_user, process_system, children_user, children_system,\n"
" thread_user, thread_system, max_rss_bytes, rss_bytes,\n"
" process_rchar, process_wchar, process_read_bytes, process_write_bytes,\n"
" thread_rchar, thread_wchar, thread_read_bytes, thread_write_bytes,\n"
" net_sent, net_received, missing_bits).\n"
"Numbers that could not be read are -1 and flagged in missing_bits\n"
"(1 process io, 2 thread io, 4 network, 8 thread cpu).");

static PyObject *
task_reading(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    dprof_task_reading r;
    (void)module;
    /* The readings are a handful of syscalls (a few microseconds): not worth
     * releasing the GIL for. */
    dprof_task_reading_take(&r);
    return Py_BuildValue(
        "(dddddddd" "LL" "LLLL" "LLLL" "LL" "I)",
        r.monotonic, r.wall, r.process_user, r.process_system,
        r.children_user, r.children_system, r.thread_user, r.thread_system,
        (long long)r.max_rss_bytes, (long long)r.rss_bytes,
        (long long)r.process_io[0], (long long)r.process_io[1],
        (long long)r.process_io[2], (long long)r.process_io[3],
        (long long)r.thread_io[0], (long long)r.thread_io[1],
        (long long)r.thread_io[2], (long long)r.thread_io[3],
        (long long)r.net_sent, (long long)r.net_received, r.missing);
}

static PyMethodDef task_methods[] = {
    {"task_reading", task_reading, METH_NOARGS, task_reading_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_task_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, task_methods);
}
