/* NVIDIA GPU readings through NVML, loaded at run time.
 *
 * Plain C, no Python.h, no build-time dependency on CUDA or the driver:
 * libnvidia-ml.so.1 is dlopen()ed when a sampler opens its readers. When the
 * library, one of the functions every reading needs (init, count, handles,
 * utilisation, memory) or a device is missing, open fails with a reason and the
 * GPU columns are reported missing with that reason.
 *
 * Temperature and power are optional: when the library lacks the function, or
 * a GPU answers NVML_ERROR_NOT_SUPPORTED when open() tries it once (power on
 * many consumer boards, temperature on some virtual GPUs), only that value is
 * missing, with its reason in temperature_reason / power_reason; the other
 * readings go on.
 *
 * Readings are device-wide (NVML has no per-process utilisation that is cheap
 * enough to sample): utilisation is averaged over devices, memory and power are
 * summed, temperature is that of the hottest device. A value is given only when
 * every device gave it (a sum over some devices would look like a real total).
 */
#ifndef DPROF_NVML_H
#define DPROF_NVML_H

#include <stddef.h>

#define DPROF_NVML_MAX_DEVICES 64
#define DPROF_NVML_REASON_LEN 256

typedef struct {
    void *lib;                  /* dlopen handle, NULL when closed */
    unsigned int count;
    void *devices[DPROF_NVML_MAX_DEVICES];
    int (*shutdown)(void);
    int (*utilization)(void *device, void *out);
    int (*memory)(void *device, void *out);
    /* NULL when not read; the reason says why ("" when read) */
    int (*temperature)(void *device, int sensor, unsigned int *celsius);
    int (*power)(void *device, unsigned int *milliwatts);
    char temperature_reason[DPROF_NVML_REASON_LEN];
    char power_reason[DPROF_NVML_REASON_LEN];
} dprof_nvml;

/* One reading of every device; NaN where a value could not be read. */
typedef struct {
    double util_percent;        /* mean over devices */
    double mem_used_bytes;      /* sum over devices */
    double mem_total_bytes;     /* sum over devices */
    double temperature_c;       /* hottest device */
    double power_w;             /* sum over devices */
} dprof_nvml_values;

/* Loads NVML and finds the devices. Returns 0, or -1 with `reason` filled.
 * After a successful open, temperature_reason / power_reason are "" or say why
 * that value will not be read. */
int dprof_nvml_open(dprof_nvml *n, char *reason, size_t reason_len);
/* Reads every device into *out. Each value that fails on some device is NaN on
 * its own; the others are still read. Returns 0, or the NVML error code of the
 * first failure (-1 when closed: every value NaN). */
int dprof_nvml_read(dprof_nvml *n, dprof_nvml_values *out);
void dprof_nvml_close(dprof_nvml *n);

#endif
