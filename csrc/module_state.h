/* Shared declarations for the binding layer of dprof._native.
 *
 * The extension uses multi-phase init (PEP 489) and keeps every Python object it
 * needs (heap types, the error class) in per-module state, never in C globals, so
 * that the module can be imported in several interpreters and re-imported.
 *
 * Each topic has one binding file (sampler_binding.c, stats_binding.c, ...) that
 * exports a single `dprof_<topic>_register(module, state)` called from the module's
 * exec slot in module.c. A binding file adds its functions with
 * PyModule_AddFunctions and its types with PyType_FromModuleAndSpec, storing the
 * type in `state->types[...]`.
 *
 * Only binding files include Python.h; the engines (procfs.c, sampler.c,
 * series_stats.c, ...) are plain C and testable without an interpreter.
 */
#ifndef DPROF_MODULE_STATE_H
#define DPROF_MODULE_STATE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "compat.h"

/* Slots for the heap types of the module; one per type, named after the type. */
enum dprof_type_slot {
    DPROF_TYPE_SAMPLER = 0,     /* dprof._native.Sampler (resource sampler) */
    DPROF_TYPE_STACK_SAMPLER,   /* dprof._native.StackSampler */
    DPROF_TYPE_STACK_TABLE,     /* dprof._native.StackTable (aggregated stacks) */
    DPROF_TYPE_SAMPLER_COLUMN,  /* dprof._native._SamplerColumn (Sampler.columns) */
    DPROF_TYPE_TASK_READING,    /* dprof._native.TaskReading (task_reading(), a structseq) */
    DPROF_TYPE_SPARE_1,
    DPROF_TYPE__COUNT
};

typedef struct {
    PyObject *types[DPROF_TYPE__COUNT]; /* strong references, or NULL */
    PyObject *error;                    /* dprof._native.NativeError, strong ref */
} dprof_state;

static inline dprof_state *
dprof_get_state(PyObject *module)
{
    return (dprof_state *)PyModule_GetState(module);
}

/* Registration hooks, one per binding file. Each returns 0, or -1 with an
 * exception set. */
int dprof_sampler_register(PyObject *module, dprof_state *state);
int dprof_stats_register(PyObject *module, dprof_state *state);
int dprof_allocs_register(PyObject *module, dprof_state *state);
int dprof_stacks_register(PyObject *module, dprof_state *state);
int dprof_sorts_register(PyObject *module, dprof_state *state);
int dprof_task_register(PyObject *module, dprof_state *state);
int dprof_raises_register(PyObject *module, dprof_state *state);
int dprof_cgroup_register(PyObject *module, dprof_state *state);
int dprof_memsample_register(PyObject *module, dprof_state *state);

#endif
