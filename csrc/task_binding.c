/* Python binding of the task point readings (task_readings.c).
 *
 * task_reading() returns a TaskReading, a struct sequence (the type of os.stat()'s
 * result): Python reads its fields by name, and the names are defined here, next
 * to the C struct they come from, so the two cannot drift apart by position.
 * Building one costs what building the plain tuple did (measured in
 * benchmarks/decorator_overhead.py's breakdown). */
#include "module_state.h"
#include "task_readings.h"

/* The order is the C struct's; Python never depends on it. */
static PyStructSequence_Field reading_fields[] = {
    {"monotonic", "CLOCK_MONOTONIC seconds"},
    {"wall", "CLOCK_REALTIME seconds since the epoch"},
    {"process_user", "user CPU seconds of the process (getrusage RUSAGE_SELF)"},
    {"process_system", "system CPU seconds of the process"},
    {"children_user", "user CPU seconds of reaped children (RUSAGE_CHILDREN)"},
    {"children_system", "system CPU seconds of reaped children"},
    {"thread_user", "user CPU seconds of the calling thread (RUSAGE_THREAD), -1 if missing"},
    {"thread_system", "system CPU seconds of the calling thread, -1 if missing"},
    {"max_rss_bytes", "ru_maxrss of the process in bytes"},
    {"rss_bytes", "resident set size (/proc/self/statm) in bytes, -1 if unreadable"},
    {"process_rchar", "/proc/self/io rchar, -1 if missing"},
    {"process_wchar", "/proc/self/io wchar, -1 if missing"},
    {"process_read_bytes", "/proc/self/io read_bytes (storage), -1 if missing"},
    {"process_write_bytes", "/proc/self/io write_bytes (storage), -1 if missing"},
    {"thread_rchar", "/proc/thread-self/io rchar, -1 if missing"},
    {"thread_wchar", "/proc/thread-self/io wchar, -1 if missing"},
    {"thread_read_bytes", "/proc/thread-self/io read_bytes, -1 if missing"},
    {"thread_write_bytes", "/proc/thread-self/io write_bytes, -1 if missing"},
    {"net_sent", "bytes sent by the network namespace (all interfaces but lo), -1 if missing"},
    {"net_received", "bytes received by the network namespace, -1 if missing"},
    {"missing", "bits of the sources that could not be read: 1 process io, "
                "2 thread io, 4 network, 8 thread cpu"},
    {NULL, NULL},
};

static PyStructSequence_Desc reading_desc = {
    "dprof._native.TaskReading",
    "Point readings for a task profile, read by field name (see task_reading()).",
    reading_fields,
    21,
};

PyDoc_STRVAR(task_reading_doc,
"task_reading() -> TaskReading\n"
"\n"
"Point readings for a task profile: clocks, CPU time of the process, its reaped\n"
"children and the calling thread, the RSS and its high-water mark, I/O counters\n"
"of the process and of the thread, the network namespace's byte counters.\n"
"Numbers that could not be read are -1 and flagged in `missing`\n"
"(1 process io, 2 thread io, 4 network, 8 thread cpu).");

/* Steals nothing: `value` is a new reference or NULL; on NULL the caller's result
 * is released and NULL returned (PyStructSequence_SET_ITEM cannot fail). */
#define SET_OR_FAIL(res, i, value)             \
    do {                                       \
        PyObject *v_ = (value);                \
        if (v_ == NULL) {                      \
            Py_DECREF(res);                    \
            return NULL;                       \
        }                                      \
        PyStructSequence_SET_ITEM(res, i, v_); \
    } while (0)

static PyObject *
task_reading(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    dprof_task_reading r;
    PyTypeObject *type = (PyTypeObject *)dprof_get_state(module)->types[DPROF_TYPE_TASK_READING];
    /* The readings are a handful of syscalls (a few microseconds): not worth
     * releasing the GIL for. */
    dprof_task_reading_take(&r);
    PyObject *res = PyStructSequence_New(type);   /* new reference */
    if (res == NULL) {
        return NULL;
    }
    const double secs[8] = {r.monotonic, r.wall, r.process_user, r.process_system,
                            r.children_user, r.children_system, r.thread_user,
                            r.thread_system};
    const int64_t counts[12] = {r.max_rss_bytes, r.rss_bytes,
                                r.process_io[0], r.process_io[1], r.process_io[2],
                                r.process_io[3], r.thread_io[0], r.thread_io[1],
                                r.thread_io[2], r.thread_io[3], r.net_sent, r.net_received};
    Py_ssize_t i = 0;
    for (int k = 0; k < 8; k++, i++) {
        SET_OR_FAIL(res, i, PyFloat_FromDouble(secs[k]));
    }
    for (int k = 0; k < 12; k++, i++) {
        SET_OR_FAIL(res, i, PyLong_FromLongLong((long long)counts[k]));
    }
    SET_OR_FAIL(res, i, PyLong_FromUnsignedLong(r.missing));
    return res;
}

static PyMethodDef task_methods[] = {
    {"task_reading", task_reading, METH_NOARGS, task_reading_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_task_register(PyObject *module, dprof_state *state)
{
    /* A heap type per module (multi-phase init); the state owns the reference and
     * the module takes its own in PyModule_AddObjectRef. */
    PyTypeObject *type = PyStructSequence_NewType(&reading_desc);
    if (type == NULL) {
        return -1;
    }
    state->types[DPROF_TYPE_TASK_READING] = (PyObject *)type;
    if (PyModule_AddObjectRef(module, "TaskReading", (PyObject *)type) < 0) {
        return -1;
    }
    return PyModule_AddFunctions(module, task_methods);
}
