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
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_TEMPERATURE_GPU 0      /* the die sensor (nvmlTemperatureSensors_t) */

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

/* Tries temperature and power once on every device. A function the library
 * lacks, or one a GPU does not support, is switched off with its reason: it
 * would fail the same way at every sample. Any other error is left to the
 * samples (NaN there, counted as a sampler error): it may be transient. */
static void
probe_optional(dprof_nvml *n)
{
    n->temperature_reason[0] = n->power_reason[0] = '\0';
    if (n->temperature == NULL) {
        snprintf(n->temperature_reason, sizeof(n->temperature_reason),
                 "NVIDIA GPU temperature not available: %s has no nvmlDeviceGetTemperature",
                 NVML_LIBRARY);
    }
    if (n->power == NULL) {
        snprintf(n->power_reason, sizeof(n->power_reason),
                 "NVIDIA GPU power draw not available: %s has no nvmlDeviceGetPowerUsage",
                 NVML_LIBRARY);
    }
    for (unsigned int i = 0; i < n->count; i++) {
        unsigned int value;
        if (n->temperature != NULL
            && n->temperature(n->devices[i], NVML_TEMPERATURE_GPU, &value)
                   == NVML_ERROR_NOT_SUPPORTED) {
            snprintf(n->temperature_reason, sizeof(n->temperature_reason),
                     "NVIDIA GPU temperature not available: GPU %u does not support "
                     "nvmlDeviceGetTemperature (NVML_ERROR_NOT_SUPPORTED)", i);
            n->temperature = NULL;
        }
        if (n->power != NULL
            && n->power(n->devices[i], &value) == NVML_ERROR_NOT_SUPPORTED) {
            snprintf(n->power_reason, sizeof(n->power_reason),
                     "NVIDIA GPU power draw not available: GPU %u does not support "
                     "nvmlDeviceGetPowerUsage (NVML_ERROR_NOT_SUPPORTED)", i);
            n->power = NULL;
        }
    }
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
    /* Optional: without them only temperature / power are missing. */
    sym = symbol(n->lib, "nvmlDeviceGetTemperature");
    memcpy(&n->temperature, &sym, sizeof(n->temperature));
    sym = symbol(n->lib, "nvmlDeviceGetPowerUsage");
    memcpy(&n->power, &sym, sizeof(n->power));
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
    probe_optional(n);
    return 0;
error:
    dlclose(n->lib);
    memset(n, 0, sizeof(*n));
    return -1;
}

/* Keeps the first NVML error seen. */
static void
note(int *first, int rc)
{
    if (*first == NVML_SUCCESS) {
        *first = rc;
    }
}

int
dprof_nvml_read(dprof_nvml *n, dprof_nvml_values *out)
{
    double util = 0.0, used = 0.0, total = 0.0, hottest = -INFINITY, power = 0.0;
    int util_ok = 1, mem_ok = 1, temp_ok = n->temperature != NULL, power_ok = n->power != NULL;
    int first = NVML_SUCCESS;
    out->util_percent = out->mem_used_bytes = out->mem_total_bytes = NAN;
    out->temperature_c = out->power_w = NAN;
    if (n->lib == NULL) {
        return -1;
    }
    /* Each value on its own: one that fails on a device is NaN, the rest are read. */
    for (unsigned int i = 0; i < n->count; i++) {
        nvml_utilization u;
        nvml_memory m;
        unsigned int celsius, milliwatts;
        int rc;
        if (util_ok) {
            rc = n->utilization(n->devices[i], &u);
            if (rc == NVML_SUCCESS) {
                util += u.gpu;
            }
            else {
                util_ok = 0;
                note(&first, rc);
            }
        }
        if (mem_ok) {
            rc = n->memory(n->devices[i], &m);
            if (rc == NVML_SUCCESS) {
                used += (double)m.used;
                total += (double)m.total;
            }
            else {
                mem_ok = 0;
                note(&first, rc);
            }
        }
        if (temp_ok) {
            rc = n->temperature(n->devices[i], NVML_TEMPERATURE_GPU, &celsius);
            if (rc == NVML_SUCCESS) {
                if ((double)celsius > hottest) {
                    hottest = (double)celsius;
                }
            }
            else {
                temp_ok = 0;
                note(&first, rc);
            }
        }
        if (power_ok) {
            rc = n->power(n->devices[i], &milliwatts);
            if (rc == NVML_SUCCESS) {
                power += (double)milliwatts / 1000.0;
            }
            else {
                power_ok = 0;
                note(&first, rc);
            }
        }
    }
    if (util_ok) {
        out->util_percent = util / n->count;
    }
    if (mem_ok) {
        out->mem_used_bytes = used;
        out->mem_total_bytes = total;
    }
    if (temp_ok) {
        out->temperature_c = hottest;
    }
    if (power_ok) {
        out->power_w = power;
    }
    return first;
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
