/* Placeholder: the stats binding registers nothing yet. */
#include "module_state.h"

int
dprof_stats_register(PyObject *module, dprof_state *state)
{
    (void)module;
    (void)state;
    return 0;
}
