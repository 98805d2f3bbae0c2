/* dprof._native.Sampler: the Python face of the resource sampler engine.
 *
 * A thin conversion layer: the engine (sampler.c) holds no Python objects and
 * its thread never takes the GIL; this file turns arguments into a
 * dprof_sampler_config, engine results into dicts, and exports the sample
 * arrays through the buffer protocol.
 *
 * Exports: each column is exposed as a memoryview over a small private
 * `_SamplerColumn` object (its type lives in module state) that holds a reference to the engine's refcounted
 * array block (not to the Sampler), so a view stays valid after the Sampler is
 * restarted or freed. When stopped the views are zero-copy; while running they
 * are over a snapshot copy, because the thread keeps writing and compacting.
 */
#include "module_state.h"
#include "argcheck.h"

#include <errno.h>
#include <math.h>

#include "sampler.h"

typedef struct {
    PyObject_HEAD
    dprof_sampler *engine;   /* owned; NULL only if construction failed */
} SamplerObject;

typedef struct {
    PyObject_HEAD
    dprof_colbuf *buf;       /* one reference, or NULL for an empty column */
    const double *data;
    Py_ssize_t shape[1];
    Py_ssize_t strides[1];
} ColumnObject;

/* Only the sampler makes columns; Python 3.9 lacks the flag, and a column made
 * there by hand is simply empty. */
#ifdef Py_TPFLAGS_DISALLOW_INSTANTIATION
#define COLUMN_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION)
#else
#define COLUMN_FLAGS Py_TPFLAGS_DEFAULT
#endif

/* ---- errors ---- */

static PyObject *
raise_engine_error(PyObject *self, int err, const char *msg)
{
    PyObject *exc;
    switch (-err) {
    case DPROF_EINVAL: exc = PyExc_ValueError; break;
    case DPROF_ESRCH: exc = PyExc_ProcessLookupError; break;
    case DPROF_ENOMEM: exc = PyExc_MemoryError; break;
    case DPROF_EBUSY: exc = PyExc_RuntimeError; break;
    default: {
        PyObject *module = self ? PyType_GetModule(Py_TYPE(self)) : NULL;
        exc = module ? dprof_get_state(module)->error : PyExc_RuntimeError;
        if (exc == NULL) {
            PyErr_Clear();
            exc = PyExc_RuntimeError;
        }
    }
    }
    PyErr_SetString(exc, msg);
    return NULL;
}

/* ---- _SamplerColumn ---- */

static int
column_getbuffer(PyObject *op, Py_buffer *view, int flags)
{
    ColumnObject *self = (ColumnObject *)op;
    static const double empty = 0.0;
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "sampler columns are read-only");
        view->obj = NULL;
        return -1;
    }
    view->obj = Py_NewRef(op);
    view->buf = (void *)(self->data ? self->data : &empty);
    view->len = self->shape[0] * (Py_ssize_t)sizeof(double);
    view->readonly = 1;
    view->itemsize = sizeof(double);
    view->format = (flags & PyBUF_FORMAT) ? "d" : NULL;
    view->ndim = 1;
    view->shape = (flags & PyBUF_ND) ? self->shape : NULL;
    view->strides = ((flags & PyBUF_STRIDES) == PyBUF_STRIDES) ? self->strides : NULL;
    view->suboffsets = NULL;
    view->internal = NULL;
    return 0;
}

static void
column_dealloc(PyObject *op)
{
    ColumnObject *self = (ColumnObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    dprof_colbuf_release(self->buf);
    tp->tp_free(op);
    Py_DECREF(tp);   /* instances of heap types own a reference to their type */
}

PyDoc_STRVAR(column_doc,
"Read-only float64 buffer over one column of a Sampler's samples.\n"
"\n"
"Made by Sampler.columns(); wrap it in memoryview() or numpy.asarray().");

static PyType_Slot column_slots[] = {
    {Py_tp_doc, (void *)column_doc},
    {Py_tp_dealloc, column_dealloc},
    {Py_bf_getbuffer, column_getbuffer},
    {0, NULL},
};

static PyType_Spec column_spec = {
    .name = "dprof._native._SamplerColumn",
    .basicsize = sizeof(ColumnObject),
    .flags = COLUMN_FLAGS,
    .slots = column_slots,
};

/* ---- Sampler ---- */

static PyObject *
sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"pid", "interval", "capacity", "children", NULL};
    dprof_sampler_config cfg = {0, 0.01, 65536, 0};
    Py_ssize_t capacity = 65536;
    char msg[DPROF_SAMPLER_MSG_LEN];
    int err = 0;
    SamplerObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|idnp:Sampler", kwlist, &cfg.pid,
                                     &cfg.interval, &capacity, &cfg.children)) {
        return NULL;
    }
    if (capacity <= 0) {
        PyErr_Format(PyExc_ValueError, "capacity must be > 0 samples, got %zd", capacity);
        return NULL;
    }
    /* Under 1 ms the thread would do little but read /proc (a sample costs about
     * 5 us, and 1e-9 made it spin); the engine itself only needs > 0. */
    if (dprof_check_range("interval", cfg.interval, DPROF_INTERVAL_MIN, DPROF_INTERVAL_MAX,
                          " seconds") < 0) {
        return NULL;
    }
    cfg.capacity = (size_t)capacity;
    self = (SamplerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->engine = dprof_sampler_new(&cfg, &err, msg, sizeof(msg));
    if (self->engine == NULL) {
        raise_engine_error((PyObject *)self, err, msg);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
sampler_dealloc(PyObject *op)
{
    SamplerObject *self = (SamplerObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    if (self->engine != NULL) {
        dprof_sampler *engine = self->engine;
        self->engine = NULL;
        /* Joining may wait one sleep slice (50 ms); the engine touches no Python
         * object, and nothing else can reach this object any more. */
        Py_BEGIN_ALLOW_THREADS
        dprof_sampler_free(engine);
        Py_END_ALLOW_THREADS
    }
    tp->tp_free(op);
    Py_DECREF(tp);
}

PyDoc_STRVAR(sampler_start_doc,
"start()\n--\n\n"
"Start sampling in a native thread: fresh arrays of `capacity` samples are\n"
"allocated (views from earlier columns() calls keep their old data).\n"
"Raises RuntimeError if already running, ProcessLookupError if the process\n"
"cannot be read.");

static PyObject *
sampler_start(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    SamplerObject *self = (SamplerObject *)op;
    char msg[DPROF_SAMPLER_MSG_LEN];
    int rc;
    /* The GIL is released: opening readers may take long (NVML), and the
     * engine neither touches Python objects nor waits for the GIL. The caller's
     * reference keeps self (and so the engine) alive during the call. */
    Py_BEGIN_ALLOW_THREADS
    rc = dprof_sampler_start(self->engine, msg, sizeof(msg));
    Py_END_ALLOW_THREADS
    if (rc < 0) {
        if (rc == -DPROF_ENOMEM) {
            return PyErr_NoMemory();
        }
        return raise_engine_error(op, rc == -ENOENT ? -DPROF_ESRCH : rc, msg);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(sampler_stop_doc,
"stop()\n--\n\n"
"Stop sampling and join the thread (returns within one sample plus 50 ms).\n"
"Does nothing if not running.");

static PyObject *
sampler_stop(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    SamplerObject *self = (SamplerObject *)op;
    /* Safe without the GIL: the sampler thread never takes it, so joining it
     * while holding the GIL would only stall other Python threads. */
    Py_BEGIN_ALLOW_THREADS
    dprof_sampler_stop(self->engine);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* A dict {column: float} from one engine row. New reference or NULL. */
static PyObject *
row_to_dict(const double row[DPROF_COL__COUNT])
{
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        PyObject *value = PyFloat_FromDouble(row[c]);
        if (value == NULL || PyDict_SetItemString(dict, dprof_column_names[c], value) < 0) {
            Py_XDECREF(value);
            Py_DECREF(dict);
            return NULL;
        }
        Py_DECREF(value);
    }
    return dict;
}

PyDoc_STRVAR(sampler_sample_once_doc,
"sample_once()\n--\n\n"
"Take one sample now, synchronously, and return it as {column: float}\n"
"(NaN where missing). It is not stored. Raises ProcessLookupError if the\n"
"process has exited.");

static PyObject *
sampler_sample_once(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    SamplerObject *self = (SamplerObject *)op;
    double row[DPROF_COL__COUNT];
    char msg[DPROF_SAMPLER_MSG_LEN];
    /* Kept under the GIL: it costs microseconds, and at worst waits for the
     * sampler thread to finish one sample (that thread never needs the GIL). */
    int rc = dprof_sampler_sample_once(self->engine, row, msg, sizeof(msg));
    if (rc < 0) {
        return raise_engine_error(op, rc == -ESRCH || rc == -ENOENT ? -DPROF_ESRCH : rc, msg);
    }
    return row_to_dict(row);
}

PyDoc_STRVAR(sampler_count_since_doc,
"count_since(since)\n--\n\n"
"Return how many of the samples held have a timestamp >= since (CLOCK_MONOTONIC\n"
"seconds): a cheap check before asking for columns(since=...).");

static PyObject *
sampler_count_since(PyObject *op, PyObject *arg)
{
    SamplerObject *self = (SamplerObject *)op;
    double since = PyFloat_AsDouble(arg);
    if (since == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    if (isnan(since)) {
        PyErr_SetString(PyExc_ValueError, "count_since(): since must be a number, not NaN");
        return NULL;
    }
    return PyLong_FromSize_t(dprof_sampler_count_since(self->engine, since));
}

PyDoc_STRVAR(sampler_columns_doc,
"columns(since=None)\n--\n\n"
"Return {column: memoryview} of format 'd' (float64), one entry per column,\n"
"each as long as the samples held (only those with timestamp >= since when\n"
"since is given, in CLOCK_MONOTONIC seconds). When stopped the views share\n"
"the sampler's own arrays (zero-copy) and stay valid after a restart; while\n"
"running they are over a snapshot copy of just the samples returned.");

static PyObject *
sampler_columns(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"since", NULL};
    SamplerObject *self = (SamplerObject *)op;
    PyObject *module, *dict = NULL, *since_obj = Py_None;
    PyTypeObject *column_type;   /* borrowed from module state */
    dprof_colbuf *buf;
    size_t samples = 0, first = 0;
    double since = -INFINITY;
    int err;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:columns", kwlist, &since_obj)) {
        return NULL;
    }
    if (since_obj != Py_None) {
        since = PyFloat_AsDouble(since_obj);
        if (since == -1.0 && PyErr_Occurred()) {
            return NULL;
        }
        if (isnan(since)) {
            PyErr_SetString(PyExc_ValueError, "columns(): since must be a number, not NaN");
            return NULL;
        }
    }

    module = PyType_GetModule(Py_TYPE(op));   /* borrowed */
    if (module == NULL) {
        return NULL;
    }
    column_type = (PyTypeObject *)dprof_get_state(module)->types[DPROF_TYPE_SAMPLER_COLUMN];
    if (column_type == NULL) {   /* module state cleared: the interpreter is exiting */
        PyErr_SetString(PyExc_RuntimeError, "dprof._native is being torn down");
        return NULL;
    }
    buf = dprof_sampler_columns(self->engine, since, &first, &samples, &err);   /* ours */
    if (err < 0) {
        return PyErr_NoMemory();
    }
    dict = PyDict_New();
    if (dict == NULL) {
        goto error;
    }
    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        ColumnObject *col = (ColumnObject *)column_type->tp_alloc(column_type, 0);
        PyObject *view;
        if (col == NULL) {
            goto error;
        }
        if (buf != NULL) {
            /* Each column object owns one reference to the block. */
            col->buf = dprof_colbuf_ref(buf);
            col->data = dprof_colbuf_column(buf, c) + first;
        }
        col->shape[0] = (Py_ssize_t)samples;
        col->strides[0] = sizeof(double);
        view = PyMemoryView_FromObject((PyObject *)col);
        Py_DECREF(col);   /* the memoryview holds it now */
        if (view == NULL) {
            goto error;
        }
        if (PyDict_SetItemString(dict, dprof_column_names[c], view) < 0) {
            Py_DECREF(view);
            goto error;
        }
        Py_DECREF(view);
    }
    dprof_colbuf_release(buf);
    return dict;
error:
    dprof_colbuf_release(buf);
    Py_XDECREF(dict);
    return NULL;
}

PyDoc_STRVAR(sampler_missing_doc,
"missing()\n--\n\n"
"Return {column: reason} for the columns this system cannot give (they are\n"
"NaN in every sample), e.g. GPU columns without NVML, cgroup v2 columns on a\n"
"cgroup v1 system, iowait_delayacct_s with kernel delay accounting off.");

static PyObject *
sampler_missing(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    SamplerObject *self = (SamplerObject *)op;
    char reason[DPROF_SAMPLER_MSG_LEN];
    PyObject *dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        PyObject *text;
        int rc = dprof_sampler_missing(self->engine, c, reason, sizeof(reason));
        if (rc < 0) {
            Py_DECREF(dict);
            return raise_engine_error(op, rc == -ENOENT || rc == -ESRCH ? -DPROF_ESRCH : rc,
                                      reason);
        }
        if (rc == 0) {
            continue;
        }
        text = PyUnicode_DecodeUTF8(reason, (Py_ssize_t)strlen(reason), "replace");
        if (text == NULL || PyDict_SetItemString(dict, dprof_column_names[c], text) < 0) {
            Py_XDECREF(text);
            Py_DECREF(dict);
            return NULL;
        }
        Py_DECREF(text);
    }
    return dict;
}

/* Sets dict[key] = value and drops the reference to value (which may be NULL
 * after a failed constructor). Returns 0 or -1. */
static int
set_steal(PyObject *dict, const char *key, PyObject *value)
{
    int rc;
    if (value == NULL) {
        return -1;
    }
    rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *
float_or_none(double v)
{
    if (isnan(v)) {
        Py_RETURN_NONE;
    }
    return PyFloat_FromDouble(v);
}

PyDoc_STRVAR(sampler_info_doc,
"info()\n--\n\n"
"Return a dict describing the run: samples (held), taken (total), interval\n"
"(effective, after overflow halving), requested_interval, capacity,\n"
"overflow_halvings, errors (count), last_error (str or None), started_at and\n"
"stopped_at (CLOCK_MONOTONIC seconds or None), io_wait_source ('delayacct' or\n"
"'dstate_samples'), pid, children, running, sample_cost_ns_mean and\n"
"sample_cost_ns_max (cost of one sample as timed by the sampler thread, None\n"
"before any), full_sample_cost_ns_mean and fast_sample_cost_ns_mean (the same\n"
"split by kind: full samples read every file, fast ones only\n"
"/proc/PID/{stat,statm,io}), sampler_thread_cpu_s (CPU time of the last\n"
"finished thread).");

static PyObject *
sampler_info(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    SamplerObject *self = (SamplerObject *)op;
    dprof_sampler_info info;
    char unused[DPROF_SAMPLER_MSG_LEN];
    PyObject *dict;
    /* io_wait_source depends on the kernel setting read when the readers open. */
    (void)dprof_sampler_missing(self->engine, DPROF_COL_TIMESTAMP, unused, sizeof(unused));
    dprof_sampler_get_info(self->engine, &info);
    dict = PyDict_New();
    if (dict == NULL) {
        return NULL;
    }
    if (set_steal(dict, "samples", PyLong_FromSize_t(info.samples)) < 0
        || set_steal(dict, "taken", PyLong_FromSize_t(info.taken)) < 0
        || set_steal(dict, "interval", PyFloat_FromDouble(info.interval)) < 0
        || set_steal(dict, "requested_interval", PyFloat_FromDouble(info.requested_interval)) < 0
        || set_steal(dict, "capacity", PyLong_FromSize_t(info.capacity)) < 0
        || set_steal(dict, "overflow_halvings", PyLong_FromUnsignedLong(info.overflow_halvings)) < 0
        || set_steal(dict, "errors", PyLong_FromUnsignedLongLong(info.errors)) < 0
        || set_steal(dict, "last_error",
                     info.has_last_error
                         ? PyUnicode_DecodeUTF8(info.last_error, (Py_ssize_t)strlen(info.last_error),
                                                "replace")
                         : Py_NewRef(Py_None)) < 0
        || set_steal(dict, "started_at", float_or_none(info.started_at)) < 0
        || set_steal(dict, "stopped_at", float_or_none(info.stopped_at)) < 0
        || set_steal(dict, "io_wait_source",
                     PyUnicode_FromString(info.io_wait_delayacct ? "delayacct" : "dstate_samples")) < 0
        || set_steal(dict, "pid", PyLong_FromLong(info.pid)) < 0
        || set_steal(dict, "children", PyBool_FromLong(info.children)) < 0
        || set_steal(dict, "running", PyBool_FromLong(info.running)) < 0
        || set_steal(dict, "sample_cost_ns_mean", float_or_none(info.sample_cost_ns_mean)) < 0
        || set_steal(dict, "sample_cost_ns_max", float_or_none(info.sample_cost_ns_max)) < 0
        || set_steal(dict, "full_sample_cost_ns_mean", float_or_none(info.full_cost_ns_mean)) < 0
        || set_steal(dict, "fast_sample_cost_ns_mean", float_or_none(info.fast_cost_ns_mean)) < 0
        || set_steal(dict, "sampler_thread_cpu_s", PyFloat_FromDouble(info.thread_cpu_s)) < 0) {
        Py_DECREF(dict);
        return NULL;
    }
    return dict;
}

static PyObject *
sampler_get_running(PyObject *op, void *Py_UNUSED(closure))
{
    SamplerObject *self = (SamplerObject *)op;
    return PyBool_FromLong(dprof_sampler_running(self->engine));
}

static PyObject *
sampler_get_column_names(PyObject *Py_UNUSED(op), void *Py_UNUSED(closure))
{
    PyObject *names = PyTuple_New(DPROF_COL__COUNT);
    if (names == NULL) {
        return NULL;
    }
    for (int c = 0; c < DPROF_COL__COUNT; c++) {
        PyObject *name = PyUnicode_FromString(dprof_column_names[c]);
        if (name == NULL) {
            Py_DECREF(names);
            return NULL;
        }
        PyTuple_SET_ITEM(names, c, name);   /* steals name */
    }
    return names;
}

static PyMethodDef sampler_methods[] = {
    {"start", sampler_start, METH_NOARGS, sampler_start_doc},
    {"stop", sampler_stop, METH_NOARGS, sampler_stop_doc},
    {"sample_once", sampler_sample_once, METH_NOARGS, sampler_sample_once_doc},
    {"count_since", sampler_count_since, METH_O, sampler_count_since_doc},
    {"columns", (PyCFunction)(void (*)(void))sampler_columns, METH_VARARGS | METH_KEYWORDS,
     sampler_columns_doc},
    {"missing", sampler_missing, METH_NOARGS, sampler_missing_doc},
    {"info", sampler_info, METH_NOARGS, sampler_info_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"running", sampler_get_running, NULL,
     PyDoc_STR("True while the sampler thread runs (False after stop(), after a\n"
               "fork in the child, or once the sampled process has exited)."),
     NULL},
    {"column_names", sampler_get_column_names, NULL,
     PyDoc_STR("Tuple of the column names, in storage order."), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(sampler_doc,
"Sampler(pid=0, interval=0.01, capacity=65536, children=False)\n"
"--\n\n"
"Native sampler of the resources of one process (0 = this one), and of its\n"
"descendants when children is true, every `interval` seconds into\n"
"preallocated float64 columns of `capacity` samples. When full it keeps every\n"
"second sample and doubles its interval. The thread never takes the GIL.\n"
"\n"
"Raises ValueError for an interval outside 0.001..3600 s, capacity <= 0 or\n"
"pid < 0, and\n"
"ProcessLookupError for a pid that does not exist.");

static PyType_Slot sampler_slots[] = {
    {Py_tp_doc, (void *)sampler_doc},
    {Py_tp_new, sampler_new},
    {Py_tp_dealloc, sampler_dealloc},
    {Py_tp_methods, sampler_methods},
    {Py_tp_getset, sampler_getset},
    {0, NULL},
};

/* Not subclassable, so PyType_GetModule(Py_TYPE(self)) always finds the module. */
static PyType_Spec sampler_spec = {
    .name = "dprof._native.Sampler",
    .basicsize = sizeof(SamplerObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = sampler_slots,
};

int
dprof_sampler_register(PyObject *module, dprof_state *state)
{
    PyObject *column_type;
    PyObject *sampler_type = PyType_FromModuleAndSpec(module, &sampler_spec, NULL);
    if (sampler_type == NULL) {
        return -1;
    }
    state->types[DPROF_TYPE_SAMPLER] = sampler_type;   /* state owns this reference */
    if (PyModule_AddObjectRef(module, "Sampler", sampler_type) < 0) {
        return -1;
    }
    column_type = PyType_FromModuleAndSpec(module, &column_spec, NULL);
    if (column_type == NULL) {
        return -1;
    }
    state->types[DPROF_TYPE_SAMPLER_COLUMN] = column_type;   /* state owns this reference */
    /* Still a module attribute (the stub names it), but columns() uses the state. */
    if (PyModule_AddObjectRef(module, "_SamplerColumn", column_type) < 0) {
        return -1;
    }
    return 0;
}
