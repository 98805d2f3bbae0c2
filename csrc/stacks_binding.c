/* Placeholder: the stacks binding registers nothing yet. */
#include "module_state.h"

int
dprof_stacks_register(PyObject *module, dprof_state *state)
{
    (void)module;
    (void)state;
    return 0;
}
