/* The object sorts (see sorts_objects.h): three instantiations of
 * sorts_template.h on PyObject * arrays that differ only in how two elements are
 * compared, chosen once per sort after a type check of the whole list, as
 * list.sort does. The template only moves pointers, so no reference count
 * changes: the caller's array owns every reference throughout. */
#include "sorts_objects.h"

#include <string.h>

/* Both exact str of kind PyUnicode_1BYTE_KIND: code points are bytes, so memcmp
 * of the common prefix, then the shorter is smaller (list.sort's
 * unsafe_latin_compare does the same). Cannot fail. */
static inline int
latin_less(PyObject *x, PyObject *y)
{
    Py_ssize_t lx = PyUnicode_GET_LENGTH(x), ly = PyUnicode_GET_LENGTH(y);
    int r = memcmp(PyUnicode_1BYTE_DATA(x), PyUnicode_1BYTE_DATA(y),
                   (size_t)(lx < ly ? lx : ly));
    return r != 0 ? r < 0 : lx < ly;
}

/* Both exact str: code point order. PyUnicode_Compare fails only on non-str. */
static inline int
str_less(PyObject *x, PyObject *y)
{
    int r = PyUnicode_Compare(x, y);
    if (r == -1 && PyErr_Occurred()) {
        return -1;
    }
    return r < 0;
}

/* A one-token name, so that `SORT_T x, y;` declares two pointers. */
typedef PyObject *dprof_objptr;

#define SORT_T dprof_objptr
#define SORT_SUFFIX obj_latin
#define SORT_LESS(ctx, x, y) latin_less((x), (y))
#define SORT_CAN_FAIL 0
#include "sorts_template.h"

#define SORT_T dprof_objptr
#define SORT_SUFFIX obj_str
#define SORT_LESS(ctx, x, y) str_less((x), (y))
#define SORT_CAN_FAIL 1
#include "sorts_template.h"

/* x < y as Python says it: may run __lt__ (and __gt__ reflected), may raise. */
#define SORT_T dprof_objptr
#define SORT_SUFFIX obj_rich
#define SORT_LESS(ctx, x, y) PyObject_RichCompareBool((x), (y), Py_LT)
#define SORT_CAN_FAIL 1
#include "sorts_template.h"

int
dprof_sort_objects(dprof_sort_algo algo, dprof_obj_compare how, PyObject **items,
                   size_t n, dprof_sort_ctx *ctx)
{
    if (algo == DPROF_SORT_COUNTING || algo == DPROF_SORT_RADIX) {
        return DPROF_SORT_UNSUPPORTED;
    }
    switch (how) {
    case DPROF_OBJ_LATIN:
        return dprof_sort_run_obj_latin(algo, items, n, ctx);
    case DPROF_OBJ_STR:
        return dprof_sort_run_obj_str(algo, items, n, ctx);
    case DPROF_OBJ_RICH:
    default:
        return dprof_sort_run_obj_rich(algo, items, n, ctx);
    }
}
