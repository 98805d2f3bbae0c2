/* Python binding of the cgroup v2 reader (cgroup.c) for watching a cgroup from
 * outside it: dprof.containers.ContainerResourceMonitor. The sampler thread uses
 * the same reader on its own process's cgroup; this file only converts. */
#include "module_state.h"
#include "cgroup.h"
#include "procfs.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

PyDoc_STRVAR(cgroup_dir_doc,
"cgroup_dir(pid) -> (str | None, str | None)\n"
"\n"
"The cgroup v2 directory of process `pid` under the cgroup2 mount point, as\n"
"(path, None), or (None, why) when it has none.");

static PyObject *
cgroup_dir(PyObject *module, PyObject *arg)
{
    char dir[PATH_MAX];
    const char *why = NULL;
    long pid = PyLong_AsLong(arg);
    (void)module;
    if (pid == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (pid <= 0 || pid > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "cgroup_dir needs a positive pid, got %ld", pid);
        return NULL;
    }
    if (dprof_cgroup_dir((int)pid, dir, sizeof(dir), &why) < 0) {
        return Py_BuildValue("(Os)", Py_None, why);
    }
    return Py_BuildValue("(sO)", dir, Py_None);
}

/* Result keys per reader file (cgroup.h's enum order), then memory.max. */
static const char *const cpu_keys[] = {"cpu_usage_s", "cpu_user_s", "cpu_system_s"};
static const char *const events_keys[] = {"mem_events_high", "mem_events_max",
                                          "mem_events_oom_kill"};
static const char *const io_keys[] = {"io_read_bytes", "io_write_bytes"};

/* values[key] = v, or missing[key] = why when v is NaN. Returns 0 or -1. */
static int
put(PyObject *values, PyObject *missing, const char *key, double v, const char *why)
{
    PyObject *obj;
    int rc;
    if (isnan(v)) {
        obj = PyUnicode_FromString(why[0] ? why : "could not be read or parsed");
        if (obj == NULL) {
            return -1;
        }
        rc = PyDict_SetItemString(missing, key, obj);   /* does not steal obj */
    }
    else {
        obj = PyFloat_FromDouble(v);
        if (obj == NULL) {
            return -1;
        }
        rc = PyDict_SetItemString(values, key, obj);
    }
    Py_DECREF(obj);
    return rc;
}

PyDoc_STRVAR(cgroup_read_doc,
"cgroup_read(dir) -> (values: dict[str, float], missing: dict[str, str])\n"
"\n"
"One reading of the cgroup v2 directory `dir`: cpu_usage_s, cpu_user_s,\n"
"cpu_system_s (cpu.stat), mem_current_bytes, mem_peak_bytes, mem_max_bytes\n"
"(inf when unlimited), mem_events_high/max/oom_kill, io_read_bytes,\n"
"io_write_bytes (io.stat, all devices). A value that cannot be had is left out\n"
"of `values` and its reason is in `missing` under the same key.");

static PyObject *
cgroup_read(PyObject *module, PyObject *arg)
{
    dprof_cgroup cg;
    dprof_cgroup_values v;
    const char *dir;
    PyObject *values = NULL, *missing = NULL, *result = NULL;
    char limit_why[PATH_MAX + 64];
    double limit = NAN;
    int rc;
    (void)module;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "cgroup_read needs a str directory, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    dir = PyUnicode_AsUTF8(arg);          /* borrowed, lives as long as arg */
    if (dir == NULL) {
        return NULL;
    }
    /* a handful of small kernel files: cheaper than a GIL round trip */
    dprof_cgroup_open_dir(&cg, dir);
    (void)dprof_cgroup_read(&cg, &v);
    dprof_cgroup_close(&cg);
    rc = dprof_cgroup_read_limit(dir, &limit);
    limit_why[0] = '\0';
    if (rc < 0) {
        limit = NAN;
        snprintf(limit_why, sizeof(limit_why),
                 "cgroup v2 file %s/memory.max not available (%s: cgroup v1 or memory "
                 "controller not enabled)", dir, strerror(-rc));
    }

    values = PyDict_New();
    missing = PyDict_New();
    if (values == NULL || missing == NULL) {
        goto done;
    }
    {
        const double cpu[] = {v.usage_s, v.user_s, v.system_s};
        const double events[] = {v.events_high, v.events_max, v.events_oom_kill};
        const double io[] = {v.io_read_bytes, v.io_write_bytes};
        for (int i = 0; i < 3; i++) {
            if (put(values, missing, cpu_keys[i], cpu[i], cg.reason[DPROF_CG_CPU_STAT]) < 0
                || put(values, missing, events_keys[i], events[i],
                       cg.reason[DPROF_CG_MEM_EVENTS]) < 0) {
                goto done;
            }
        }
        for (int i = 0; i < 2; i++) {
            if (put(values, missing, io_keys[i], io[i], cg.reason[DPROF_CG_IO_STAT]) < 0) {
                goto done;
            }
        }
    }
    if (put(values, missing, "mem_current_bytes", v.mem_current,
            cg.reason[DPROF_CG_MEM_CURRENT]) < 0
        || put(values, missing, "mem_peak_bytes", v.mem_peak, cg.reason[DPROF_CG_MEM_PEAK]) < 0
        || put(values, missing, "mem_max_bytes", limit, limit_why) < 0) {
        goto done;
    }
    result = PyTuple_Pack(2, values, missing);   /* new references to both */
done:
    Py_XDECREF(values);
    Py_XDECREF(missing);
    return result;
}

PyDoc_STRVAR(netdev_read_doc,
"netdev_read(path) -> (sent_bytes, recv_bytes)\n"
"\n"
"Totals of every interface but lo in a /proc/PID/net/dev file (the network\n"
"namespace of PID). OSError when it cannot be read, ValueError when it cannot\n"
"be parsed.");

static PyObject *
netdev_read(PyObject *module, PyObject *arg)
{
    dprof_kfile f;
    dprof_netdev nd;
    char buf[16384];
    const char *path;
    ssize_t n;
    int rc;
    (void)module;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(PyExc_TypeError, "netdev_read needs a str path, got %.100s",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    path = PyUnicode_AsUTF8(arg);
    if (path == NULL) {
        return NULL;
    }
    rc = dprof_kfile_open(&f, path);
    if (rc < 0) {
        errno = -rc;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    }
    n = dprof_kfile_read(&f, buf, sizeof(buf));
    dprof_kfile_close(&f);
    if (n < 0) {
        errno = (int)-n;
        return PyErr_SetFromErrnoWithFilename(PyExc_OSError, path);
    }
    if (dprof_parse_netdev(buf, &nd) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot parse %s as /proc/net/dev", path);
        return NULL;
    }
    return Py_BuildValue("(dd)", nd.sent_bytes, nd.recv_bytes);
}

static PyMethodDef cgroup_methods[] = {
    {"cgroup_dir", cgroup_dir, METH_O, cgroup_dir_doc},
    {"cgroup_read", cgroup_read, METH_O, cgroup_read_doc},
    {"netdev_read", netdev_read, METH_O, netdev_read_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_cgroup_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, cgroup_methods);
}
