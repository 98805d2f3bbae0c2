/* dprof._native sort functions: sort_algorithms, sort_list, sort_buffer.
 *
 * The binding of the sort engines (sorts_numeric.c, no Python.h; sorts_objects.c
 * for Python objects). It checks and converts arguments, picks the engine for a
 * list after one type scan (as list.sort does), releases the GIL around every
 * sort that touches no Python object, and turns the counts into a dict. The
 * algorithms and their counting rules are in sorts_template.h and
 * docs/algorithms-native.md.
 */
#include "buffer_format.h"
#include "module_state.h"
#include "sorts.h"
#include "sorts_objects.h"

#include <stdint.h>
#include <string.h>

/* ---- arguments ------------------------------------------------------------ */

/* "a, b, c" of a name table, for error messages. Returns a new str or NULL. */
static PyObject *
names_joined(const char *const *names, int count)
{
    PyObject *list = PyList_New(0), *sep = NULL, *joined = NULL;
    if (list == NULL) {
        return NULL;
    }
    for (int i = 0; i < count; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            goto done;
        }
        Py_DECREF(s);
    }
    sep = PyUnicode_FromString(", ");
    if (sep != NULL) {
        joined = PyUnicode_Join(sep, list);
    }
done:
    Py_XDECREF(sep);
    Py_DECREF(list);
    return joined;
}

static int
unknown_name(const char *what, const char *name, const char *const *names, int count)
{
    PyObject *valid = names_joined(names, count);
    if (valid != NULL) {
        PyErr_Format(PyExc_ValueError, "unknown %s '%.100s'; valid: %U", what, name, valid);
        Py_DECREF(valid);
    }
    return -1;
}

/* Parses the (algorithm, pivot, seed) arguments into ctx; `seed` is borrowed and may
 * be NULL (not given: 0). Returns the algorithm, or -1 with ValueError/TypeError set. */
static int
parse_common(const char *algorithm, const char *pivot, PyObject *seed, dprof_sort_ctx *ctx)
{
    int algo = dprof_sort_algo_from_name(algorithm);
    if (algo < 0) {
        return unknown_name("sort algorithm", algorithm, dprof_sort_algo_names,
                            DPROF_SORT__COUNT);
    }
    int piv = dprof_sort_pivot_from_name(pivot);
    if (piv < 0) {
        return unknown_name("pivot strategy", pivot, dprof_sort_pivot_names,
                            DPROF_PIVOT__COUNT);
    }
    unsigned long long s = 0;
    if (seed != NULL) {
        if (!PyLong_Check(seed)) {
            PyErr_Format(PyExc_TypeError, "seed must be an int, not %.100s",
                         Py_TYPE(seed)->tp_name);
            return -1;
        }
        /* Any int: taken modulo 2^64, as the twin's `seed & (2**64 - 1)`. */
        s = PyLong_AsUnsignedLongLongMask(seed);
        if (s == (unsigned long long)-1 && PyErr_Occurred()) {
            return -1;
        }
    }
    memset(ctx, 0, sizeof *ctx);
    ctx->pivot = (dprof_sort_pivot)piv;
    ctx->rng = (uint64_t)s;
    return algo;
}

static PyObject *
counts_dict(const dprof_sort_counts *c)
{
    return Py_BuildValue("{sKsKsKsKsK}",
                         "comparisons", (unsigned long long)c->comparisons,
                         "swaps", (unsigned long long)c->swaps,
                         "moves", (unsigned long long)c->moves,
                         "reads", (unsigned long long)c->reads,
                         "writes", (unsigned long long)c->writes);
}

/* Sets the exception of an engine status other than OK / CMP_ERROR. */
static void
set_status_error(int status, int algo, size_t n, const dprof_sort_ctx *ctx)
{
    switch (status) {
    case DPROF_SORT_NOMEM:
        PyErr_NoMemory();
        break;
    case DPROF_SORT_RANGE:
        PyErr_Format(PyExc_ValueError,
                     "%s: the values span %llu + 1 distinct keys, too wide for %zu "
                     "elements (its count array may hold at most %llu keys: 16 per "
                     "element + 2^20); use radix_sort",
                     dprof_sort_algo_names[algo], (unsigned long long)ctx->span, n,
                     (unsigned long long)dprof_counting_span_limit(n));
        break;
    case DPROF_SORT_UNSUPPORTED:
    default:
        PyErr_Format(PyExc_SystemError, "%s: engine refused the input (status %d)",
                     dprof_sort_algo_names[algo], status);
        break;
    }
}

/* ---- sort_algorithms ---------------------------------------------------------- */

PyDoc_STRVAR(sort_algorithms_doc,
"sort_algorithms() -> tuple[str, ...]\n"
"\n"
"Names of the sort algorithms the native engine implements.");

static PyObject *
sort_algorithms(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyObject *t = PyTuple_New(DPROF_SORT__COUNT);
    if (t == NULL) {
        return NULL;
    }
    for (int i = 0; i < DPROF_SORT__COUNT; i++) {
        PyObject *s = PyUnicode_FromString(dprof_sort_algo_names[i]);
        if (s == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, s);   /* steals s */
    }
    return t;
}

/* ---- sort_list ---------------------------------------------------------------- */

/* What one scan of a list's elements found. */
typedef struct {
    int all_int64;      /* every element an exact int in [INT64_MIN, INT64_MAX] */
    int all_number;     /* every element an exact int with |v| <= 2^53, or a float */
    int all_str;        /* every element an exact str */
    int all_latin;      /* ... of PyUnicode_1BYTE_KIND */
} list_kinds;

#define EXACT_DOUBLE_INT ((long long)1 << 53)

static void
scan_kinds(PyObject **items, Py_ssize_t n, list_kinds *k)
{
    k->all_int64 = k->all_number = k->all_str = k->all_latin = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = items[i];
        if (PyLong_CheckExact(x)) {
            int overflow = 0;
            long long v = PyLong_AsLongLongAndOverflow(x, &overflow); /* no error
                                                                 for an exact int */
            if (overflow) {
                k->all_int64 = 0;
                k->all_number = 0;
            }
            else if (v > EXACT_DOUBLE_INT || v < -EXACT_DOUBLE_INT) {
                k->all_number = 0;
            }
            k->all_str = k->all_latin = 0;
        }
        else if (PyFloat_CheckExact(x)) {
            k->all_int64 = 0;
            k->all_str = k->all_latin = 0;
        }
        else if (PyUnicode_CheckExact(x)) {
            k->all_int64 = k->all_number = 0;
            if (PyUnicode_KIND(x) != PyUnicode_1BYTE_KIND) {
                k->all_latin = 0;
            }
        }
        else {
            k->all_int64 = k->all_number = k->all_str = k->all_latin = 0;
        }
        if (!k->all_int64 && !k->all_number && !k->all_str) {
            return;
        }
    }
}

_Static_assert(sizeof(dprof_sort_pair_i64) == sizeof(dprof_sort_pair_f64),
               "sort_keyed allocates one size for both pair types");

/* Sorts items through int64 or float64 (key, item) pairs without the GIL. The
 * keys are read with the GIL held; the engine then touches only the pairs, and
 * the items (borrowed from the detached list array, which nobody else can reach)
 * are written back in their new order after the GIL is taken again. */
static int
sort_keyed(int algo, PyObject **items, Py_ssize_t n, int as_int, dprof_sort_ctx *ctx)
{
    size_t un = (size_t)n;
    int status;
    if (un > SIZE_MAX / sizeof(dprof_sort_pair_i64)) {
        PyErr_NoMemory();
        return -1;
    }
    /* Raw allocator: the pairs are only touched by the engine without the GIL
     * (allocated and freed here, with it). Both pair types are 16 bytes. */
    void *pairs = PyMem_RawMalloc((un ? un : 1) * sizeof(dprof_sort_pair_i64));
    if (pairs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (as_int) {
        dprof_sort_pair_i64 *p = pairs;
        for (Py_ssize_t i = 0; i < n; i++) {
            int overflow = 0;
            /* Cannot fail or overflow: every item was checked to be an int
             * within int64 by the caller. */
            p[i].key = PyLong_AsLongLongAndOverflow(items[i], &overflow);
            p[i].item = items[i];
        }
        Py_BEGIN_ALLOW_THREADS
        status = dprof_sort_pairs_i64((dprof_sort_algo)algo, p, un, ctx);
        Py_END_ALLOW_THREADS
        if (status == DPROF_SORT_OK) {
            for (Py_ssize_t i = 0; i < n; i++) {
                items[i] = p[i].item;
            }
        }
    }
    else {
        dprof_sort_pair_f64 *p = pairs;
        for (Py_ssize_t i = 0; i < n; i++) {
            /* exact ints here are within 2^53, so the conversion is exact and
             * the double comparisons give what Python's int/float < gives */
            p[i].key = PyFloat_CheckExact(items[i]) ? PyFloat_AS_DOUBLE(items[i])
                                                   : (double)PyLong_AsLongLong(items[i]);
            p[i].item = items[i];
        }
        Py_BEGIN_ALLOW_THREADS
        status = dprof_sort_pairs_f64((dprof_sort_algo)algo, p, un, ctx);
        Py_END_ALLOW_THREADS
        if (status == DPROF_SORT_OK) {
            for (Py_ssize_t i = 0; i < n; i++) {
                items[i] = p[i].item;
            }
        }
    }
    PyMem_RawFree(pairs);
    if (status != DPROF_SORT_OK) {
        set_status_error(status, algo, un, ctx);
        return -1;
    }
    return 0;
}

/* Counting and radix sort of a list: every element must be an int (bool and
 * other int subclasses are ints) within int64; sorted as (key, item) pairs,
 * stably, without the GIL. */
static int
sort_int_keys(int algo, PyObject **items, Py_ssize_t n, dprof_sort_ctx *ctx)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyLong_Check(items[i])) {
            PyErr_Format(PyExc_TypeError,
                         "%s sorts ints only; element %zd is a %.100s",
                         dprof_sort_algo_names[algo], i, Py_TYPE(items[i])->tp_name);
            return -1;
        }
        int overflow = 0;
        (void)PyLong_AsLongLongAndOverflow(items[i], &overflow);
        if (overflow) {
            PyErr_Format(PyExc_OverflowError,
                         "%s sorts ints that fit in int64; element %zd (%.100s) is "
                         "out of [-2^63, 2^63 - 1]",
                         dprof_sort_algo_names[algo], i, Py_TYPE(items[i])->tp_name);
            return -1;
        }
    }
    return sort_keyed(algo, items, n, 1, ctx);
}

PyDoc_STRVAR(sort_list_doc,
"sort_list(algorithm, items, pivot='median', seed=0) -> dict\n"
"\n"
"Sorts the list `items` in place with one of sort_algorithms() and returns its\n"
"operation counts: {'comparisons', 'swaps', 'moves', 'reads', 'writes'}.\n"
"Elements compare with `<`; lists of only ints (within int64), only floats\n"
"(or ints within 2^53 mixed with floats) sort as numbers without the GIL, lists\n"
"of str by code point, anything else through PyObject_RichCompare. counting_sort\n"
"and radix_sort take ints within int64 only. `pivot` (quick_sort: first, last,\n"
"random, median) and `seed` (the random pivot's splitmix64 seed, modulo 2^64)\n"
"are checked for every algorithm. If a comparison raises, the exception\n"
"propagates and `items` holds a permutation of its elements.");

static PyObject *
sort_list(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"algorithm", "items", "pivot", "seed", NULL};
    const char *algorithm, *pivot = "median";
    PyObject *list, *seed = NULL;
    dprof_sort_ctx ctx;
    (void)module;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|sO:sort_list", kwlist,
                                     &algorithm, &list, &pivot, &seed)) {
        return NULL;
    }
    int algo = parse_common(algorithm, pivot, seed, &ctx);
    if (algo < 0) {
        return NULL;
    }
    if (!PyList_Check(list)) {
        PyErr_Format(PyExc_TypeError,
                     "sort_list sorts a list, not %.100s (sort_buffer takes buffers)",
                     Py_TYPE(list)->tp_name);
        return NULL;
    }

    /* Detach the list's item array for the duration of the sort, as list.sort
     * does: comparisons may run Python code that mutates the list, and it must
     * see an empty list rather than free elements under us. The array keeps
     * owning its references; the engines only permute pointers. */
    PyListObject *lo = (PyListObject *)list;
    Py_ssize_t n = Py_SIZE(lo);
    PyObject **items = lo->ob_item;
    Py_ssize_t allocated = lo->allocated;
    Py_SET_SIZE(lo, 0);
    lo->ob_item = NULL;
    lo->allocated = -1;   /* any list operation resets it: mutation detector */

    int rc = 0;
    if (algo == DPROF_SORT_COUNTING || algo == DPROF_SORT_RADIX) {
        rc = sort_int_keys(algo, items, n, &ctx);
    }
    else {
        list_kinds kinds;
        scan_kinds(items, n, &kinds);
        if (kinds.all_int64 || kinds.all_number) {
            rc = sort_keyed(algo, items, n, kinds.all_int64, &ctx);
        }
        else {
            dprof_obj_compare how = kinds.all_latin ? DPROF_OBJ_LATIN
                                    : kinds.all_str ? DPROF_OBJ_STR : DPROF_OBJ_RICH;
            int status = dprof_sort_objects((dprof_sort_algo)algo, how, items,
                                            (size_t)n, &ctx);
            if (status == DPROF_SORT_CMP_ERROR) {
                rc = -1;      /* the comparison's exception is set */
            }
            else if (status != DPROF_SORT_OK) {
                set_status_error(status, algo, (size_t)n, &ctx);
                rc = -1;
            }
        }
    }

    /* Reattach. Whatever the list was given meanwhile is dropped (list.sort does
     * the same) and reported, unless an exception is already on its way. */
    PyObject **meanwhile = lo->ob_item;
    Py_ssize_t meanwhile_n = Py_SIZE(lo);
    int modified = lo->allocated != -1;
    Py_SET_SIZE(lo, n);
    lo->ob_item = items;
    lo->allocated = allocated;
    if (meanwhile != NULL) {
        for (Py_ssize_t i = meanwhile_n; --i >= 0;) {
            Py_XDECREF(meanwhile[i]);
        }
        PyMem_Free(meanwhile);
    }
    if (modified && rc == 0) {
        PyErr_SetString(PyExc_ValueError, "list modified during sort");
        rc = -1;
    }
    if (rc < 0) {
        return NULL;
    }
    return counts_dict(&ctx.counts);
}

/* ---- sort_buffer -------------------------------------------------------------- */

/* The dtype of a struct-module format with the given item size, or -1. Only
 * native byte order: no prefix, '@', '=' or the native one of '<' / '>' / '!'.
 * Signedness and kind come from the letter, the width from the item size (so
 * that '=l', 4 bytes, and '@l', 8 bytes on LP64, both work). */
static int
dtype_of_format(const char *format, Py_ssize_t itemsize)
{
    format = dprof_format_native_body(format);
    if (format[0] == '\0' || format[1] != '\0') {
        return -1;
    }
    int kind;   /* 0 signed, 1 unsigned, 2 float */
    if (strchr("bhilqn", format[0]) != NULL) {
        kind = 0;
    }
    else if (strchr("BHILQN", format[0]) != NULL) {
        kind = 1;
    }
    else if (strchr("fd", format[0]) != NULL) {
        kind = 2;
    }
    else {
        return -1;
    }
    switch (itemsize) {
    case 1:
        return kind == 0 ? DPROF_DTYPE_I8 : kind == 1 ? DPROF_DTYPE_U8 : -1;
    case 2:
        return kind == 0 ? DPROF_DTYPE_I16 : kind == 1 ? DPROF_DTYPE_U16 : -1;
    case 4:
        return kind == 0 ? DPROF_DTYPE_I32 : kind == 1 ? DPROF_DTYPE_U32 : DPROF_DTYPE_F32;
    case 8:
        return kind == 0 ? DPROF_DTYPE_I64 : kind == 1 ? DPROF_DTYPE_U64 : DPROF_DTYPE_F64;
    default:
        return -1;
    }
}

PyDoc_STRVAR(sort_buffer_doc,
"sort_buffer(algorithm, buffer, pivot='median', seed=0) -> dict\n"
"\n"
"Sorts a writable, C-contiguous, 1-D buffer of numbers in place without the GIL\n"
"and returns the operation counts (as sort_list). Formats: b B h H i I l L q Q\n"
"n N f d in native byte order (array.array, NumPy integer and float arrays,\n"
"memoryview). counting_sort and radix_sort take integer formats only. A float\n"
"buffer holding NaN raises ValueError before anything is sorted.");

static PyObject *
sort_buffer(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"algorithm", "buffer", "pivot", "seed", NULL};
    const char *algorithm, *pivot = "median";
    PyObject *obj, *seed = NULL;
    dprof_sort_ctx ctx;
    Py_buffer view;
    PyObject *result = NULL;
    (void)module;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO|sO:sort_buffer", kwlist,
                                     &algorithm, &obj, &pivot, &seed)) {
        return NULL;
    }
    int algo = parse_common(algorithm, pivot, seed, &ctx);
    if (algo < 0) {
        return NULL;
    }
    if (!PyObject_CheckBuffer(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "sort_buffer needs a buffer of numbers (numpy array, array.array, "
                     "memoryview), not %.100s (sort_list takes lists)",
                     Py_TYPE(obj)->tp_name);
        return NULL;
    }
    /* Asked read-only first, so that a read-only buffer gets our message. */
    if (PyObject_GetBuffer(obj, &view, PyBUF_FORMAT | PyBUF_STRIDES) < 0) {
        return NULL;
    }
    if (view.readonly) {
        PyErr_Format(PyExc_TypeError,
                     "sort_buffer sorts in place and needs a writable buffer; this "
                     "%.100s is read-only", Py_TYPE(obj)->tp_name);
        goto done;
    }
    if (view.ndim != 1) {
        PyErr_Format(PyExc_ValueError,
                     "sort_buffer needs a one-dimensional buffer, got %d dimensions",
                     view.ndim);
        goto done;
    }
    if (!PyBuffer_IsContiguous(&view, 'C')) {
        PyErr_SetString(PyExc_ValueError,
                        "sort_buffer needs a contiguous buffer, got a strided one "
                        "(numpy.ascontiguousarray makes a contiguous copy)");
        goto done;
    }
    int dtype = dtype_of_format(view.format, view.itemsize);
    if (dtype < 0) {
        PyErr_Format(PyExc_TypeError,
                     "sort_buffer: unsupported buffer format '%.20s' (item size %zd); "
                     "supported: b B h H i I l L q Q n N f d in native byte order",
                     view.format ? view.format : "B", view.itemsize);
        goto done;
    }
    if ((algo == DPROF_SORT_COUNTING || algo == DPROF_SORT_RADIX)
        && dprof_sort_dtype_is_float((dprof_sort_dtype)dtype)) {
        PyErr_Format(PyExc_TypeError,
                     "%s sorts integers only; the buffer holds floats (format '%.20s')",
                     dprof_sort_algo_names[algo], view.format);
        goto done;
    }

    size_t n = (size_t)view.shape[0];
    size_t nan_at = n;
    int status;
    /* Without the GIL: the engine touches only the exported memory, which the
     * exporter may neither free nor resize while the view is held (array.array
     * and numpy refuse to resize an exported buffer). */
    Py_BEGIN_ALLOW_THREADS
    nan_at = dprof_sort_find_nan((dprof_sort_dtype)dtype, view.buf, n);
    status = nan_at < n ? DPROF_SORT_OK
                        : dprof_sort_numeric((dprof_sort_algo)algo,
                                             (dprof_sort_dtype)dtype, view.buf, n, &ctx);
    Py_END_ALLOW_THREADS
    if (nan_at < n) {
        PyErr_Format(PyExc_ValueError,
                     "sort_buffer: the buffer holds NaN at index %zu; NaN has no "
                     "order, nothing was sorted", nan_at);
        goto done;
    }
    if (status != DPROF_SORT_OK) {
        set_status_error(status, algo, n, &ctx);
        goto done;
    }
    result = counts_dict(&ctx.counts);

done:
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef sorts_methods[] = {
    {"sort_algorithms", sort_algorithms, METH_NOARGS, sort_algorithms_doc},
    {"sort_list", (PyCFunction)(void (*)(void))sort_list, METH_VARARGS | METH_KEYWORDS,
     sort_list_doc},
    {"sort_buffer", (PyCFunction)(void (*)(void))sort_buffer,
     METH_VARARGS | METH_KEYWORDS, sort_buffer_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_sorts_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, sorts_methods);
}
