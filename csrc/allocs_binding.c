/* Placeholder: the allocs binding registers nothing yet. */
#include "module_state.h"

int
dprof_allocs_register(PyObject *module, dprof_state *state)
{
    (void)module;
    (void)state;
    return 0;
}
