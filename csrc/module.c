/* dprof._native: the module definition and nothing else.
 *
 * This file holds the module's docstring, its per-module state handling and the
 * exec slot that lets each topic's binding file register its own functions and
 * types. Topic code lives in the other files of csrc/.
 */
#include "module_state.h"

PyDoc_STRVAR(module_doc,
"Native core of dprof: the resource sampler, stack sampling and aggregation,\n"
"series statistics, the allocation counter and the raise counter.\n"
"\n"
"This module is an implementation detail; use the dprof package instead.");

static int
dprof_exec(PyObject *module)
{
    dprof_state *state = dprof_get_state(module);

    /* New reference, kept in module state and handed to the module (which takes
     * its own reference in PyModule_AddObjectRef). */
    state->error = PyErr_NewExceptionWithDoc(
        "dprof._native.NativeError",
        "A failure inside the native core that is not a bad argument.",
        PyExc_RuntimeError, NULL);
    if (state->error == NULL) {
        return -1;
    }
    if (PyModule_AddObjectRef(module, "NativeError", state->error) < 0) {
        return -1;
    }
    if (dprof_sampler_register(module, state) < 0) {
        return -1;
    }
    if (dprof_stats_register(module, state) < 0) {
        return -1;
    }
    if (dprof_allocs_register(module, state) < 0) {
        return -1;
    }
    if (dprof_stacks_register(module, state) < 0) {
        return -1;
    }
    if (dprof_task_register(module, state) < 0) {
        return -1;
    }
    if (dprof_sorts_register(module, state) < 0) {
        return -1;
    }
    if (dprof_raises_register(module, state) < 0) {
        return -1;
    }
    if (dprof_cgroup_register(module, state) < 0) {
        return -1;
    }
    if (dprof_memsample_register(module, state) < 0) {
        return -1;
    }
    return 0;
}

static int
dprof_traverse(PyObject *module, visitproc visit, void *arg)
{
    dprof_state *state = dprof_get_state(module);
    for (int i = 0; i < DPROF_TYPE__COUNT; i++) {
        Py_VISIT(state->types[i]);
    }
    Py_VISIT(state->error);
    return 0;
}

static int
dprof_clear(PyObject *module)
{
    dprof_state *state = dprof_get_state(module);
    for (int i = 0; i < DPROF_TYPE__COUNT; i++) {
        Py_CLEAR(state->types[i]);
    }
    Py_CLEAR(state->error);
    return 0;
}

static void
dprof_free(void *module)
{
    (void)dprof_clear((PyObject *)module);
}

static PyModuleDef_Slot dprof_slots[] = {
    {Py_mod_exec, dprof_exec},
    {0, NULL},
};

static struct PyModuleDef dprof_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "dprof._native",
    .m_doc = module_doc,
    .m_size = sizeof(dprof_state),
    .m_methods = NULL,
    .m_slots = dprof_slots,
    .m_traverse = dprof_traverse,
    .m_clear = dprof_clear,
    .m_free = dprof_free,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModuleDef_Init(&dprof_module);
}
