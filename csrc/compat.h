/* Back-ports of small public C-API helpers that are missing from the oldest
 * CPython dprof supports (3.9). Include after Python.h. */
#ifndef DPROF_COMPAT_H
#define DPROF_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *
dprof_compat_newref(PyObject *obj)
{
    Py_INCREF(obj);
    return obj;
}
#define Py_NewRef(obj) dprof_compat_newref((PyObject *)(obj))

static inline PyObject *
dprof_compat_xnewref(PyObject *obj)
{
    Py_XINCREF(obj);
    return obj;
}
#define Py_XNewRef(obj) dprof_compat_xnewref((PyObject *)(obj))

/* Like PyModule_AddObject, but never steals: the caller keeps its reference. */
static inline int
PyModule_AddObjectRef(PyObject *module, const char *name, PyObject *value)
{
    if (value == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_SystemError, "PyModule_AddObjectRef() got NULL");
        }
        return -1;
    }
    Py_INCREF(value);
    if (PyModule_AddObject(module, name, value) < 0) {
        Py_DECREF(value);
        return -1;
    }
    return 0;
}
#endif

#endif
