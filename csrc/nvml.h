/* NVIDIA GPU readings through NVML, loaded at run time.
 *
 * Plain C, no Python.h, no build-time dependency on CUDA or the driver:
 * libnvidia-ml.so.1 is dlopen()ed when a sampler opens its readers. When the
 * library, a symbol or a device is missing, open fails with a reason and the GPU
 * columns are reported missing with that reason.
 *
 * Readings are device-wide (NVML has no per-process utilisation that is cheap
 * enough to sample): utilisation is averaged over devices, memory is summed.
 */
#ifndef DPROF_NVML_H
#define DPROF_NVML_H

#include <stddef.h>

#define DPROF_NVML_MAX_DEVICES 64

typedef struct {
    void *lib;                  /* dlopen handle, NULL when closed */
    unsigned int count;
    void *devices[DPROF_NVML_MAX_DEVICES];
    int (*shutdown)(void);
    int (*utilization)(void *device, void *out);
    int (*memory)(void *device, void *out);
} dprof_nvml;

/* Loads NVML and finds the devices. Returns 0, or -1 with `reason` filled. */
int dprof_nvml_open(dprof_nvml *n, char *reason, size_t reason_len);
/* Reads every device. Returns 0, or the NVML error code of the first failure
 * (the outputs are then NaN). */
int dprof_nvml_read(dprof_nvml *n, double *util_percent, double *mem_used, double *mem_total);
void dprof_nvml_close(dprof_nvml *n);

#endif
