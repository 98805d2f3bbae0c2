/* Range checks of the numbers the bindings take, with the range and the value in the
 * message. PyErr_Format has no %g (it would print a literal "%g"), so the value is
 * written with PyOS_double_to_string (repr: "1e-11", "inf", "nan"). Include after
 * Python.h; binding files only. */
#ifndef DPROF_ARGCHECK_H
#define DPROF_ARGCHECK_H

#include <Python.h>

/* The documented ranges (docs/reliability.md; dprof/limits.py holds the same). */
#define DPROF_STACK_HZ_MIN 1.0         /* stack samples per second */
#define DPROF_STACK_HZ_MAX 100000.0    /* the C sampler's limit; Python allows 10,000 */
#define DPROF_INTERVAL_MIN 0.001       /* resource sampling interval, seconds */
#define DPROF_INTERVAL_MAX 3600.0

/* 0 when low <= value <= high (NaN is never inside); else -1 with ValueError
 * "WHAT must be from LOW to HIGH UNIT, got VALUE" set. */
static inline int
dprof_check_range(const char *what, double value, double low, double high,
                  const char *unit)
{
    char *low_s, *high_s, *got_s;
    if (value >= low && value <= high) {
        return 0;
    }
    low_s = PyOS_double_to_string(low, 'r', 0, 0, NULL);
    high_s = PyOS_double_to_string(high, 'r', 0, 0, NULL);
    got_s = PyOS_double_to_string(value, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);  /* as repr() */
    if (low_s != NULL && high_s != NULL && got_s != NULL) {
        PyErr_Format(PyExc_ValueError, "%s must be from %s to %s%s, got %s", what, low_s,
                     high_s, unit, got_s);
    } /* else MemoryError is set by PyOS_double_to_string */
    PyMem_Free(low_s);      /* PyMem_Free(NULL) does nothing */
    PyMem_Free(high_s);
    PyMem_Free(got_s);
    return -1;
}

/* The same for a half-open range low <= value < high. */
static inline int
dprof_check_below(const char *what, double value, double low, double high)
{
    char *low_s, *high_s, *got_s;
    if (value >= low && value < high) {
        return 0;
    }
    low_s = PyOS_double_to_string(low, 'r', 0, 0, NULL);
    high_s = PyOS_double_to_string(high, 'r', 0, 0, NULL);
    got_s = PyOS_double_to_string(value, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);  /* as repr() */
    if (low_s != NULL && high_s != NULL && got_s != NULL) {
        PyErr_Format(PyExc_ValueError, "%s must be >= %s and < %s, got %s", what, low_s,
                     high_s, got_s);
    }
    PyMem_Free(low_s);
    PyMem_Free(high_s);
    PyMem_Free(got_s);
    return -1;
}

#endif /* DPROF_ARGCHECK_H */
