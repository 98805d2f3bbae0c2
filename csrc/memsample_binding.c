/* The allocation sampler's slow path and its Python functions (engine: memsample.c).
 *
 * Hooks. The sampler has no allocator hooks of its own: it rides on the one layer
 * of alloc_hooks.c that also counts allocations, which runs the sampler's countdown
 * inline and calls dprof_ms_sampled() below when an allocation is sampled (and the
 * engine's forget on a free whose filter byte is set). A session takes one use of
 * that layer for its duration, so it survives tracemalloc taking the layer out (it
 * is installed afresh at the next start) and says when that happened during it
 * ('hooks_replaced'). Both domains are only called with the GIL held, which is
 * what protects every piece of state below. NumPy's data buffers
 * are hooked in memsample_numpy.c, through the interface of memsample_hooks.h;
 * NumPy may call its handler without the GIL, and then nothing here but atomics is
 * touched: an allocation is only counted (as unattributed bytes) and a free is
 * queued in a lock-free ring that the next GIL-holding sample drains.
 *
 * Inside a hook no Python code runs and nothing is allocated through the hooked
 * allocators by us: the engine uses malloc. Walking the stack with the public frame
 * API may make CPython materialise frame objects (an allocation in the OBJ domain);
 * the per-thread re-entrancy flag lets such nested calls straight through.
 *
 * Fork: a pthread_atfork child handler stops sampling in the child (the tables are
 * the parent's); the child can start a session of its own.
 *
 * Python objects held in C globals: the code objects of interned frames (strong
 * references, dropped at stop). Allocator hooks are process-wide, so this state
 * cannot be per-module.
 */
#include "module_state.h"
#include <frameobject.h>   /* PyFrame_GetBack on 3.9 and 3.10 */
#include "alloc_hooks.h"
#include "memsample.h"
#include "memsample_hooks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static dprof_ms engine;
static int engine_ready = 0;    /* engine holds a session's data */
static int sampling = 0;        /* a session records (the hook layer is told) */
static int hooks_held = 0;      /* this session holds a use of the hook layer */
static int hooks_replaced = 0;  /* the layer was out of the chain during the session */
/* incremented at every start and stop: a frame walk checks it is still in the
 * session it began in (see capture_stack) */
static uint64_t session_serial = 0;
static volatile int forked_child = 0;
static int atfork_registered = 0;
static uint64_t session_seed = 0;
static uint64_t started_ns = 0;
static uint64_t unattributed_bytes_gil = 0;   /* lost to errors under the GIL */

static _Thread_local int in_hook __attribute__((tls_model("initial-exec")));

uint64_t
dprof_ms_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- frees made without the GIL (NumPy), queued for the next GIL holder ------- */

#define RING_SIZE 4096
static _Atomic uintptr_t free_ring[RING_SIZE];
static atomic_uint_fast64_t ring_next;
static atomic_uint_fast64_t ring_pending;
static atomic_uint_fast64_t ring_dropped;     /* frees lost: the ring was full */
static atomic_uint_fast64_t nogil_bytes;      /* NumPy bytes allocated without the GIL */

static void
ring_push(uintptr_t addr)
{
    uint64_t i = atomic_fetch_add_explicit(&ring_next, 1, memory_order_relaxed);
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong(&free_ring[i % RING_SIZE], &expected, addr)) {
        atomic_fetch_add(&ring_pending, 1);
    } else {
        atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
    }
}

/* GIL held */
static void
ring_drain(uint64_t t_ns)
{
    if (atomic_load_explicit(&ring_pending, memory_order_acquire) == 0) {
        return;
    }
    for (size_t i = 0; i < RING_SIZE; i++) {
        uintptr_t addr = atomic_exchange(&free_ring[i], (uintptr_t)0);
        if (addr != 0) {
            atomic_fetch_sub(&ring_pending, 1);
            if (engine_ready) {
                (void)t_ns;
                (void)dprof_ms_on_free(&engine, addr, dprof_ms_now_ns);
            }
        }
    }
}

/* --- sampling one allocation (GIL held) --------------------------------------- */

static PyThreadState *
current_tstate(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#else
    return _PyThreadState_UncheckedGet();
#endif
}

#define STACK_SESSION_ENDED (-2)

/* Stack id of the calling thread's Python stack, innermost frame first; -1 when
 * the engine ran out of memory, STACK_SESSION_ENDED when the session ended during
 * the walk. Why that can happen: on Python < 3.12, creating a frame object (which
 * PyThreadState_GetFrame and PyFrame_GetBack may do) can run a garbage collection
 * right there, and its finalizers may release the GIL, letting another thread stop
 * (and even restart) the session. The engine is then not touched again. */
static int32_t
capture_stack(uint64_t serial)
{
    uint32_t ids[DPROF_MS_MAX_DEPTH];
    uint32_t depth = 0;
    PyThreadState *ts = current_tstate();
    PyFrameObject *frame = ts ? PyThreadState_GetFrame(ts) : NULL;   /* new ref */
    while (frame != NULL && depth < DPROF_MS_MAX_DEPTH) {
        if (session_serial != serial || !sampling) {
            Py_DECREF(frame);
            return STACK_SESSION_ENDED;
        }
        PyCodeObject *code = PyFrame_GetCode(frame);                 /* new ref */
        int line = PyFrame_GetLineNumber(frame);
        int is_new = 0;
        int32_t id = dprof_ms_intern_frame(&engine, (uintptr_t)code, line, &is_new);
        if (id >= 0 && is_new) {
            Py_INCREF(code);   /* the frame table's reference, dropped at stop */
        }
        Py_DECREF(code);
        if (id < 0) {
            Py_DECREF(frame);
            return -1;
        }
        ids[depth++] = (uint32_t)id;
        PyFrameObject *back = PyFrame_GetBack(frame);                /* new ref */
        Py_DECREF(frame);
        frame = back;
    }
    Py_XDECREF(frame);
    if (session_serial != serial || !sampling) {
        return STACK_SESSION_ENDED;
    }
    return dprof_ms_intern_stack(&engine, ids, depth);
}

/* The hook layer's slow path (alloc_hooks.c): this allocation is sampled with
 * `weight`. Kept out of the hooks' fast path, which stays a few instructions. */
void
dprof_ms_sampled(void *ptr, size_t size, uint64_t weight)
{
    if (in_hook || !sampling) {
        return;     /* an allocation made by our own frame walk */
    }
    in_hook = 1;
    uint64_t t = dprof_ms_now_ns();
    ring_drain(t);     /* frees queued before this allocation come first */
    int32_t stack = capture_stack(session_serial);
    if (stack == STACK_SESSION_ENDED) {
        in_hook = 0;
        return;
    }
    if (stack < 0 || dprof_ms_record(&engine, (uintptr_t)ptr, size, weight,
                                     (uint32_t)stack, t) < 0) {
        if (stack < 0) {
            engine.errors++;
        }
        unattributed_bytes_gil += weight;
    }
    in_hook = 0;
}

/* --- the interface of memsample_hooks.h (NumPy's handler uses it) ---------------- */

void
dprof_ms_hook_alloc(void *ptr, size_t size)
{
    if (sampling) {
        dprof_hooks_sample_alloc(ptr, size);
    }
}

void
dprof_ms_hook_free(void *ptr)
{
    if (sampling) {
        dprof_hooks_sample_free(ptr);
    }
}

void
dprof_ms_hook_nogil_alloc(size_t size)
{
    atomic_fetch_add_explicit(&nogil_bytes, size, memory_order_relaxed);
}

void
dprof_ms_hook_nogil_free(void *ptr)
{
    ring_push((uintptr_t)ptr);
}

/* --- start / stop --------------------------------------------------------------- */

static void
after_fork_child(void)
{
    /* the child has the parent's tables; it starts afresh if it wants a profile */
    sampling = 0;
    dprof_hooks_sampling_off();
    dprof_ms_numpy_after_fork();
    forked_child = 1;
}

/* Drops the engine's data and the frame table's code references. GIL held,
 * sampling off. */
static void
engine_clear(void)
{
    if (!engine_ready) {
        return;
    }
    engine_ready = 0;
    for (uint32_t i = 0; i < engine.nframes; i++) {
        PyObject *code = (PyObject *)engine.frames[i].code;
        Py_DECREF(code);
    }
    dprof_ms_free(&engine);
}

PyDoc_STRVAR(memsample_start_doc,
"memsample_start(mean=524288.0, seed=None, numpy_api=None) -> dict\n"
"\n"
"Start sampling allocations: one sample point every `mean` bytes on average\n"
"(exponential gaps drawn from a splitmix64 PRNG seeded with `seed`, or a random\n"
"seed). numpy_api is NumPy's _ARRAY_API capsule, to hook its data allocations.\n"
"Returns {'seed': int, 'numpy': None or the reason it is not hooked}.\n"
"RuntimeError when a session is already running.");

static PyObject *
memsample_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"mean", "seed", "numpy_api", NULL};
    double mean = 524288.0;
    PyObject *seed_obj = Py_None, *numpy_api = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|dOO:memsample_start", kwlist,
                                     &mean, &seed_obj, &numpy_api)) {
        return NULL;
    }
    if (!(mean >= 1.0 && mean <= 1e15)) {
        PyObject *bad = PyFloat_FromDouble(mean);
        if (bad != NULL) {
            PyErr_Format(PyExc_ValueError, "mean must be between 1 and 1e15 bytes, got %R", bad);
            Py_DECREF(bad);
        }
        return NULL;
    }
    if (sampling) {
        PyErr_SetString(PyExc_RuntimeError, "an allocation sampling session is already running");
        return NULL;
    }
    uint64_t seed;
    if (seed_obj == Py_None) {
        if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
            seed = dprof_ms_now_ns() ^ (uint64_t)getpid() << 32;
        }
    } else {
        seed = PyLong_AsUnsignedLongLongMask(seed_obj);
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    if (!atfork_registered) {
        if (pthread_atfork(NULL, NULL, after_fork_child) != 0) {
            PyErr_SetString(PyExc_OSError, "pthread_atfork failed");
            return NULL;
        }
        atfork_registered = 1;
    }
    engine_clear();     /* a forked child's copy of the parent's data */
    forked_child = 0;
    if (dprof_ms_init(&engine, mean, seed) < 0) {
        return PyErr_NoMemory();
    }
    engine_ready = 1;
    unattributed_bytes_gil = 0;
    atomic_store(&nogil_bytes, 0);
    atomic_store(&ring_dropped, 0);
    if (hooks_held) {      /* a forked child's copy of the parent's session */
        hooks_held = 0;
        dprof_hooks_release();
    }
    /* installs the layer, or installs it afresh where tracemalloc took it out */
    if (dprof_hooks_acquire() < 0) {
        engine_clear();
        return NULL;
    }
    hooks_held = 1;
    hooks_replaced = 0;
    const char *numpy_reason = dprof_ms_numpy_hook(numpy_api);
    session_seed = seed;
    started_ns = dprof_ms_now_ns();
    session_serial++;
    sampling = 1;
    dprof_hooks_sampling_on(&engine);
    /* the result dict is built after sampling began: its allocations may be
     * sampled, which is harmless (they are dprof's, outside the task) */
    return Py_BuildValue("{s:K,s:s}", "seed", (unsigned long long)seed,
                         "numpy", numpy_reason);
}

/* The engine's data as Python objects (GIL held, sampling off). */
static PyObject *
build_results(uint64_t stopped)
{
    PyObject *frames = NULL, *stacks = NULL, *tl_t = NULL, *tl_live = NULL;
    PyObject *tl_stack = NULL, *tl_delta = NULL;
    PyObject *result = NULL;
    frames = PyList_New(engine.nframes);
    stacks = PyList_New(engine.nstacks);
    if (frames == NULL || stacks == NULL) {
        goto done;
    }
    for (uint32_t i = 0; i < engine.nframes; i++) {
        PyObject *code = (PyObject *)engine.frames[i].code;    /* borrowed (table's) */
        PyObject *filename = PyObject_GetAttrString(code, "co_filename");
        PyObject *name = PyObject_HasAttrString(code, "co_qualname")
            ? PyObject_GetAttrString(code, "co_qualname")
            : PyObject_GetAttrString(code, "co_name");
        if (filename == NULL || name == NULL) {
            Py_XDECREF(filename);
            Py_XDECREF(name);
            goto done;
        }
        PyObject *item = Py_BuildValue("(NNi)", filename, name, engine.frames[i].line);
        if (item == NULL) {
            goto done;
        }
        PyList_SET_ITEM(frames, i, item);    /* steals item */
    }
    for (uint32_t i = 0; i < engine.nstacks; i++) {
        const dprof_ms_stack *s = &engine.stacks[i];
        PyObject *ids = PyTuple_New(s->depth);
        if (ids == NULL) {
            goto done;
        }
        for (uint32_t j = 0; j < s->depth; j++) {
            PyObject *id = PyLong_FromUnsignedLong(engine.pool[s->first + j]);
            if (id == NULL) {
                Py_DECREF(ids);
                goto done;
            }
            PyTuple_SET_ITEM(ids, j, id);    /* steals id */
        }
        PyObject *row = Py_BuildValue("(NKKdKK)", ids,
                                      (unsigned long long)s->alloc_bytes,
                                      (unsigned long long)s->alloc_samples,
                                      s->alloc_count,
                                      (unsigned long long)dprof_ms_stack_peak_live(&engine, i),
                                      (unsigned long long)s->live_bytes);
        if (row == NULL) {
            goto done;
        }
        PyList_SET_ITEM(stacks, i, row);     /* steals row */
    }
    tl_t = PyBytes_FromStringAndSize((const char *)engine.tl_t_ns,
                                     (Py_ssize_t)engine.tl_len * 8);
    tl_live = PyBytes_FromStringAndSize((const char *)engine.tl_live,
                                        (Py_ssize_t)engine.tl_len * 8);
    tl_stack = PyBytes_FromStringAndSize((const char *)engine.tl_stack,
                                         (Py_ssize_t)engine.tl_len * 4);
    tl_delta = PyBytes_FromStringAndSize((const char *)engine.tl_delta,
                                         (Py_ssize_t)engine.tl_len * 8);
    if (tl_t == NULL || tl_live == NULL || tl_stack == NULL || tl_delta == NULL) {
        goto done;
    }
    result = Py_BuildValue(
        "{s:O,s:O,s:d,s:K,s:K,s:K,s:K,s:K,s:K,s:d,s:K,s:K,s:K,s:K,s:O,s:O,s:O,s:O,s:O,s:d}",
        "frames", frames, "stacks", stacks,
        "mean", engine.mean,
        "seed", (unsigned long long)session_seed,
        "samples", (unsigned long long)engine.samples,
        "allocated", (unsigned long long)engine.allocated,
        "peak_live", (unsigned long long)engine.peak_total,
        "live_end", (unsigned long long)engine.live_total,
        "errors", (unsigned long long)engine.errors,
        "peak_t", engine.peak_total ? (double)(engine.peak_t_ns - started_ns) / 1e9 : -1.0,
        "unattributed_bytes", (unsigned long long)unattributed_bytes_gil,
        "nogil_bytes", (unsigned long long)atomic_load(&nogil_bytes),
        "dropped_frees", (unsigned long long)atomic_load(&ring_dropped),
        "started_ns", (unsigned long long)started_ns,
        "timeline_t_ns", tl_t, "timeline_live", tl_live,
        "timeline_stack", tl_stack, "timeline_delta", tl_delta,
        "timeline_truncated", engine.tl_truncated ? Py_True : Py_False,
        "duration", (double)(stopped - started_ns) / 1e9);
    if (result != NULL &&
        PyDict_SetItemString(result, "hooks_replaced",
                             hooks_replaced ? Py_True : Py_False) < 0) {
        Py_CLEAR(result);
    }
done:
    Py_XDECREF(frames);
    Py_XDECREF(stacks);
    Py_XDECREF(tl_t);
    Py_XDECREF(tl_live);
    Py_XDECREF(tl_stack);
    Py_XDECREF(tl_delta);
    return result;
}

PyDoc_STRVAR(memsample_stop_doc,
"memsample_stop() -> dict | None\n"
"\n"
"Stop sampling, unhook, and return what was sampled: 'frames' (filename,\n"
"function, line), 'stacks' rows (frame ids innermost first, allocated bytes,\n"
"samples, estimated allocations, live bytes at the peak, live bytes now), the\n"
"totals and the timeline: bytes buffers of native-endian uint64 ns, uint64 live\n"
"bytes after each event, uint32 stack ids and int64 changes of that stack's live\n"
"bytes (one event per sample and per free of a sampled block).\n"
"None in a forked child of the process that started the session, and when no\n"
"session runs.");

static PyObject *
memsample_stop(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    int was_sampling = sampling;
    sampling = 0;
    dprof_hooks_sampling_off();
    session_serial++;
    uint64_t stopped = dprof_ms_now_ns();
    if (hooks_held) {
        /* a window out of the chain lost samples and frees of sampled blocks */
        hooks_replaced = was_sampling && !dprof_hooks_intact_since(started_ns);
        hooks_held = 0;
        dprof_hooks_release();
    }
    dprof_ms_numpy_unhook();
    ring_drain(stopped);
    if (!was_sampling || forked_child || !engine_ready) {
        engine_clear();
        forked_child = 0;
        Py_RETURN_NONE;
    }
    PyObject *result = build_results(stopped);
    engine_clear();
    return result;
}

PyDoc_STRVAR(memsample_active_doc,
"memsample_active() -> bool\n"
"\n"
"Whether an allocation sampling session is running in this process.");

static PyObject *
memsample_active(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyBool_FromLong(sampling);
}

PyDoc_STRVAR(memsample_hook_numpy_doc,
"memsample_hook_numpy(numpy_api) -> str | None\n"
"\n"
"Hook NumPy's data allocations into the running session, for a NumPy imported\n"
"after it began (numpy_api: NumPy's _ARRAY_API capsule). None when hooked, else\n"
"the reason it is not (no session running, another handler set, ...). Never raises\n"
"for a bad capsule: the reason says what was wrong.");

static PyObject *
memsample_hook_numpy(PyObject *module, PyObject *numpy_api)
{
    (void)module;
    if (!sampling || forked_child) {
        return PyUnicode_FromString("no memory sampling session is running");
    }
    const char *reason = dprof_ms_numpy_hook(numpy_api);   /* GIL held */
    if (reason == NULL) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(reason);
}

PyDoc_STRVAR(memsample_draws_doc,
"memsample_draws(seed, mean, n) -> list[int]\n"
"\n"
"The first n gaps (bytes between sample points) the sampler draws for a seed:\n"
"for testing the engine against its pure-Python twin.");

static PyObject *
memsample_draws(PyObject *module, PyObject *args)
{
    (void)module;
    unsigned long long seed;
    double mean;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "Kdn:memsample_draws", &seed, &mean, &n)) {
        return NULL;
    }
    if (!(mean > 0) || n < 0 || n > 10000000) {
        PyErr_SetString(PyExc_ValueError, "need mean > 0 and 0 <= n <= 10**7");
        return NULL;
    }
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    uint64_t state = seed;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(dprof_ms_draw(&state, mean));
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, v);      /* steals v */
    }
    return out;
}

PyDoc_STRVAR(memsample_decide_doc,
"memsample_decide(seed, mean, sizes, through_hooks=False) -> list[int]\n"
"\n"
"The weight the sampler gives each allocation size in turn (0: not sampled),\n"
"run through the engine alone, or (through_hooks) as the allocator hooks decide\n"
"it, on their capped countdown: the twin test's oracle for both.");

static PyObject *
memsample_decide(PyObject *module, PyObject *args)
{
    (void)module;
    unsigned long long seed;
    double mean;
    PyObject *sizes;
    int through_hooks = 0;
    if (!PyArg_ParseTuple(args, "KdO|p:memsample_decide", &seed, &mean, &sizes,
                          &through_hooks)) {
        return NULL;
    }
    if (!(mean >= 1.0)) {
        PyErr_SetString(PyExc_ValueError, "mean must be >= 1");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(sizes, "sizes must be a sequence of ints");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    dprof_ms ms;
    if (dprof_ms_init(&ms, mean, seed) < 0) {
        Py_DECREF(seq);
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    int64_t countdown, reserve;
    dprof_hooks_publish(&ms, &countdown, &reserve);
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t size = PyLong_AsSize_t(PySequence_Fast_GET_ITEM(seq, i));
        if (size == (size_t)-1 && PyErr_Occurred()) {
            goto error;
        }
        uint64_t w = 0;
        int hit = through_hooks ? dprof_hooks_decide(&ms, &countdown, &reserve, size, &w)
                                : dprof_ms_should_sample(&ms, size, &w);
        if (!hit) {
            w = 0;
        }
        PyObject *v = PyLong_FromUnsignedLongLong(w);
        if (v == NULL) {
            goto error;
        }
        PyList_SET_ITEM(out, i, v);      /* steals v */
    }
    dprof_ms_free(&ms);
    Py_DECREF(seq);
    return out;
error:
    dprof_ms_free(&ms);
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

static PyMethodDef memsample_methods[] = {
    {"memsample_start", (PyCFunction)(void (*)(void))memsample_start,
     METH_VARARGS | METH_KEYWORDS, memsample_start_doc},
    {"memsample_stop", memsample_stop, METH_NOARGS, memsample_stop_doc},
    {"memsample_active", memsample_active, METH_NOARGS, memsample_active_doc},
    {"memsample_hook_numpy", memsample_hook_numpy, METH_O, memsample_hook_numpy_doc},
    {"memsample_draws", memsample_draws, METH_VARARGS, memsample_draws_doc},
    {"memsample_decide", memsample_decide, METH_VARARGS, memsample_decide_doc},
    {NULL, NULL, 0, NULL},
};

int
dprof_memsample_register(PyObject *module, dprof_state *state)
{
    (void)state;
    return PyModule_AddFunctions(module, memsample_methods);
}
