/* A stand-in for libnvidia-ml.so.1 with two GPUs of known readings, for the
 * tests of dprof's NVML reader on machines without a GPU (tests/native/
 * test_nvml_fake.py compiles it with `cc -shared -fPIC` and puts it on
 * LD_LIBRARY_PATH). Only the entry points csrc/nvml.c resolves are defined,
 * with NVML's signatures and struct layouts.
 *
 * Build-time knobs (-D):
 *   FAKE_TEMPERATURE_RC=N   nvmlDeviceGetTemperature returns N (3 = NOT_SUPPORTED)
 *   FAKE_POWER_LOST         nvmlDeviceGetPowerUsage works once per GPU (the
 *                           reader's probe at open), then returns 15
 *                           (NVML_ERROR_GPU_IS_LOST)
 *   FAKE_NO_OPTIONAL        no nvmlDeviceGetTemperature / nvmlDeviceGetPowerUsage
 *                           at all (an old driver)
 */
#ifndef FAKE_TEMPERATURE_RC
#define FAKE_TEMPERATURE_RC 0
#endif

typedef struct {
    unsigned int gpu, memory;
} fake_utilization;

typedef struct {
    unsigned long long total, free, used;
} fake_memory;

typedef struct {
    unsigned int util, temperature_c, power_mw, power_calls;
    unsigned long long used, total;
} fake_device;

#define GIB (1024ULL * 1024ULL * 1024ULL)
static fake_device devices[2] = {
    {30, 55, 71500, 0, 1 * GIB, 16 * GIB},
    {50, 67, 120250, 0, 3 * GIB, 16 * GIB},
};
static int initialised;

int nvmlInit_v2(void) { initialised = 1; return 0; }
int nvmlShutdown(void) { initialised = 0; return 0; }

int
nvmlDeviceGetCount_v2(unsigned int *count)
{
    *count = 2;
    return initialised ? 0 : 1;         /* 1: NVML_ERROR_UNINITIALIZED */
}

int
nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device)
{
    if (index >= 2) {
        return 2;                       /* NVML_ERROR_INVALID_ARGUMENT */
    }
    *device = &devices[index];
    return 0;
}

int
nvmlDeviceGetUtilizationRates(void *device, fake_utilization *out)
{
    out->gpu = ((fake_device *)device)->util;
    out->memory = 0;
    return 0;
}

int
nvmlDeviceGetMemoryInfo(void *device, fake_memory *out)
{
    fake_device *d = device;
    out->total = d->total;
    out->used = d->used;
    out->free = d->total - d->used;
    return 0;
}

#ifndef FAKE_NO_OPTIONAL
int
nvmlDeviceGetTemperature(void *device, int sensor, unsigned int *celsius)
{
    if (sensor != 0) {
        return 2;                       /* only NVML_TEMPERATURE_GPU exists */
    }
    if (FAKE_TEMPERATURE_RC != 0) {
        return FAKE_TEMPERATURE_RC;
    }
    *celsius = ((fake_device *)device)->temperature_c;
    return 0;
}

int
nvmlDeviceGetPowerUsage(void *device, unsigned int *milliwatts)
{
    fake_device *d = device;
#ifdef FAKE_POWER_LOST
    if (d->power_calls++ > 0) {
        return 15;
    }
#endif
    *milliwatts = d->power_mw;
    return 0;
}
#endif
