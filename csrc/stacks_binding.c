/* Python binding of the stack sampler and the call-tree aggregator.
 *
 * dprof._native.StackSampler(hz, jitter, overhead_budget, call_opcodes)
 *     .start(), .stop() -> (StackTable, stats dict), .running
 * dprof._native.StackTable()
 *     .add(thread_id, frames, category, seconds, samples=1), .merge(other),
 *     .to_data() -> (frames, stacks, rows)
 * dprof._native.stack_code_lines(code), stack_frame_layout(): the GIL-free reader's
 *     line table and field offsets, for the tests
 *
 * Only plain data crosses: tuples of str/int/float. dprof/stacks/sampler.py and
 * dprof/stacks/native.py build StackProfile objects from them.
 */
#include "module_state.h"
#include "argcheck.h"
#include "calltree.h"
#include "stack_sampler.h"
#include "stacks.h"
#include "frame_layout.h"
#include "frame_reader.h"
#include "thread_pause.h"
#include <time.h>

#include <stdio.h>
#include <string.h>

/* ---- StackTable ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    dprof_calltree *ct;     /* owned */
} StackTableObject;

static PyObject *
table_wrap(PyTypeObject *type, dprof_calltree *ct)
{
    /* Takes ownership of ct (frees it on failure). */
    StackTableObject *self = (StackTableObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        dprof_calltree_free(ct);
        return NULL;
    }
    self->ct = ct;
    return (PyObject *)self;
}

static PyObject *
table_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":StackTable", kwlist)) {
        return NULL;
    }
    dprof_calltree *ct = dprof_calltree_new();
    if (ct == NULL) {
        return PyErr_NoMemory();
    }
    return table_wrap(type, ct);
}

static void
table_dealloc(PyObject *op)
{
    StackTableObject *self = (StackTableObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    dprof_calltree_free(self->ct);
    tp->tp_free(op);
    Py_DECREF(tp);   /* instances of heap types own a reference to their type */
}

static int32_t
intern_py_string(dprof_calltree *ct, PyObject *obj, const char *what)
{
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "frame %s must be str, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t len;
    const char *s = PyUnicode_AsUTF8AndSize(obj, &len);
    if (s == NULL) {
        return -1;
    }
    int32_t id = dprof_calltree_intern_string(ct, s, (size_t)len);
    if (id < 0) {
        PyErr_NoMemory();
    }
    return id;
}

static PyObject *
table_add(PyObject *op, PyObject *args, PyObject *kwargs)
{
    StackTableObject *self = (StackTableObject *)op;
    static char *kwlist[] = {"thread_id", "frames", "category", "seconds", "samples",
                             NULL};
    unsigned long long tid, samples = 1;
    PyObject *frames;
    int category;
    double seconds;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KOid|K:add", kwlist, &tid, &frames,
                                     &category, &seconds, &samples)) {
        return NULL;
    }
    if (category < 0 || category >= DPROF_CAT__COUNT) {
        PyErr_Format(PyExc_ValueError, "category index must be in [0, %d), got %d",
                     DPROF_CAT__COUNT, category);
        return NULL;
    }
    PyObject *seq = PySequence_Fast(frames, "frames must be a sequence of "
                                            "(filename, function, line)");   /* new */
    if (seq == NULL) {
        return NULL;
    }
    /* Work on a tuple: converting a line number may run Python code (__index__)
     * that changes a list under the loop, leaving `n` and borrowed items stale. */
    if (PyList_Check(seq)) {
        PyObject *tuple = PyList_AsTuple(seq);   /* new */
        Py_DECREF(seq);
        if (tuple == NULL) {
            return NULL;
        }
        seq = tuple;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int32_t *ids = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    if (ids == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);     /* borrowed */
        PyObject *fname, *func;
        int line;
        if (!PyTuple_Check(item)
            || !PyArg_ParseTuple(item, "OOi", &fname, &func, &line)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError,
                                "each frame must be a (filename, function, line) tuple");
            }
            goto error;
        }
        int32_t fs = intern_py_string(self->ct, fname, "filename");
        if (fs < 0) {
            goto error;
        }
        int32_t ns = intern_py_string(self->ct, func, "function");
        if (ns < 0) {
            goto error;
        }
        ids[i] = dprof_calltree_intern_frame(self->ct, fs, ns, line);
        if (ids[i] < 0) {
            PyErr_NoMemory();
            goto error;
        }
    }
    int32_t sid = dprof_calltree_intern_stack(self->ct, ids, (size_t)n);
    if (sid < 0 || dprof_calltree_add(self->ct, tid, sid, category, samples, seconds) < 0) {
        PyErr_NoMemory();
        goto error;
    }
    PyMem_Free(ids);
    Py_DECREF(seq);
    Py_RETURN_NONE;
error:
    PyMem_Free(ids);
    Py_DECREF(seq);
    return NULL;
}

static int
check_table(PyObject *obj, PyTypeObject *type, const char *what)
{
    if (!PyObject_TypeCheck(obj, type)) {
        PyErr_Format(PyExc_TypeError, "%s must be a StackTable, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

static PyObject *
table_merge(PyObject *op, PyObject *other)
{
    StackTableObject *self = (StackTableObject *)op;
    if (check_table(other, Py_TYPE(op), "other") < 0) {
        return NULL;
    }
    if (dprof_calltree_merge(self->ct, ((StackTableObject *)other)->ct) < 0) {
        return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* (frames list, stacks list) of a table, as new references in the out pointers. */
static int
frames_and_stacks(const dprof_calltree *ct, PyObject **frames_out, PyObject **stacks_out)
{
    size_t nf = dprof_calltree_nframes(ct), ns = dprof_calltree_nstacks(ct);
    PyObject *frames = PyList_New((Py_ssize_t)nf);
    PyObject *stacks = PyList_New((Py_ssize_t)ns);
    if (frames == NULL || stacks == NULL) {
        goto error;
    }
    for (size_t i = 0; i < nf; i++) {
        const dprof_ct_frame *f = dprof_calltree_frame(ct, (int32_t)i);
        size_t flen, nlen;
        const char *fname = dprof_calltree_string(ct, f->filename, &flen);
        const char *func = dprof_calltree_string(ct, f->function, &nlen);
        PyObject *t = Py_BuildValue("(s#s#i)", fname, (Py_ssize_t)flen, func,
                                    (Py_ssize_t)nlen, f->line);
        if (t == NULL) {
            goto error;
        }
        PyList_SET_ITEM(frames, (Py_ssize_t)i, t);     /* steals t */
    }
    for (size_t i = 0; i < ns; i++) {
        size_t depth;
        const int32_t *ids = dprof_calltree_stack(ct, (int32_t)i, &depth);
        PyObject *t = PyTuple_New((Py_ssize_t)depth);
        if (t == NULL) {
            goto error;
        }
        PyList_SET_ITEM(stacks, (Py_ssize_t)i, t);     /* steals t */
        for (size_t d = 0; d < depth; d++) {
            PyObject *v = PyLong_FromLong(ids[d]);
            if (v == NULL) {
                goto error;
            }
            PyTuple_SET_ITEM(t, (Py_ssize_t)d, v);
        }
    }
    *frames_out = frames;
    *stacks_out = stacks;
    return 0;
error:
    Py_XDECREF(frames);
    Py_XDECREF(stacks);
    return -1;
}

static PyObject *
table_to_data(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    StackTableObject *self = (StackTableObject *)op;
    PyObject *frames = NULL, *stacks = NULL, *rows = NULL;
    if (frames_and_stacks(self->ct, &frames, &stacks) < 0) {
        return NULL;
    }
    size_t nr = dprof_calltree_nrows(self->ct);
    rows = PyList_New((Py_ssize_t)nr);
    if (rows == NULL) {
        goto error;
    }
    for (size_t i = 0; i < nr; i++) {
        const dprof_ct_row *r = dprof_calltree_row(self->ct, i);
        PyObject *t = Py_BuildValue("(KiiKd)", (unsigned long long)r->thread_id,
                                    r->stack_id, r->category,
                                    (unsigned long long)r->samples, r->seconds);
        if (t == NULL) {
            goto error;
        }
        PyList_SET_ITEM(rows, (Py_ssize_t)i, t);
    }
    return Py_BuildValue("(NNN)", frames, stacks, rows);   /* steals all three */
error:
    Py_XDECREF(frames);
    Py_XDECREF(stacks);
    Py_XDECREF(rows);
    return NULL;
}

static PyMethodDef table_methods[] = {
    {"add", (PyCFunction)(void (*)(void))table_add, METH_VARARGS | METH_KEYWORDS,
     "add(thread_id, frames, category, seconds, samples=1)\n--\n\n"
     "Add observations of one stack: frames are (filename, function, line) tuples,\n"
     "root first; category is an index into dprof.stacks.CATEGORIES."},
    {"merge", table_merge, METH_O,
     "merge(other)\n--\n\nAdd every row of other to this table (by content)."},
    {"to_data", table_to_data, METH_NOARGS,
     "to_data()\n--\n\nReturn (frames, stacks, rows): frames as (filename, function,\n"
     "line), stacks as tuples of frame ids root first, rows as (thread_id, stack_id,\n"
     "category_index, samples, seconds)."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot table_slots[] = {
    {Py_tp_doc, "StackTable()\n--\n\nInterned frames and stacks with aggregated rows."},
    {Py_tp_new, table_new},
    {Py_tp_dealloc, table_dealloc},
    {Py_tp_methods, table_methods},
    {0, NULL},
};

static PyType_Spec table_spec = {
    .name = "dprof._native.StackTable",
    .basicsize = sizeof(StackTableObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = table_slots,
};

/* ---- StackSampler ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    dprof_stack_sampler *sampler;   /* owned; NULL only if construction failed */
    PyObject *table_type;           /* strong ref to StackTable, for stop(): it keeps
                                     * working while the module is being torn down */
} StackSamplerObject;

static PyObject *
sampler_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"hz", "jitter", "overhead_budget", "call_opcodes", NULL};
    double hz, jitter, budget;
    Py_buffer ops;
    StackSamplerObject *self = NULL;
    PyObject *module;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "dddy*:StackSampler", kwlist, &hz,
                                     &jitter, &budget, &ops)) {
        return NULL;
    }
    /* hz >= 1 keeps the period (1e9 / hz ns) far inside uint64_t; the Python
     * StackSampler allows 1 to 10,000 (the rate the budget can hold). */
    if (dprof_check_range("hz", hz, DPROF_STACK_HZ_MIN, DPROF_STACK_HZ_MAX,
                          " samples per second") < 0
        || dprof_check_below("jitter", jitter, 0.0, 1.0) < 0
        || dprof_check_below("overhead_budget", budget, 0.0, 1.0) < 0) {
        goto done;
    }
    if (ops.len != 256) {
        PyErr_Format(PyExc_ValueError, "call_opcodes must be 256 bytes (one flag per "
                     "opcode), got %zd", ops.len);
        goto done;
    }
    module = PyType_GetModule(type);     /* borrowed */
    if (module == NULL) {
        goto done;
    }
    self = (StackSamplerObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto done;
    }
    self->table_type = Py_NewRef(dprof_get_state(module)->types[DPROF_TYPE_STACK_TABLE]);
    self->sampler = dprof_stack_sampler_new(hz, jitter, budget, ops.buf);
    if (self->sampler == NULL) {
        Py_CLEAR(self);   /* the exception is set by dprof_stack_sampler_new */
    }
done:
    PyBuffer_Release(&ops);
    return (PyObject *)self;
}

static void
sampler_dealloc(PyObject *op)
{
    StackSamplerObject *self = (StackSamplerObject *)op;
    PyTypeObject *tp = Py_TYPE(op);
    /* Stops a running sampler first (joining its thread with the GIL released). */
    dprof_stack_sampler_free(self->sampler);
    Py_XDECREF(self->table_type);
    tp->tp_free(op);
    Py_DECREF(tp);
}

static PyObject *
sampler_start(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    StackSamplerObject *self = (StackSamplerObject *)op;
    if (dprof_stack_sampler_start(self->sampler) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The stats dict of a stopped sampler, with its thread names. New reference or NULL.
 * Must run before the table is taken: the names' strings live in it. */
static PyObject *
stop_stats(dprof_stack_sampler *sampler)
{
    const dprof_stack_sampler_stats *st = dprof_stack_sampler_get_stats(sampler);
    const dprof_calltree *table = dprof_stack_sampler_peek_table(sampler);
    PyObject *stats = NULL, *first_error = NULL, *names = NULL;
    size_t nnames;
    const dprof_thread_name *name = dprof_stack_sampler_thread_names(sampler, &nnames);

    /* The message was cut to a fixed size, maybe inside a UTF-8 sequence. */
    first_error = PyUnicode_DecodeUTF8(st->first_error, (Py_ssize_t)strlen(st->first_error),
                                       "replace");
    if (first_error == NULL) {
        goto error;
    }
    stats = Py_BuildValue(
        "{s:d,s:K,s:K,s:d,s:d,s:d,s:d,s:d,s:K,s:K,s:O,s:O,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:d,s:d,s:s,s:s}",
        "duration_seconds", (double)st->duration_ns / 1e9,
        "ticks", (unsigned long long)st->ticks,
        "thread_samples", (unsigned long long)st->thread_samples,
        "gil_hold_seconds", (double)st->gil_hold_ns / 1e9,
        "sampler_cpu_seconds", (double)st->sampler_cpu_ns / 1e9,
        "overhead_seconds", (double)st->overhead_ns / 1e9,
        "gil_wait_seconds", (double)st->gil_wait_ns / 1e9,
        "last_period_seconds", (double)st->last_period_ns / 1e9,
        "truncated_stacks", (unsigned long long)st->truncated_stacks,
        "errors", (unsigned long long)st->errors,
        "forked", st->forked ? Py_True : Py_False,
        "first_error", first_error,
        "gil_free_samples", (unsigned long long)st->gil_free_samples,
        "gil_new_thread_samples", (unsigned long long)st->gil_new_thread,
        "gil_new_code_samples", (unsigned long long)st->gil_new_code,
        "gil_invalid_samples", (unsigned long long)st->gil_invalid,
        "new_code_charged_at_read", (unsigned long long)st->new_code_charged_at_read,
        "gil_ticks", (unsigned long long)st->gil_ticks,
        "thread_list_walks", (unsigned long long)st->thread_list_walks,
        "older_chunk_reads", (unsigned long long)st->older_chunk_reads,
        "paused_samples", (unsigned long long)st->paused_samples,
        "pause_missed", (unsigned long long)st->pause_missed,
        "pause_overran", (unsigned long long)st->pause_overran,
        "off_cpu_samples", (unsigned long long)st->off_cpu_samples,
        "off_cpu_raced", (unsigned long long)st->off_cpu_raced,
        "pause_held_seconds", (double)st->pause_held_ns / 1e9,
        "pause_handler_seconds", (double)st->pause_handler_ns / 1e9,
        "pause_answer_seconds", (double)st->pause_answer_ns / 1e9,
        "reader", st->reader != NULL ? st->reader : "",
        "pause", st->pause != NULL ? st->pause : "");
    if (stats == NULL) {
        goto error;
    }
    names = PyDict_New();
    if (names == NULL) {
        goto error;
    }
    for (size_t i = 0; i < nnames; i++) {
        size_t len;
        const char *str;
        PyObject *k, *v;
        int rc;
        if (name[i].name < 0) {
            continue;
        }
        str = dprof_calltree_string(table, name[i].name, &len);
        k = PyLong_FromUnsignedLongLong(name[i].tid);
        v = PyUnicode_DecodeUTF8(str, (Py_ssize_t)len, "replace");
        rc = (k == NULL || v == NULL) ? -1 : PyDict_SetItem(names, k, v);
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (rc < 0) {
            goto error;
        }
    }
    if (PyDict_SetItemString(stats, "thread_names", names) < 0) {
        goto error;
    }
    Py_DECREF(names);
    Py_DECREF(first_error);
    return stats;
error:
    Py_XDECREF(names);
    Py_XDECREF(stats);
    Py_XDECREF(first_error);
    return NULL;
}

static PyObject *
sampler_stop(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    StackSamplerObject *self = (StackSamplerObject *)op;
    PyObject *stats, *table;
    dprof_calltree *ct;

    if (dprof_stack_sampler_stop(self->sampler) < 0) {
        return NULL;
    }
    stats = stop_stats(self->sampler);
    if (stats == NULL) {
        return NULL;
    }
    ct = dprof_stack_sampler_take_table(self->sampler);   /* ours from here on */
    if (ct == NULL) {
        Py_DECREF(stats);
        return NULL;
    }
    table = table_wrap((PyTypeObject *)self->table_type, ct);   /* takes ct */
    if (table == NULL) {
        Py_DECREF(stats);
        return NULL;
    }
    return Py_BuildValue("(NN)", table, stats);   /* steals both */
}

static PyObject *
sampler_get_running(PyObject *op, void *Py_UNUSED(closure))
{
    StackSamplerObject *self = (StackSamplerObject *)op;
    return PyBool_FromLong(dprof_stack_sampler_running(self->sampler));
}

static PyMethodDef sampler_methods[] = {
    {"start", sampler_start, METH_NOARGS,
     "start()\n--\n\nStart the sampling thread."},
    {"stop", sampler_stop, METH_NOARGS,
     "stop()\n--\n\nStop sampling; return (StackTable, stats dict)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef sampler_getset[] = {
    {"running", sampler_get_running, NULL, "Whether the thread samples.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot sampler_slots[] = {
    {Py_tp_doc, "StackSampler(hz, jitter, overhead_budget, call_opcodes)\n--\n\n"
                "Native sampler of the Python stacks of every thread. ValueError for hz\n"
                "outside 1..100000, or jitter or overhead_budget outside [0, 1)."},
    {Py_tp_new, sampler_new},
    {Py_tp_dealloc, sampler_dealloc},
    {Py_tp_methods, sampler_methods},
    {Py_tp_getset, sampler_getset},
    {0, NULL},
};

static PyType_Spec sampler_spec = {
    .name = "dprof._native.StackSampler",
    .basicsize = sizeof(StackSamplerObject),
    .flags = Py_TPFLAGS_DEFAULT,
    .slots = sampler_slots,
};

static PyObject *
stack_code_lines(PyObject *module, PyObject *code)
{
    (void)module;
    if (!PyCode_Check(code)) {
        PyErr_Format(PyExc_TypeError, "expected a code object, not %.100s",
                     Py_TYPE(code)->tp_name);
        return NULL;
    }
    int32_t *lines;
    Py_ssize_t n;
    if (dprof_stack_code_lines(code, &lines, &n) < 0) {
        return NULL;
    }
    PyObject *out = PyTuple_New(n);
    for (Py_ssize_t i = 0; out != NULL && i < n; i++) {
        PyObject *v = PyLong_FromLong(lines[i]);
        if (v == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyTuple_SET_ITEM(out, i, v);    /* steals v */
    }
    PyMem_RawFree(lines);
    return out;
}

static PyObject *
stack_frame_layout(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    const dprof_frame_layout *L = dprof_frame_layout_get();
    if (L->kind == DPROF_LAYOUT_NONE) {
        return Py_BuildValue("{s:s,s:i}", "name", L->name, "kind", L->kind);
    }
    return Py_BuildValue(
        "{s:s,s:i,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n,s:n}",
        "name", L->name, "kind", L->kind,
        "interp_threads_head", (Py_ssize_t)L->interp_threads_head,
        "tstate_next", (Py_ssize_t)L->tstate_next,
        "tstate_interp", (Py_ssize_t)L->tstate_interp,
        "tstate_thread_id", (Py_ssize_t)L->tstate_thread_id,
        "tstate_native_id", (Py_ssize_t)L->tstate_native_id,
        "tstate_cframe", (Py_ssize_t)L->tstate_cframe,
        "tstate_frame", (Py_ssize_t)L->tstate_frame,
        "frame_size", (Py_ssize_t)L->frame_size,
        "frame_code", (Py_ssize_t)L->frame_code,
        "frame_previous", (Py_ssize_t)L->frame_previous,
        "frame_instr", (Py_ssize_t)L->frame_instr,
        "frame_owner", (Py_ssize_t)L->frame_owner,
        "code_units", (Py_ssize_t)L->code_units);
}

/* For the tests: the periods the overhead budget gives to a sequence of ticks. */
static PyObject *
stack_budget_periods(PyObject *module, PyObject *args)
{
    (void)module;
    double budget, base;
    PyObject *ticks;
    if (!PyArg_ParseTuple(args, "ddO:stack_budget_periods", &budget, &base, &ticks)) {
        return NULL;
    }
    if (!(budget >= 0.0 && budget <= 1.0) || !(base >= 1.0 && base <= 1e12)) {
        PyErr_Format(PyExc_ValueError, "stack_budget_periods: budget must be in [0, 1] and "
                     "the base period in [1, 1e12] ns, got %R and %R",
                     PyTuple_GET_ITEM(args, 0), PyTuple_GET_ITEM(args, 1));
        return NULL;
    }
    PyObject *seq = PySequence_Fast(ticks, "stack_budget_periods: ticks must be a sequence "
                                    "of (start_ns, cost_ns) pairs");      /* new ref */
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    dprof_budget b;
    dprof_budget_init(&b, budget, (uint64_t)base);
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long start = 0, cost = 0;
        PyObject *pair = PySequence_Fast_GET_ITEM(seq, i);      /* borrowed */
        int ok = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2
                 && PyLong_Check(PyTuple_GET_ITEM(pair, 0))
                 && PyLong_Check(PyTuple_GET_ITEM(pair, 1));
        if (ok) {
            /* OverflowError for a negative or too large value */
            start = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(pair, 0));
            cost = start == (unsigned long long)-1 && PyErr_Occurred()
                ? 0 : PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(pair, 1));
            ok = !PyErr_Occurred();
        }
        if (!ok) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "stack_budget_periods: ticks[%zd] must be a "
                         "(start_ns, cost_ns) tuple of ints in [0, 2**64), got %R", i, pair);
            Py_DECREF(out);
            Py_DECREF(seq);
            return NULL;
        }
        PyObject *v = PyLong_FromUnsignedLongLong(dprof_budget_update(&b, start, cost));
        if (v == NULL) {
            Py_DECREF(out);
            Py_DECREF(seq);
            return NULL;
        }
        PyList_SET_ITEM(out, i, v);     /* steals v */
    }
    Py_DECREF(seq);
    return out;
}

/* For the tests: holds thread `tid` still for `hold` seconds as the sampler would
 * for a read (thread_pause.h), and says whether it was held, whether it was still
 * held at the end (no: the handler gave up, after DPROF_PAUSE_HOLD_MAX_NS), and how
 * much CPU time the thread used while held (its handler's spin only, if it was). */
static PyObject *
stack_pause_probe(PyObject *module, PyObject *args)
{
    (void)module;
    int tid;
    double hold;
    if (!PyArg_ParseTuple(args, "id:stack_pause_probe", &tid, &hold)) {
        return NULL;
    }
    if (tid <= 0 || !(hold >= 0 && hold <= 1)) {
        char shown[32];     /* PyErr_Format has no %g */
        (void)snprintf(shown, sizeof shown, "%g", hold);
        PyErr_Format(PyExc_ValueError, "stack_pause_probe: tid must be a positive TID "
                     "and hold in [0, 1] seconds, not %d and %s", tid, shown);
        return NULL;
    }
    const char *why;
    if (dprof_pause_install(&why) < 0) {
        PyErr_Format(PyExc_OSError, "stack_pause_probe: pausing is off: %s", why);
        return NULL;
    }
    /* the thread's CPU clock by TID, as stacks.c builds it */
    clockid_t cid = (clockid_t)((~(unsigned)tid << 3) | 6);
    struct timespec a = {0, 0}, b = {0, 0};
    int held, still_held = 0, clock_ok = 1;
    Py_BEGIN_ALLOW_THREADS
    held = dprof_pause_thread(dprof_self_pid(), (pid_t)tid);
    if (held) {
        clock_ok = clock_gettime(cid, &a) == 0;
        uint64_t end = dprof_now_ns() + (uint64_t)(hold * 1e9);
        while (dprof_now_ns() < end) {
            struct timespec nap = {0, 100000};
            nanosleep(&nap, NULL);
        }
        clock_ok = clock_ok && clock_gettime(cid, &b) == 0;
        still_held = dprof_pause_release((pid_t)tid);
    }
    Py_END_ALLOW_THREADS
    double ran = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    return Py_BuildValue("{s:O,s:O,s:d,s:i}", "held", held ? Py_True : Py_False,
                         "still_held", still_held ? Py_True : Py_False,
                         "cpu_while_held", clock_ok ? ran : -1.0,
                         "signal", dprof_pause_signal());
}

static PyMethodDef stacks_functions[] = {
    {"stack_pause_probe", stack_pause_probe, METH_VARARGS,
     "stack_pause_probe(tid, hold, /)\n--\n\nHolds thread `tid` still for `hold` seconds\n"
     "as the stack sampler does for a read; for the tests."},
    {"stack_budget_periods", stack_budget_periods, METH_VARARGS,
     "stack_budget_periods(budget, base_period_ns, ticks, /)\n--\n\nThe period (ns) the\n"
     "sampler's overhead budget sets after each (start_ns, cost_ns) tick; for the tests."},
    {"stack_code_lines", stack_code_lines, METH_O,
     "stack_code_lines(code, /)\n--\n\nThe line of each code unit of `code` as the GIL-free\n"
     "stack reader maps it (-1: none); computed like PyCode_Addr2Line."},
    {"stack_frame_layout", stack_frame_layout, METH_NOARGS,
     "stack_frame_layout()\n--\n\nThe field offsets the GIL-free stack reader uses on this\n"
     "interpreter (-1 as a huge number: absent), with the layout's name and kind."},
    {NULL, NULL, 0, NULL},
};

int
dprof_stacks_register(PyObject *module, dprof_state *state)
{
    PyObject *t = PyType_FromModuleAndSpec(module, &table_spec, NULL);
    if (t == NULL) {
        return -1;
    }
    state->types[DPROF_TYPE_STACK_TABLE] = t;      /* state owns this reference */
    if (PyModule_AddObjectRef(module, "StackTable", t) < 0) {
        return -1;
    }
    PyObject *s = PyType_FromModuleAndSpec(module, &sampler_spec, NULL);
    if (s == NULL) {
        return -1;
    }
    state->types[DPROF_TYPE_STACK_SAMPLER] = s;
    if (PyModule_AddObjectRef(module, "StackSampler", s) < 0) {
        return -1;
    }
    return PyModule_AddFunctions(module, stacks_functions);
}
