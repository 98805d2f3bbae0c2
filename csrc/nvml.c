/* NVIDIA GPU readings through NVML, loaded at run time (see nvml.h). No Python.h.
 *
 * The few NVML types used are declared here with the layout of nvml.h (they are
 * part of NVML's stable ABI), so no NVIDIA header is needed to build.
 */
#include "nvml.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NVML_LIBRARY "libnvidia-ml.so.1"
#define NVML_SUCCESS 0

typedef struct {
    unsigned int gpu;       /* percent of time a kernel ran over the last period */
    unsigned int memory;
} nvml_utilization;

typedef struct {
    unsigned long long total, free, used;   /* bytes */
} nvml_memory;

typedef int (*nvml_void_fn)(void);
typedef int (*nvml_count_fn)(unsigned int *);
typedef int (*nvml_handle_fn)(unsigned int, void **);
typedef int (*nvml_device_fn)(void *, void *);

/* dlsym returns void *; ISO C has no conversion from that to a function
 * pointer, so the pointer's bytes are copied (what POSIX guarantees works). */
static void *
symbol(void *lib, const char *name)
{
    return dlsym(lib, name);
}

int
dprof_nvml_open(dprof_nvml *n, char *reason, size_t reason_len)
{
    nvml_void_fn init;
    nvml_count_fn count;
    nvml_handle_fn handle;
    int rc;
    void *sym;
    memset(n, 0, sizeof(*n));
    n->lib = dlopen(NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (n->lib == NULL) {
        const char *err = dlerror();
        snprintf(reason, reason_len, "NVIDIA GPU readings not available: cannot load %s (%s)",
                 NVML_LIBRARY, err ? err : "unknown error");
        return -1;
    }
    /* The _v2 entry points exist since driver 325 (2013). */
    sym = symbol(n->lib, "nvmlInit_v2");
    memcpy(&init, &sym, sizeof(init));
    sym = symbol(n->lib, "nvmlShutdown");
    memcpy(&n->shutdown, &sym, sizeof(n->shutdown));
    sym = symbol(n->lib, "nvmlDeviceGetCount_v2");
    memcpy(&count, &sym, sizeof(count));
    sym = symbol(n->lib, "nvmlDeviceGetHandleByIndex_v2");
    memcpy(&handle, &sym, sizeof(handle));
    sym = symbol(n->lib, "nvmlDeviceGetUtilizationRates");
    memcpy(&n->utilization, &sym, sizeof(n->utilization));
    sym = symbol(n->lib, "nvmlDeviceGetMemoryInfo");
    memcpy(&n->memory, &sym, sizeof(n->memory));
    if (init == NULL || n->shutdown == NULL || count == NULL || handle == NULL
        || n->utilization == NULL || n->memory == NULL) {
        snprintf(reason, reason_len,
                 "NVIDIA GPU readings not available: %s lacks a needed NVML function",
                 NVML_LIBRARY);
        goto error;
    }
    rc = init();
    if (rc != NVML_SUCCESS) {
        snprintf(reason, reason_len,
                 "NVIDIA GPU readings not available: nvmlInit_v2 failed (NVML error %d)", rc);
        goto error;
    }
    rc = count(&n->count);
    if (rc != NVML_SUCCESS || n->count == 0) {
        snprintf(reason, reason_len,
                 "NVIDIA GPU readings not available: no GPU found by NVML (NVML error %d)", rc);
        n->shutdown();
        goto error;
    }
    if (n->count > DPROF_NVML_MAX_DEVICES) {
        n->count = DPROF_NVML_MAX_DEVICES;
    }
    for (unsigned int i = 0; i < n->count; i++) {
        rc = handle(i, &n->devices[i]);
        if (rc != NVML_SUCCESS) {
            snprintf(reason, reason_len,
                     "NVIDIA GPU readings not available: no handle for GPU %u (NVML error %d)",
                     i, rc);
            n->shutdown();
            goto error;
        }
    }
    return 0;
error:
    dlclose(n->lib);
    memset(n, 0, sizeof(*n));
    return -1;
}

int
dprof_nvml_read(dprof_nvml *n, double *util_percent, double *mem_used, double *mem_total)
{
    double util = 0.0, used = 0.0, total = 0.0;
    *util_percent = *mem_used = *mem_total = NAN;
    if (n->lib == NULL) {
        return -1;
    }
    for (unsigned int i = 0; i < n->count; i++) {
        nvml_utilization u;
        nvml_memory m;
        int rc = n->utilization(n->devices[i], &u);
        if (rc != NVML_SUCCESS) {
            return rc;
        }
        rc = n->memory(n->devices[i], &m);
        if (rc != NVML_SUCCESS) {
            return rc;
        }
        util += u.gpu;
        used += (double)m.used;
        total += (double)m.total;
    }
    *util_percent = util / n->count;
    *mem_used = used;
    *mem_total = total;
    return 0;
}

void
dprof_nvml_close(dprof_nvml *n)
{
    if (n->lib != NULL) {
        n->shutdown();
        dlclose(n->lib);
    }
    memset(n, 0, sizeof(*n));
}
