/* The object sorts: sorts_template.h instantiated on arrays of PyObject *, for the
 * lists that the numeric fast paths of sorts_binding.c cannot take (str, and any
 * mutually comparable objects). Called with the GIL held: comparisons may run
 * Python code and may raise. */
#ifndef DPROF_SORTS_OBJECTS_H
#define DPROF_SORTS_OBJECTS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "sorts.h"

typedef enum {
    DPROF_OBJ_LATIN = 0,   /* every element an exact str of 1-byte kind: memcmp */
    DPROF_OBJ_STR,         /* every element an exact str: PyUnicode_Compare */
    DPROF_OBJ_RICH,        /* anything: PyObject_RichCompareBool(x, y, Py_LT) */
} dprof_obj_compare;

/* Sorts items[0, n) (borrowed references, owned by the caller's array) in place.
 * Returns a dprof_sort_status; on DPROF_SORT_CMP_ERROR a Python exception is set
 * and items still holds the same pointers, permuted. Counting and radix sort are
 * not available here (DPROF_SORT_UNSUPPORTED). */
int dprof_sort_objects(dprof_sort_algo algo, dprof_obj_compare how, PyObject **items,
                       size_t n, dprof_sort_ctx *ctx);

#endif
