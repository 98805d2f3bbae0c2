/* dprof._native.series_stats: the Python binding of series_stats.c.
 *
 * Converts buffers and arguments, runs the engine without the GIL and builds the
 * result dict. The statistics themselves live in series_stats.c (no Python.h).
 */
#include "buffer_format.h"
#include "module_state.h"
#include "series_stats.h"

#include <math.h>
#include <string.h>

/* Is `format` (a struct-module format string, NULL meaning "B") a native-endian
 * float64? */
static int
is_float64_format(const char *format)
{
    /* NULL means plain bytes ("B"), which is not float64 either */
    return strcmp(dprof_format_native_body(format), "d") == 0;
}

/* Acquire a read-only, one-dimensional, C-contiguous float64 view of obj.
 * Returns 0 with `view` held (release with PyBuffer_Release), or -1 with an
 * exception set that names the argument and what was wrong. */
static int
get_float64_buffer(PyObject *obj, const char *name, Py_buffer *view)
{
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be a buffer of float64 (numpy array, array('d'), "
                     "memoryview), not %.100s", name, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_FORMAT | PyBUF_STRIDES) < 0) {
        return -1;
    }
    if (!is_float64_format(view->format) || view->itemsize != (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_TypeError,
                     "%s must hold float64 (buffer format 'd'), got format '%.20s' "
                     "with item size %zd", name, view->format ? view->format : "B",
                     view->itemsize);
        goto error;
    }
    if (view->ndim != 1) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be one-dimensional, got %d dimensions", name, view->ndim);
        goto error;
    }
    if (!PyBuffer_IsContiguous(view, 'C')) {
        PyErr_Format(PyExc_TypeError,
                     "%s must be contiguous, got a strided buffer "
                     "(numpy.ascontiguousarray makes a contiguous copy)", name);
        goto error;
    }
    return 0;

error:
    PyBuffer_Release(view);
    return -1;
}

/* Set dict[key] to a float, or to None when the value is NaN (missing). */
static int
set_number(PyObject *dict, const char *key, double value)
{
    PyObject *obj = isnan(value) ? Py_NewRef(Py_None) : PyFloat_FromDouble(value);
    if (obj == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(dict, key, obj);
    Py_DECREF(obj);
    return rc;
}

static int
set_size(PyObject *dict, const char *key, size_t value)
{
    PyObject *obj = PyLong_FromSize_t(value);
    if (obj == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(dict, key, obj);
    Py_DECREF(obj);
    return rc;
}

PyDoc_STRVAR(series_stats_doc,
"series_stats(values, timestamps=None, percentiles=(50, 90, 95, 99), counter=False) -> dict\n"
"\n"
"Statistics of a float64 series (any C-contiguous 1-D buffer of format 'd':\n"
"numpy array, array('d'), memoryview). NaN values are skipped; a statistic that\n"
"is undefined for what is left is None, never 0.\n"
"\n"
"Keys: count (non-NaN values), mean, min, max, stdev (SAMPLE standard\n"
"deviation, ddof=1; None for fewer than two values), ddof (always 1),\n"
"percentiles ({q: value} for each q of `percentiles`, q in [0, 100], linear\n"
"interpolation as numpy.percentile's default method).\n"
"\n"
"With counter=True, `values` is a cumulative counter read at `timestamps`\n"
"(seconds, same length; required) and the dict also has: delta (last - first),\n"
"elapsed_s, rate_per_s (delta / elapsed_s) and max_rate_per_s (largest rate\n"
"between consecutive samples), over samples where both are non-NaN.");

static PyObject *
series_stats(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"values", "timestamps", "percentiles", "counter", NULL};
    PyObject *values_obj, *timestamps_obj = Py_None, *percentiles_obj = NULL;
    int counter = 0;
    Py_buffer values = {0}, timestamps = {0};
    int have_values = 0, have_timestamps = 0;
    PyObject *qseq = NULL;          /* new ref: fast sequence of the percentile keys */
    double *qs = NULL, *qout = NULL, *scratch = NULL;
    Py_ssize_t nq = 0;
    PyObject *result = NULL, *pdict = NULL;
    (void)module;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|OOp:series_stats", kwlist,
                                     &values_obj, &timestamps_obj, &percentiles_obj,
                                     &counter)) {
        return NULL;
    }
    if (get_float64_buffer(values_obj, "values", &values) < 0) {
        goto error;
    }
    have_values = 1;
    if (timestamps_obj != Py_None) {
        if (get_float64_buffer(timestamps_obj, "timestamps", &timestamps) < 0) {
            goto error;
        }
        have_timestamps = 1;
        if (timestamps.shape[0] != values.shape[0]) {
            PyErr_Format(PyExc_ValueError,
                         "timestamps has %zd items but values has %zd; they must match",
                         timestamps.shape[0], values.shape[0]);
            goto error;
        }
    }
    if (counter && !have_timestamps) {
        PyErr_SetString(PyExc_ValueError, "counter=True needs timestamps");
        goto error;
    }

    if (percentiles_obj == NULL) {
        qseq = Py_BuildValue("(iiii)", 50, 90, 95, 99);
    }
    else {
        qseq = PySequence_Fast(percentiles_obj,
                               "percentiles must be a sequence of numbers in [0, 100]");
        /* A tuple: converting an item may run Python code (__float__) that changes
         * a list under the loops below, leaving `nq` and borrowed items stale. */
        if (qseq != NULL && PyList_Check(qseq)) {
            PyObject *tuple = PyList_AsTuple(qseq);   /* new */
            Py_DECREF(qseq);
            qseq = tuple;
        }
    }
    if (qseq == NULL) {
        goto error;
    }
    nq = PySequence_Fast_GET_SIZE(qseq);
    qs = PyMem_Malloc(sizeof(double) * (size_t)(nq ? nq : 1));
    qout = PyMem_Malloc(sizeof(double) * (size_t)(nq ? nq : 1));
    if (qs == NULL || qout == NULL) {
        PyErr_NoMemory();
        goto error;
    }
    for (Py_ssize_t i = 0; i < nq; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(qseq, i);   /* borrowed */
        double q = PyFloat_AsDouble(item);
        if (q == -1.0 && PyErr_Occurred()) {
            goto error;
        }
        if (!(q >= 0.0 && q <= 100.0)) {   /* also rejects NaN */
            PyErr_Format(PyExc_ValueError,
                         "percentiles must be in [0, 100], got %R", item);
            goto error;
        }
        qs[i] = q;
    }

    size_t n = (size_t)values.shape[0];
    if (nq > 0 && n > 0) {
        /* Raw allocator: callable without the GIL, but we allocate here anyway. */
        scratch = PyMem_RawMalloc(sizeof(double) * n);
        if (scratch == NULL) {
            PyErr_NoMemory();
            goto error;
        }
    }

    dprof_series_summary summary;
    dprof_series_rate rate = {0};
    const double *vdata = (const double *)values.buf;
    const double *tdata = have_timestamps ? (const double *)timestamps.buf : NULL;
    /* The GIL is released for the whole computation. That is safe because the
     * exported buffers stay valid while we hold them (an exporter may not free or
     * resize memory while a view is held: bytearray and array refuse to resize,
     * numpy refuses to resize an array with exports), `scratch`, `qs` and `qout`
     * are ours, and the engine touches no Python object. Another thread may still
     * write into a mutable buffer meanwhile; the answer then reflects a mix of old
     * and new values, but every access stays in bounds. */
    Py_BEGIN_ALLOW_THREADS
    dprof_series_summarize(vdata, n, &summary);
    if (scratch != NULL) {
        size_t m = dprof_series_compact(vdata, n, scratch);
        dprof_series_percentiles(scratch, m, qs, (size_t)nq, qout);
    }
    else {
        for (Py_ssize_t i = 0; i < nq; i++) {
            qout[i] = NAN;
        }
    }
    if (counter) {
        dprof_series_counter_rate(vdata, tdata, n, &rate);
    }
    Py_END_ALLOW_THREADS

    result = PyDict_New();
    if (result == NULL) {
        goto error;
    }
    if (set_size(result, "count", summary.count) < 0
        || set_number(result, "mean", summary.mean) < 0
        || set_number(result, "min", summary.min) < 0
        || set_number(result, "max", summary.max) < 0
        || set_number(result, "stdev", summary.stdev) < 0
        || set_size(result, "ddof", 1) < 0) {
        goto error;
    }
    pdict = PyDict_New();
    if (pdict == NULL) {
        goto error;
    }
    for (Py_ssize_t i = 0; i < nq; i++) {
        PyObject *key = PySequence_Fast_GET_ITEM(qseq, i);   /* borrowed */
        PyObject *val = isnan(qout[i]) ? Py_NewRef(Py_None) : PyFloat_FromDouble(qout[i]);
        if (val == NULL) {
            goto error;
        }
        int rc = PyDict_SetItem(pdict, key, val);
        Py_DECREF(val);
        if (rc < 0) {
            goto error;
        }
    }
    if (PyDict_SetItemString(result, "percentiles", pdict) < 0) {
        goto error;
    }
    if (counter) {
        if (set_number(result, "delta", rate.delta) < 0
            || set_number(result, "elapsed_s", rate.elapsed) < 0
            || set_number(result, "rate_per_s", rate.rate) < 0
            || set_number(result, "max_rate_per_s", rate.max_rate) < 0) {
            goto error;
        }
    }
    Py_DECREF(pdict);
    goto done;

error:
    Py_CLEAR(result);
    Py_XDECREF(pdict);
done:
    PyMem_RawFree(scratch);
    PyMem_Free(qs);
    PyMem_Free(qout);
    Py_XDECREF(qseq);
    if (have_timestamps) {
        PyBuffer_Release(&timestamps);
    }
    if (have_values) {
        PyBuffer_Release(&values);
    }
    return result;
}

static PyMethodDef stats_methods[] = {
    {"series_stats", (PyCFunction)(void (*)(void))series_stats,
     METH_VARARGS | METH_KEYWORDS, series_stats_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_stats_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, stats_methods);
}
