/* The stack sampler's thread and its GIL-holding walk of every thread's frames.
 *
 * One pthread per running sampler. It sleeps WITHOUT the GIL for a jittered period,
 * then takes the GIL (PyEval_RestoreThread on a thread state it keeps for its whole
 * life, so no thread state is created per tick), walks every thread of the
 * interpreter with the public frame API, and adds to a calltree table, for each
 * thread, the wall time since that thread's previous sample split by class
 * (stacks.c: dprof_classify) using the thread's CPU clock from /proc. Then it lets the
 * GIL go, measures what the tick cost and lets the budget stretch the period.
 *
 * Why time-weighted: the sampler gets the GIL only when its holder lets go, so a
 * native call holding the GIL shows up as one late sample; weighting every sample by
 * the time it stands for keeps such calls at their true share.
 *
 * Code objects are kept alive (strong references in the code cache) from the first
 * time they are seen until the sampler is freed, so a cache keyed by the code
 * object's address can never mistake a new code object for a freed one.
 *
 * Never raises while sampling: a failure is counted, its first message kept, and the
 * Python error cleared; the binding reports them at stop.
 *
 * The one non-API access: the thread's kernel TID, from the PyThreadState struct
 * (cpython/pystate.h): native_thread_id on 3.11+, thread_id (a pthread_t) before.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#include "compat.h"
#include "stack_sampler.h"

#include <sys/syscall.h>
#include "stacks.h"
#include "frame_layout.h"
#include "frame_reader.h"
#include "thread_pause.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define DPROF_MAX_DEPTH 1024

/* The least CPU time a thread must gain while the sampler waits for the GIL to
 * count as running at the sample (see sample_thread: more when the wait was long). */
#define RAN_THRESHOLD_NS 20000

/* ---- code cache: code object address -> interned names and opcode bytes ---- */

typedef struct {
    PyObject *code;         /* strong reference, keeps the address unique */
    int32_t filename;       /* string ids in the table */
    int32_t function;
    unsigned char *ops;     /* copy of co_code (un-specialised bytecode) */
    Py_ssize_t nops;
    int32_t *lines;         /* line of each code unit (-1: none), for GIL-free reads */
    Py_ssize_t nunits;      /* nops / 2 */
    int firstlineno;        /* the line of a frame that has not started (lasti -1) */
} code_entry;

typedef struct {
    code_entry *entries;
    size_t n, cap;
    int32_t *slots;         /* entry index + 1, 0 = empty; open addressing */
    size_t nslots;
} code_cache;

/* A thread seen running inside a call, decided at the end of the tick. */
typedef struct {
    pid_t tid;
    int32_t sid;
    dprof_split sp;
    double surplus;
} pending_charge;

/* Intervals a held-back wait may wait for the surplus that pays it back. */
#define MAX_DEFERRED_AGE 16

/* A thread state seen at the last GIL-holding pass, with the thread it belongs to.
 * The GIL-free reader trusts a thread state it reads only when its address and
 * thread ids match one of these (see gil_free_tick). */
typedef struct {
    uintptr_t tstate;
    pid_t tid;
    unsigned long ident;
} known_thread;

#define MAX_THREADS 1024

/* How much of the top of a thread's data stack one read copies (3.11+): the
 * innermost frames of a typical program's chain (each frame is its header plus its
 * locals and value stack, ~100-300 bytes). */
#define WINDOW_BYTES (32 * 1024)

/* Why a thread's GIL-free read was not used (indexes of need_why). */
enum { NEED_NEW_THREAD, NEED_NEW_CODE, NEED_INVALID };

/* A GIL-free read that met a code object not yet interned, kept until the GIL pass
 * has interned the thread's code, then charged at the instant it was read (see
 * "New code" in gil_free_tick): its frames, and the thread's clocks at the read. */
typedef struct {
    uintptr_t tstate;
    known_thread k;
    size_t n;
    int truncated;
    uint64_t at_ns, cpu_ns, runq_ns;
    dprof_raw_frame *frames;        /* DPROF_MAX_DEPTH */
} deferred_read;

#define MAX_DEFERRED_READS 4

#define MAX_PENDING 64
#define SETTLE_RETRIES 5
#define SETTLE_PAUSE_NS 50000

struct dprof_stack_sampler {
    double hz, jitter;
    unsigned char call_flags[256];
    dprof_budget budget;
    uint64_t rng;

    PyInterpreterState *interp;
    PyThreadState *own_tstate;      /* the sampler thread's, skipped in walks */
    pthread_t thread;
    int running;
    atomic_int stop_requested;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;            /* signalled by stop to cut a sleep short */
    struct dprof_stack_sampler *next_active;

    dprof_calltree *table;
    code_cache codes;
    pending_charge pending[MAX_PENDING];   /* threads to look at again this tick */
    uint64_t gil_wait_ns;           /* how long this tick waited for the GIL */
    size_t npending;
    dprof_task_table tasks;
    uint64_t tick;
    uint64_t start_ns, last_tick_ns;
    uint64_t pause_handler_at_start;    /* dprof_pause_handler_ns() at start() */
    uint64_t tick_held_ns;              /* this tick's time holding threads still */
    int32_t *scratch;               /* frame ids of one stack, leaf first */
    dprof_stack_sampler_stats stats;
    dprof_thread_name *names;       /* one per thread seen, in order of first sight */
    unsigned long *name_idents;     /* their threading idents, parallel to names */
    size_t nnames, names_cap;
    size_t names_resolved;          /* names[0..names_resolved) have been looked up */
    int stopping;                   /* a stop() is joining the thread (GIL released) */

    /* GIL-free reading (NULL layout: the GIL-holding walk on every tick) */
    const dprof_frame_layout *layout;
    const char *reader;             /* what reads the stacks, for the stats */
    known_thread *known;            /* thread states seen at the last GIL pass */
    size_t nknown;
    dprof_raw_thread *raw_threads;  /* MAX_THREADS, read each tick */
    size_t nraw;                    /* how many the last tick read (0: walk again) */
    unsigned char *tstate_scratch;  /* for re-reading them in one call */
    dprof_raw_frame *raw_frames;    /* DPROF_MAX_DEPTH, one thread's chain */
    dprof_frame_window window;      /* the top of one thread's data stack (3.11+) */
    uintptr_t *need;                /* thread states to sample with the GIL this tick */
    size_t nneed;
    deferred_read deferred[MAX_DEFERRED_READS];    /* this tick's new-code reads */
    size_t ndeferred;
    int pausing;                    /* hold a running thread still while it is read */
    const char *pause;              /* how threads are paused, or why not, for the stats */
};

/* ---- fork safety: a child must not believe a sampler thread runs in it ---- */

static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static dprof_stack_sampler *active_head = NULL;   /* plain C structs, no Python */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void atfork_prepare(void) { pthread_mutex_lock(&active_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&active_lock); }

static void
atfork_child(void)
{
    for (dprof_stack_sampler *s = active_head; s != NULL; s = s->next_active) {
        s->running = 0;
        s->stopping = 0;    /* a stop() joining in the parent has no thread here */
        s->stats.forked = 1;
        /* The thread is gone; its locks may have been held at fork: start over. */
        pthread_mutex_init(&s->wake_lock, NULL);
        pthread_cond_init(&s->wake, NULL);
    }
    active_head = NULL;
    pthread_mutex_unlock(&active_lock);
}

static void
install_atfork(void)
{
    (void)pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

static void
active_remove(dprof_stack_sampler *s)
{
    pthread_mutex_lock(&active_lock);
    for (dprof_stack_sampler **p = &active_head; *p != NULL; p = &(*p)->next_active) {
        if (*p == s) {
            *p = s->next_active;
            break;
        }
    }
    s->next_active = NULL;
    pthread_mutex_unlock(&active_lock);
}

/* ---- failures are recorded, never raised ---------------------------------- */

static void
record_error(dprof_stack_sampler *s, const char *what)
{
    s->stats.errors++;
    if (s->stats.first_error[0] != '\0') {
        PyErr_Clear();
        return;
    }
    const char *detail = "";
    PyObject *msg = NULL;
    if (PyErr_Occurred()) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        /* May be called during the thread walk, which must not run Python code:
         * only a built-in exception's str() is taken (it is C); others are named
         * by type. */
        if (value != NULL && !(PyType_GetFlags(Py_TYPE(value)) & Py_TPFLAGS_HEAPTYPE)) {
            msg = PyObject_Str(value);
        }
        else if (value != NULL) {
            msg = PyUnicode_FromString(Py_TYPE(value)->tp_name);
        }
        if (msg != NULL) {
            detail = PyUnicode_AsUTF8(msg);
            if (detail == NULL) {
                detail = "";
            }
        }
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        PyErr_Clear();
    }
    snprintf(s->stats.first_error, sizeof s->stats.first_error, "%s%s%s", what,
             detail[0] ? ": " : "", detail);
    Py_XDECREF(msg);
    PyErr_Clear();
}

/* ---- code cache ------------------------------------------------------------ */

static size_t
ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* Interns str attribute `attr` of a code object ("?" when it is not a str); the
 * string id, or -1 when memory ran out. */
static int32_t
intern_attr_string(dprof_stack_sampler *s, PyObject *code, const char *attr)
{
    PyObject *v = PyObject_GetAttrString(code, attr);   /* new ref */
    const char *str = "?";
    Py_ssize_t len = 1;
    if (v != NULL && PyUnicode_Check(v)) {
        const char *u = PyUnicode_AsUTF8AndSize(v, &len);
        if (u != NULL) {
            str = u;
        }
        else {
            PyErr_Clear();      /* unencodable name: keep "?" */
            len = 1;
        }
    }
    else {
        PyErr_Clear();
    }
    int32_t id = dprof_calltree_intern_string(s->table, str, (size_t)len);
    Py_XDECREF(v);
    return id;
}

static int
code_cache_grow(code_cache *cc)
{
    size_t nslots = cc->nslots ? cc->nslots * 2 : 256;
    int32_t *slots = PyMem_RawCalloc(nslots, sizeof(int32_t));
    if (slots == NULL) {
        return -1;
    }
    for (size_t i = 0; i < cc->n; i++) {
        size_t j = ptr_hash(cc->entries[i].code) & (nslots - 1);
        while (slots[j] != 0) {
            j = (j + 1) & (nslots - 1);
        }
        slots[j] = (int32_t)i + 1;
    }
    PyMem_RawFree(cc->slots);
    cc->slots = slots;
    cc->nslots = nslots;
    return 0;
}

/* The entry of the code object at `addr`, or NULL when it was never interned. Reads
 * only the cache (no Python object, no GIL): the GIL-free reader validates a frame's
 * code pointer with it. A hit names a live code object, since the cache holds a
 * strong reference to each; a freed frame's stale pointer can at worst hit a code
 * object that is still alive, whose names and lines are then all valid. */
static code_entry *
code_cache_find(const code_cache *cc, uintptr_t addr)
{
    if (cc->nslots == 0) {
        return NULL;
    }
    for (size_t j = ptr_hash((const void *)addr) & (cc->nslots - 1);;
         j = (j + 1) & (cc->nslots - 1)) {
        int32_t e = cc->slots[j];
        if (e == 0) {
            return NULL;
        }
        if ((uintptr_t)cc->entries[e - 1].code == addr) {
            return &cc->entries[e - 1];
        }
    }
}

/* Fills ent->lines: the line of every code unit, computed once here (with the GIL)
 * so that a GIL-free read turns an instruction offset into a line with one array
 * load. Matches PyFrame_GetLineNumber (PyCode_Addr2Line on the unit's byte
 * offset); tests/stacks/test_gil_free_reader.py holds the two to the same answers.
 * 3.10+ walks co_lines() once (C code, runs no Python), linear in the code's size;
 * 3.9 has no co_lines and asks PyCode_Addr2Line per unit. 0, or -1 (out of memory;
 * other failures leave the lines at -1 and clear the error). */
static int
code_entry_lines(code_entry *ent, PyObject *code)
{
    ent->nunits = ent->nops / 2;
    ent->lines = PyMem_RawMalloc((size_t)(ent->nunits ? ent->nunits : 1) * sizeof(int32_t));
    if (ent->lines == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < ent->nunits; i++) {
        ent->lines[i] = -1;
    }
    ent->firstlineno = ((PyCodeObject *)code)->co_firstlineno;
#if PY_VERSION_HEX >= 0x030A0000
    PyObject *it = PyObject_CallMethod(code, "co_lines", NULL);     /* new ref */
    PyObject *item;
    if (it == NULL) {
        PyErr_Clear();
        return 0;
    }
    while ((item = PyIter_Next(it)) != NULL) {                     /* new ref */
        long start, end, line = -1;
        if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 3) {
            start = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
            end = PyLong_AsLong(PyTuple_GET_ITEM(item, 1));
            PyObject *l = PyTuple_GET_ITEM(item, 2);                /* borrowed */
            if (l != Py_None) {
                line = PyLong_AsLong(l);
            }
            if (PyErr_Occurred()) {
                PyErr_Clear();
            }
            else {
                for (long u = start / 2; u < end / 2 && u < (long)ent->nunits; u++) {
                    if (u >= 0) {
                        ent->lines[u] = (int32_t)line;
                    }
                }
            }
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    PyErr_Clear();
#else
    for (Py_ssize_t i = 0; i < ent->nunits; i++) {
        ent->lines[i] = PyCode_Addr2Line((PyCodeObject *)code, (int)(i * 2));
    }
#endif
    return 0;
}

int
dprof_stack_code_lines(PyObject *code, int32_t **lines, Py_ssize_t *nunits)
{
    code_entry ent = {NULL, -1, -1, NULL, 0, NULL, 0, 0};
    PyObject *bytecode = PyObject_GetAttrString(code, "co_code");   /* new ref */
    if (bytecode == NULL) {
        return -1;
    }
    if (!PyBytes_Check(bytecode)) {
        Py_DECREF(bytecode);
        PyErr_SetString(PyExc_TypeError, "co_code is not bytes");
        return -1;
    }
    ent.nops = PyBytes_GET_SIZE(bytecode);
    Py_DECREF(bytecode);
    if (code_entry_lines(&ent, code) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    *lines = ent.lines;
    *nunits = ent.nunits;
    return 0;
}

/* Borrowed code -> its entry (added on first sight); NULL when it failed. */
static code_entry *
code_cache_get(dprof_stack_sampler *s, PyObject *code)
{
    code_cache *cc = &s->codes;
    code_entry *found = code_cache_find(cc, (uintptr_t)code);
    if (found != NULL) {
        return found;
    }
    if ((cc->n + 1) * 2 > cc->nslots && code_cache_grow(cc) < 0) {
        return NULL;
    }
    if (cc->n == cc->cap) {
        size_t ncap = cc->cap ? cc->cap * 2 : 128;
        code_entry *n = PyMem_RawRealloc(cc->entries, ncap * sizeof(code_entry));
        if (n == NULL) {
            return NULL;
        }
        cc->entries = n;
        cc->cap = ncap;
    }
    code_entry ent = {NULL, -1, -1, NULL, 0, NULL, 0, 0};
    ent.filename = intern_attr_string(s, code, "co_filename");
    /* co_qualname (3.11+) names methods by class; co_name before that. Asking for
     * the one that exists raises nothing, so the walk allocates no exception. */
#if PY_VERSION_HEX >= 0x030B0000
    ent.function = intern_attr_string(s, code, "co_qualname");
#else
    ent.function = intern_attr_string(s, code, "co_name");
#endif
    if (ent.filename < 0 || ent.function < 0) {
        return NULL;
    }
    PyObject *bytecode = PyObject_GetAttrString(code, "co_code");   /* new ref */
    if (bytecode != NULL && PyBytes_Check(bytecode)) {
        ent.nops = PyBytes_GET_SIZE(bytecode);
        ent.ops = PyMem_RawMalloc(ent.nops ? (size_t)ent.nops : 1);
        if (ent.ops == NULL) {
            Py_DECREF(bytecode);
            return NULL;
        }
        memcpy(ent.ops, PyBytes_AS_STRING(bytecode), (size_t)ent.nops);
    }
    else {
        PyErr_Clear();  /* no bytecode: the leaf is never "at a call" */
    }
    Py_XDECREF(bytecode);
    if (code_entry_lines(&ent, code) < 0) {
        PyMem_RawFree(ent.ops);
        return NULL;
    }
    ent.code = Py_NewRef(code);
    cc->entries[cc->n] = ent;
    size_t j = ptr_hash(code) & (cc->nslots - 1);
    while (cc->slots[j] != 0) {
        j = (j + 1) & (cc->nslots - 1);
    }
    cc->slots[j] = (int32_t)cc->n + 1;
    return &cc->entries[cc->n++];
}

static void
code_cache_clear(code_cache *cc)
{
    for (size_t i = 0; i < cc->n; i++) {
        Py_DECREF(cc->entries[i].code);
        PyMem_RawFree(cc->entries[i].ops);
        PyMem_RawFree(cc->entries[i].lines);
    }
    PyMem_RawFree(cc->entries);
    PyMem_RawFree(cc->slots);
    memset(cc, 0, sizeof *cc);
}

/* ---- the walk (GIL held) ----------------------------------------------------- */

/* Whether the leaf frame is executing a call-family instruction. */
static int
leaf_at_call(dprof_stack_sampler *s, PyFrameObject *frame, const code_entry *ce)
{
    int lasti;
#if PY_VERSION_HEX >= 0x030B0000
    lasti = PyFrame_GetLasti(frame);
#else
    /* The Python attribute is a byte offset on 3.9 and 3.10 alike (the C field of
     * 3.10 counts code units). */
    PyObject *v = PyObject_GetAttrString((PyObject *)frame, "f_lasti");
    if (v == NULL) {
        record_error(s, "reading f_lasti");
        return 0;
    }
    lasti = (int)PyLong_AsLong(v);
    Py_DECREF(v);
    if (lasti == -1 && PyErr_Occurred()) {
        record_error(s, "reading f_lasti");
        return 0;
    }
#endif
    if (ce->ops == NULL || lasti < 0 || lasti >= ce->nops) {
        return 0;
    }
    return s->call_flags[ce->ops[lasti]] != 0;
}

/* Notes a newly seen thread so that its threading.Thread name is looked up after
 * the walk (resolve_thread_names): threads that end before stop keep their names.
 * Nothing here may run Python code (see sample_all). Failures leave it unnamed. */
static void
note_new_thread(dprof_stack_sampler *s, unsigned long ident, pid_t tid)
{
    for (size_t i = 0; i < s->nnames; i++) {
        if (s->names[i].tid == (uint64_t)tid) {
            return;
        }
    }
    if (s->nnames == s->names_cap) {
        size_t ncap = s->names_cap ? s->names_cap * 2 : 16;
        dprof_thread_name *n = PyMem_RawRealloc(s->names, ncap * sizeof *n);
        unsigned long *idents = PyMem_RawRealloc(s->name_idents, ncap * sizeof *idents);
        if (n != NULL) {
            s->names = n;
        }
        if (idents != NULL) {
            s->name_idents = idents;
        }
        if (n == NULL || idents == NULL) {
            return;   /* both arrays keep their old (valid) size */
        }
        s->names_cap = ncap;
    }
    s->names[s->nnames].tid = (uint64_t)tid;
    s->names[s->nnames].name = -1;
    s->name_idents[s->nnames] = ident;   /* threading.get_ident() */
    s->nnames++;
}

/* Looks up the names of the threads noted since the last call, in
 * threading._active by ident. Runs Python code (the Thread.name property), so only
 * after the walk, when no PyThreadState pointer is held any more. */
static void
resolve_thread_names(dprof_stack_sampler *s)
{
    PyObject *modname = NULL, *mod = NULL, *active = NULL;
    if (s->names_resolved == s->nnames) {
        return;
    }
    modname = PyUnicode_FromString("threading");                        /* new */
    if (modname != NULL) {
        mod = PyImport_GetModule(modname);                              /* new or NULL */
    }
    if (mod != NULL) {
        active = PyObject_GetAttrString(mod, "_active");                /* new */
    }
    for (size_t i = s->names_resolved; i < s->nnames; i++) {
        PyObject *key, *thread, *name = NULL;
        if (active == NULL || !PyDict_Check(active)) {
            break;
        }
        key = PyLong_FromUnsignedLong(s->name_idents[i]);               /* new */
        thread = key ? PyDict_GetItemWithError(active, key) : NULL;     /* borrowed */
        if (thread != NULL) {
            Py_INCREF(thread);   /* the name getter may change _active */
            name = PyObject_GetAttrString(thread, "name");              /* new */
            Py_DECREF(thread);
        }
        if (name != NULL && PyUnicode_Check(name)) {
            Py_ssize_t len;
            const char *u = PyUnicode_AsUTF8AndSize(name, &len);
            if (u != NULL) {
                s->names[i].name = dprof_calltree_intern_string(s->table, u, (size_t)len);
            }
        }
        PyErr_Clear();   /* an unnamed thread is not a failure */
        Py_XDECREF(name);
        Py_XDECREF(key);
    }
    PyErr_Clear();
    Py_XDECREF(active);
    Py_XDECREF(mod);
    Py_XDECREF(modname);
    s->names_resolved = s->nnames;
}

/* The kernel TID of a thread state's thread, or 0. */
static pid_t
thread_tid(PyThreadState *ts)
{
#if PY_VERSION_HEX >= 0x030B0000
    return (pid_t)ts->native_thread_id;
#else
    /* 3.9/3.10 keep only the pthread_t. Its CPU clock id encodes the TID (glibc and
     * musl both build it as (~tid << 3) | CPUCLOCK_SCHED). The pthread_t is valid:
     * a thread state is deleted, under the GIL we hold, before its thread ends. */
    clockid_t cid;
    if (pthread_getcpuclockid((pthread_t)ts->thread_id, &cid) != 0) {
        return 0;
    }
    return (pid_t)~((int)cid >> 3);
#endif
}

/* Samples one thread: its stack, then its time split by class. */
/* Adds one thread's interval to the table.
 *
 * The interval holds both the thread's computing and its waiting, but the sample
 * only shows where the thread is at its end. The part of the interval that is not
 * what the thread is doing now most likely happened where the thread was last seen
 * doing it: a thread blocked now (inside a call, in a system call other than futex,
 * or in futex without having run while this sampler waited for the GIL) computed
 * earlier where it was last seen running; a thread running now waited earlier where
 * it was last seen blocked. Charging the whole interval to the stack seen now would
 * put "CPU in native code" on a time.sleep line and sleep inside a compute loop.
 * futex is the GIL or a lock; the thread's CPU clock, read just before this sampler
 * asked for the GIL and again after, tells a thread that ran until it handed over
 * the GIL from one that waited all along. */
static int
add_time(dprof_stack_sampler *s, dprof_task *task, int32_t sid, int category,
         uint64_t samples, double seconds)
{
    if ((seconds > 0 || samples > 0)
        && dprof_calltree_add(s->table, (uint64_t)task->tid, sid, category, samples,
                              seconds) < 0) {
        record_error(s, "out of memory adding a sample");
        return -1;
    }
    return 0;
}

/* Charges the held-back wait of a task as waiting, where it was seen. */
static int
flush_deferred(dprof_stack_sampler *s, dprof_task *task)
{
    double w = task->deferred_wait;
    task->deferred_wait = 0;
    task->deferred_age = 0;
    return add_time(s, task, task->deferred_wait_stack, task->deferred_wait_category, 0, w);
}

/* Accounting lag. A thread's run-queue wait in schedstat is brought up to date
 * only when the thread gets a CPU, so a thread that is runnable but waiting for a
 * CPU at the sampling instant (common on a loaded machine, and visible now that
 * samples are taken at any instant, not at GIL hand-overs) shows less busy time
 * than it had, and the interval after shows more than its wall time. `surplus` is
 * that excess (cpu + runq - wall, positive). The wait of an interval that ends
 * with the thread running is therefore held back (up to MAX_DEFERRED_AGE
 * intervals), and a later surplus turns it back into CPU time where it was seen;
 * what is not paid back is charged as waiting when the thread is next seen blocked,
 * when the hold expires, or at stop. Class totals then match the clocks. */
static int
charge(dprof_stack_sampler *s, dprof_task *task, int32_t sid, dprof_split sp,
       int at_call, int running_now, double surplus)
{
    int blocked_now = at_call && !running_now;
    int32_t cpu_sid = sid, wait_sid = sid;
    int cpu_category = sp.cpu_category, wait_category = sp.wait_category;
    if (blocked_now) {
        if (task->run_stack >= 0) {
            cpu_sid = task->run_stack;
            cpu_category = task->run_category;
        }
        task->wait_stack = sid;
        task->wait_category = sp.wait_category;
    }
    else if (running_now) {
        if (task->wait_stack >= 0) {
            wait_sid = task->wait_stack;
            wait_category = task->wait_category;
        }
        task->run_stack = sid;
        task->run_category = sp.cpu_category;
    }
    if (task->deferred_wait > 0 && surplus > 0) {
        double back = surplus < task->deferred_wait ? surplus : task->deferred_wait;
        task->deferred_wait -= back;
        if (add_time(s, task, task->deferred_cpu_stack, task->deferred_cpu_category, 0,
                     back) < 0) {
            return -1;
        }
    }
    double wait_now = sp.wait_seconds;
    if (running_now && wait_now > 0) {
        if (task->deferred_wait <= 0) {
            task->deferred_wait_stack = wait_sid;
            task->deferred_wait_category = wait_category;
            task->deferred_cpu_stack = cpu_sid;
            task->deferred_cpu_category = cpu_category;
            task->deferred_age = 0;
        }
        task->deferred_wait += wait_now;
        wait_now = 0;
    }
    /* The sample itself is counted once, on the CPU row unless it had no CPU. */
    int on_cpu_row = sp.cpu_seconds > 0 || wait_now <= 0;
    if ((sp.cpu_seconds > 0 || on_cpu_row)
        && add_time(s, task, cpu_sid, cpu_category, on_cpu_row, sp.cpu_seconds) < 0) {
        return -1;
    }
    if (wait_now > 0
        && add_time(s, task, wait_sid, wait_category, !on_cpu_row, wait_now) < 0) {
        return -1;
    }
    if (task->deferred_wait > 0
        && (!running_now || ++task->deferred_age > MAX_DEFERRED_AGE)
        && flush_deferred(s, task) < 0) {
        return -1;
    }
    s->stats.thread_samples++;
    return 0;
}

/* Decides the threads that were seen running inside a call (see sample_thread).
 * One that was only on its way into a blocking system call gets there within
 * microseconds, unless the scheduler put it aside first (likely on a loaded
 * machine), so it is looked at up to `retries` more times, SETTLE_PAUSE_NS apart.
 * Runs after the GIL is handed back (only this sampler's thread touches its
 * tables), so the pauses cost the program nothing. */
static void
settle_pending(dprof_stack_sampler *s, int retries)
{
    for (size_t i = 0; i < s->npending; i++) {
        pending_charge *p = &s->pending[i];
        dprof_task *task = dprof_tasks_get(&s->tasks, p->tid);   /* the array may have moved */
        if (task == NULL) {
            record_error(s, "out of memory tracking a thread");
            continue;
        }
        int sc = dprof_task_syscall(task);
        for (int attempt = 0; sc == DPROF_SYSCALL_RUNNING && attempt < retries; attempt++) {
            struct timespec pause = {0, SETTLE_PAUSE_NS};
            nanosleep(&pause, NULL);
            sc = dprof_task_syscall(task);
        }
        int running_now = !(sc >= 0 && sc != SYS_futex);
        (void)charge(s, task, p->sid, p->sp, 1, running_now, p->surplus);
    }
    s->npending = 0;
}

/* Adds the sample of thread `tid` whose stack (leaf first) is in s->scratch[0..depth):
 * the wall time since its previous sample, split by class (see charge). `ident` is
 * its threading ident (for its name); `gil_free` says the stack was read without the
 * GIL, at an instant of the sampler's choosing rather than at a GIL hand-over (see
 * "Running at the sample" below). */
static void
record_sample(dprof_stack_sampler *s, pid_t tid, unsigned long ident, size_t depth,
              int at_call, uint64_t now, int record, int gil_free,
              const deferred_read *read_earlier)
{
    /* Root first, as the model stores stacks. */
    for (size_t i = 0; i < depth / 2; i++) {
        int32_t t = s->scratch[i];
        s->scratch[i] = s->scratch[depth - 1 - i];
        s->scratch[depth - 1 - i] = t;
    }
    dprof_task *task = dprof_tasks_get(&s->tasks, tid);
    if (task == NULL) {
        record_error(s, "out of memory tracking a thread");
        return;
    }
    if (!task->have_prev) {
        note_new_thread(s, ident, tid);
    }
    task->seen_tick = s->tick;
    uint64_t cpu_ns, runq_ns;
    if (read_earlier != NULL) {
        cpu_ns = read_earlier->cpu_ns;      /* its clocks at the instant it was read */
        runq_ns = read_earlier->runq_ns;
    }
    else if (dprof_task_cpu(task, &cpu_ns, &runq_ns) < 0) {
        return;     /* the thread has just exited */
    }
    if (record && task->have_prev) {
        double wall = (double)(now - task->prev_wall_ns) / 1e9;
        double cpu = (double)(cpu_ns - task->prev_cpu_ns) / 1e9;
        double runq = (double)(runq_ns - task->prev_runq_ns) / 1e9;
        /* The scheduler state tells disk waits from other sleeps; read it only when
         * the thread did wait (it costs a /proc read). */
        char state = 0;
        if (cpu + runq < 0.9 * wall && at_call) {
            state = dprof_task_state(task);
        }
        dprof_split sp = dprof_classify(wall, cpu, runq, at_call, state);
        double surplus = cpu + runq - wall;     /* > 0: lag paid back, see charge */
        int32_t sid = dprof_calltree_intern_stack(s->table, s->scratch, depth);
        if (sid < 0) {
            record_error(s, "out of memory adding a sample");
            return;
        }
        /* Running at the sample. */
        int ran_at_sample = -1;     /* unknown */
        uint64_t clock_now;
        if (!gil_free && task->pre_tick == s->tick
            && dprof_task_clock_ns(task, &clock_now) == 0) {
            /* A thread that was computing ran for most of the time this sampler
             * waited for the GIL; one that only woke up (from a sleep, to take the
             * GIL back) ran for a sliver of it. */
            uint64_t need = s->gil_wait_ns / 2;
            if (need < RAN_THRESHOLD_NS) {
                need = RAN_THRESHOLD_NS;
            }
            ran_at_sample = clock_now > task->pre_clock_ns + need;
        }
        double busy_fraction = wall > 0 ? sp.cpu_seconds / wall : 1.0;
        int ran = ran_at_sample >= 0 ? ran_at_sample : busy_fraction >= 0.5;
        /* A GIL-free sample also asks for a thread that waited between two
         * bytecodes: runnable now means the wait may be accounting lag (charge). */
        int syscall_now = at_call || (gil_free && sp.wait_seconds > 0)
            ? dprof_task_syscall(task) : DPROF_SYSCALL_UNKNOWN;
        if (syscall_now == DPROF_SYSCALL_RUNNING && !gil_free && s->npending < MAX_PENDING) {
            /* Running inside a call: native code on a CPU, or a thread that has
             * just released the GIL on its way into a blocking system call (that
             * release is what let this sampler in). Looked at again at the end of
             * the tick, see settle_pending. A GIL-free read is taken at an instant
             * no thread chose, so a thread running there is simply running. */
            s->pending[s->npending++] = (pending_charge){task->tid, sid, sp, surplus};
        }
        else {
            int running_now;
            if (syscall_now == DPROF_SYSCALL_RUNNING) {
                running_now = 1;
            }
            else if (syscall_now >= 0 && (gil_free || syscall_now != SYS_futex)) {
                /* Without the GIL held by the sampler, a futex is a real wait (a
                 * lock, or the GIL another thread holds). */
                running_now = 0;
            }
            else {
                running_now = ran;
            }
            if (charge(s, task, sid, sp, at_call, running_now, surplus) < 0) {
                return;
            }
        }
    }
    task->have_prev = 1;
    task->prev_wall_ns = now;
    task->prev_cpu_ns = cpu_ns;
    task->prev_runq_ns = runq_ns;
}

/* Samples one thread with the GIL held, through the public frame API. */
static void
sample_thread(dprof_stack_sampler *s, PyThreadState *ts, uint64_t now, int record,
              const deferred_read *read_earlier)
{
    PyFrameObject *frame = PyThreadState_GetFrame(ts);     /* new ref or NULL */
    if (frame == NULL) {
        return;     /* no Python code running in it */
    }
    size_t depth = 0;
    int at_call = 0;
    int failed = 0;
    PyFrameObject *f = frame;          /* owned */
    while (f != NULL) {
        if (depth == DPROF_MAX_DEPTH) {
            s->stats.truncated_stacks++;
            Py_DECREF(f);
            break;
        }
        PyCodeObject *code = PyFrame_GetCode(f);            /* new ref, never NULL */
        code_entry *ce = code_cache_get(s, (PyObject *)code);
        int32_t fid = -1;
        if (ce != NULL) {
            if (depth == 0) {
                at_call = leaf_at_call(s, f, ce);
            }
            fid = dprof_calltree_intern_frame(s->table, ce->filename, ce->function,
                                              PyFrame_GetLineNumber(f));
        }
        Py_DECREF(code);
        if (fid < 0) {
            failed = 1;
            Py_DECREF(f);
            break;
        }
        s->scratch[depth++] = fid;
        PyFrameObject *back = PyFrame_GetBack(f);           /* new ref or NULL */
        Py_DECREF(f);
        f = back;
    }
    if (failed) {
        record_error(s, "out of memory interning a frame");
        return;
    }
    pid_t tid = thread_tid(ts);
    if (tid <= 0) {
        record_error(s, "finding a thread's TID");
        return;
    }
    record_sample(s, tid, ts->thread_id, depth, at_call, now, record, 0, read_earlier);
}

/* ---- GIL-free reads ------------------------------------------------------------
 *
 * On versions whose frame layout frame_layout.c knows, a tick reads every thread's
 * frame chain and current instruction without the GIL, from the sampler's own
 * thread, as an outside profiler would: the lines are those that run at the instant
 * of the sample, not the eval-breaker points where a GIL hand-over can happen. The
 * GIL is taken only for a thread whose read cannot be used, and then that thread is
 * sampled by the GIL-holding walk above (which interns what it meets):
 *
 * - a thread state not seen at the last GIL pass (a new thread);
 * - a frame whose code object is not in the code cache (first sight of that code:
 *   interning needs the GIL, since it reads the code's names and line table);
 * - a read that fails or does not validate (a frame or thread state freed while it
 *   was read; an instruction outside its code).
 * Each case is counted (stats gil_new_thread, gil_new_code, gil_invalid).
 *
 * The race, and why it is harmless. The interpreter changes its thread list and
 * every frame chain while this thread reads them. Every read is a copy through
 * process_vm_readv (frame_reader.c), so freed memory gives EFAULT or stale bytes,
 * never a fault. Stale bytes are trusted only after validation:
 * - a thread state's address and its thread ids (kernel TID on 3.11+, threading
 *   ident) must match a thread state seen, with the GIL, at the last GIL pass, and
 *   its interp field must be our interpreter; a state freed and reused by another
 *   thread shows other ids and goes to the GIL pass;
 * - each frame's code pointer must be a code object in the cache, which holds a
 *   strong reference to every one, so a hit is always a live code object whose
 *   names and lines are ours (the interpreter's object is never touched); its
 *   instruction index must lie inside that code.
 * What validation cannot exclude is a frame popped an instant before it was read,
 * whose bytes still name its (live) code: the sample then shows the stack as it
 * was microseconds earlier, as an outside reader's would. A chain is read at most
 * DPROF_MAX_DEPTH frames deep, so a cycle through reused memory ends.
 * The thread states' TIDs come from the known list, never from memory read here, so
 * the /proc files opened are always those of threads the GIL pass saw. */

static const known_thread *
known_find(const dprof_stack_sampler *s, uintptr_t tstate)
{
    for (size_t i = 0; i < s->nknown; i++) {
        if (s->known[i].tstate == tstate) {
            return &s->known[i];
        }
    }
    return NULL;
}

/* Records a thread state of the interpreter's list as known (GIL held). */
static void
note_known(dprof_stack_sampler *s, PyThreadState *ts)
{
    if (s->known == NULL || s->nknown == MAX_THREADS || ts == s->own_tstate) {
        return;
    }
    pid_t tid = thread_tid(ts);
    if (tid > 0) {
        s->known[s->nknown++] = (known_thread){(uintptr_t)ts, tid, ts->thread_id};
    }
}

static int
needs_gil(const dprof_stack_sampler *s, PyThreadState *ts)
{
    for (size_t i = 0; i < s->nneed; i++) {
        if (s->need[i] == (uintptr_t)ts) {
            return 1;
        }
    }
    return 0;
}

/* Samples one thread from the n frames the reader copied (truncated: the chain was
 * longer), with its clocks from read_earlier when the read was kept for a GIL pass
 * (else read now): -1 when done (recorded, or
 * nothing to record), else the NEED_* reason it must be sampled with the GIL. */
static int
sample_thread_gil_free(dprof_stack_sampler *s, const known_thread *k, uint64_t now,
                       const dprof_raw_frame *frames, size_t n, int truncated,
                       const deferred_read *read_earlier)
{
    size_t depth = 0;
    int at_call = 0;
    for (size_t i = 0; i < n; i++) {
        const dprof_raw_frame *rf = &frames[i];
        const code_entry *ce = code_cache_find(&s->codes, rf->code);
        if (ce == NULL) {
            return NEED_NEW_CODE;
        }
        if (rf->lasti < -1 || rf->lasti >= (int64_t)ce->nunits) {
            return NEED_INVALID;
        }
        /* 3.11+: a frame still in its set-up (before its RESUME, lasti below
         * _co_firsttraceable) is kept, at its first line: the call has happened
         * and the time is the callee's, as an outside reader (py-spy) counts it.
         * The public API leaves such frames out; only a leaf can be one. */
        int line = rf->lasti < 0 ? ce->firstlineno : ce->lines[rf->lasti];
        if (depth == 0) {
            Py_ssize_t byte = (Py_ssize_t)rf->lasti * 2;
            at_call = ce->ops != NULL && byte >= 0 && byte < ce->nops
                      && s->call_flags[ce->ops[byte]] != 0;
        }
        int32_t fid = dprof_calltree_intern_frame(s->table, ce->filename, ce->function,
                                                  line);
        if (fid < 0) {
            s->stats.errors++;      /* no GIL here: record_error needs it */
            return -1;
        }
        s->scratch[depth++] = fid;
    }
    if (truncated) {
        s->stats.truncated_stacks++;
    }
    if (depth == 0) {
        return -1;
    }
    record_sample(s, k->tid, k->ident, depth, at_call, now, 1, 1, read_earlier);
    s->stats.gil_free_samples++;
    return -1;
}

/* Interns the code objects of ts's current frames (GIL held), recording nothing. */
static void
intern_thread_code(dprof_stack_sampler *s, PyThreadState *ts)
{
    PyFrameObject *f = PyThreadState_GetFrame(ts);         /* new ref or NULL */
    for (size_t depth = 0; f != NULL; depth++) {
        PyCodeObject *code = PyFrame_GetCode(f);            /* new ref, never NULL */
        int failed = depth == DPROF_MAX_DEPTH || code_cache_get(s, (PyObject *)code) == NULL;
        Py_DECREF(code);
        PyFrameObject *back = failed ? NULL : PyFrame_GetBack(f);  /* new ref or NULL */
        Py_DECREF(f);
        f = back;
    }
}

/* New code. A read that met a code object not in the cache is kept (its frames and
 * the thread's clocks at the read); with the GIL, the thread's current code is
 * interned and the kept frames looked up again. When every one is now in the cache
 * (the usual case: the new code is still running, or still on the stack), the
 * sample is charged at the instant it was read, and the wait for the GIL goes to the
 * thread's next sample. Otherwise (*kept is then the read) the thread is sampled
 * where it is now, but for the interval up to the read only, with its clocks then:
 * the wait still goes to the next sample. Without this, compiled code that holds the GIL for milliseconds and
 * calls into Python (mypyc's black) put each new code object's whole wait on the
 * eval-breaker point where the GIL was handed over, a function's `def` line.
 * A kept code pointer is only ever matched against the cache (live objects): never
 * dereferenced. 1 when ts's sample was charged this way. */
static int
charge_deferred(dprof_stack_sampler *s, PyThreadState *ts, const deferred_read **kept)
{
    for (size_t i = 0; i < s->ndeferred; i++) {
        deferred_read *d = &s->deferred[i];
        if (d->tstate != (uintptr_t)ts) {
            continue;
        }
        *kept = d;
        intern_thread_code(s, ts);
        if (PyErr_Occurred()) {
            record_error(s, "interning a thread's code");
            return 0;
        }
        if (sample_thread_gil_free(s, &d->k, d->at_ns, d->frames, d->n, d->truncated, d)
            >= 0) {
            return 0;
        }
        s->stats.new_code_charged_at_read++;
        return 1;
    }
    return 0;
}

/* The GIL-holding part of a GIL-free tick: samples the threads in s->need with the
 * public API and renews the known list. Same rules as sample_all (below): nothing
 * may run Python code while PyThreadState pointers are held. */
static void
gil_pass(dprof_stack_sampler *s, uint64_t now)
{
#if PY_VERSION_HEX >= 0x030A0000
    int gc_was_enabled = PyGC_Disable();
#endif
    s->nknown = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(s->interp); ts != NULL;
         ts = PyThreadState_Next(ts)) {
        note_known(s, ts);
        if (ts == s->own_tstate || !needs_gil(s, ts)) {
            continue;
        }
        const deferred_read *d = NULL;
        if (!charge_deferred(s, ts, &d)) {
            /* where it is now, but for the interval up to its read when one was kept */
            sample_thread(s, ts, d != NULL ? d->at_ns : now, 1, d);
        }
    }
#if PY_VERSION_HEX >= 0x030A0000
    if (gc_was_enabled) {
        (void)PyGC_Enable();
    }
#endif
    if (PyErr_Occurred()) {
        record_error(s, "walking threads");
    }
    resolve_thread_names(s);
}

/* One tick that reads without the GIL, taking it only where needed (see above).
 * Returns 0 and the time it held the GIL, or -1 when the thread list could not be
 * read (nothing recorded: the caller does a GIL-holding tick instead). *saved is the
 * sampler's thread state while it does not hold the GIL. */
/* The interpreter's thread list into s->raw_threads: the last tick's list re-read
 * in one system call when it has not changed (the usual case), else walked. */
static int
read_thread_list(dprof_stack_sampler *s, size_t *n)
{
    const dprof_frame_layout *L = s->layout;
    if (s->nraw > 0 && s->nraw < DPROF_MAX_PIECES) {
        if (s->tstate_scratch == NULL) {
            /* the raw allocator needs no GIL */
            s->tstate_scratch = PyMem_RawMalloc((DPROF_MAX_PIECES - 1) * dprof_tstate_span(L));
        }
        if (s->tstate_scratch != NULL
            && dprof_read_threads_again(L, (uintptr_t)s->interp, s->raw_threads, s->nraw,
                                        s->tstate_scratch) == 0) {
            *n = s->nraw;
            return 0;
        }
    }
    s->nraw = 0;
    s->stats.thread_list_walks++;
    if (dprof_read_threads(L, (uintptr_t)s->interp, s->raw_threads, MAX_THREADS, n) < 0) {
        return -1;
    }
    s->nraw = *n;
    return 0;
}

/* Holds thread k (whose record is `task`) still for its read (thread_pause.h); the
 * caller has seen it running outside any system call. 1 when held: the caller
 * reads it, then lets it go with dprof_pause_release. A thread that has not
 * answered PAUSE_MISSES_MAX pauses in a row (its signal blocked, say) is read
 * running, as before, and asked again only every PAUSE_RETRY_TICKS ticks, so that
 * it costs no tick a wait for its answer. */
#define PAUSE_MISSES_MAX 3
#define PAUSE_RETRY_TICKS 100
static int
pause_for_read(dprof_stack_sampler *s, dprof_task *task, const known_thread *k)
{
    if (task->pause_misses >= PAUSE_MISSES_MAX && s->tick % PAUSE_RETRY_TICKS != 0) {
        return 0;
    }
    uint64_t asked = dprof_now_ns();
    int held = dprof_pause_thread(dprof_self_pid(), k->tid);
    s->stats.pause_answer_ns += dprof_now_ns() - asked;
    if (held) {
        task->pause_misses = 0;
        return 1;
    }
    task->pause_misses++;
    s->stats.pause_missed++;
    return 0;
}

/* How a thread is kept still for its GIL-free read. */
enum { READ_RUNNING = 0, READ_HELD = 1, READ_OFF_CPU = 2 };

/* Whether thread k, running outside any system call, is on a CPU now: its CPU clock
 * (which the kernel brings up to date on every read of a thread that is on a CPU)
 * moves between two reads a microsecond apart. One that is runnable but waiting
 * for a CPU does not run at all until it gets one, so it needs no signal: it is read
 * as it stands, and the read is kept if its clock has still not moved after it.
 * Signalling it instead would cost the sampler the whole wait for the answer
 * (up to DPROF_PAUSE_ACK_MAX_NS, spinning for the first 250 us) on every tick
 * where the program has more busy threads than there are CPUs, and that spin
 * takes a CPU from those same threads.
 *
 * `task` is k's record. READ_OFF_CPU with *clock_at set,
 * READ_HELD (let it go with dprof_pause_release), or READ_RUNNING (blocked, unknown,
 * or not answering: read as it runs). */
static int
hold_for_read(dprof_stack_sampler *s, dprof_task *task, const known_thread *k,
              uint64_t *clock_at)
{
    if (dprof_task_syscall(task) != DPROF_SYSCALL_RUNNING) {
        return READ_RUNNING;
    }
    uint64_t first, second;
    if (dprof_task_clock_ns(task, &first) == 0 && dprof_task_clock_ns(task, &second) == 0
        && first == second) {
        *clock_at = second;
        return READ_OFF_CPU;
    }
    return pause_for_read(s, task, k) ? READ_HELD : READ_RUNNING;
}

/* Reads thread t's top frame and frame chain into s->window and s->raw_frames.
 * `still`: the thread is held or off its CPU, and its state is read again first (the
 * list was read before, and the frame, or the _PyCFrame it sits behind, which lives
 * on the C stack and is gone once a generator yields, and the data stack have moved
 * since). Returns 1 when the thread state or its top could not be read. */
static int
read_one_thread(dprof_stack_sampler *s, dprof_raw_thread *t, int is_known, int still,
                size_t *nframes, int *truncated, int *frames_failed)
{
    *nframes = 0;
    *truncated = 0;
    *frames_failed = 0;
    int top_failed = still
        && dprof_read_thread_again(s->layout, (uintptr_t)s->interp, t) < 0;
    /* its frame and the top of its data stack, in one read */
    top_failed = top_failed || dprof_read_top(s->layout, t, &s->window) < 0;
    if (!top_failed && t->frame != 0 && is_known) {
        /* s->window holds the top of t's data stack */
        *frames_failed = dprof_read_frames(s->layout, t->frame, &s->window,
                                           s->raw_frames, DPROF_MAX_DEPTH, nframes,
                                           truncated) < 0;
        s->stats.older_chunk_reads += s->window.refills;
    }
    return top_failed;
}

static int
gil_free_tick(dprof_stack_sampler *s, PyThreadState **saved, uint64_t *hold_ns)
{
    size_t n;
    *hold_ns = 0;
    s->tick_held_ns = 0;
    if (read_thread_list(s, &n) < 0) {
        s->stats.gil_invalid++;
        return -1;
    }
    uint64_t now = dprof_now_ns();
    s->tick++;
    s->nneed = 0;
    s->ndeferred = 0;
    for (size_t i = 0; i < n; i++) {
        dprof_raw_thread *t = &s->raw_threads[i];
        if (t->tstate == (uintptr_t)s->own_tstate) {
            continue;   /* the sampler */
        }
        const known_thread *k = known_find(s, t->tstate);
        int is_known = k != NULL && t->thread_id == k->ident
                       && (s->layout->tstate_native_id == (size_t)-1
                           || t->native_id == (uint64_t)k->tid);
        /* Held still, if it runs, for the reads below: nothing but memory copies
         * until it is let go (it may hold the GIL, or the allocator's lock). A thread
         * that is runnable but waiting for a CPU is read as it stands, and kept only
         * if its CPU clock shows it did not run meanwhile (hold_for_read). */
        uint64_t clock_at = 0;
        /* k's record, for the hold: looked up (which may allocate) before any pause; the
         * reads below add nothing to the table, so it stays put until the release */
        dprof_task *hold_task = is_known && s->pausing
                                ? dprof_tasks_get(&s->tasks, k->tid) : NULL;
        int how = hold_task != NULL ? hold_for_read(s, hold_task, k, &clock_at)
                                    : READ_RUNNING;
        uint64_t held_at = how == READ_HELD ? dprof_now_ns() : 0;
        size_t nframes = 0;
        int truncated = 0, frames_failed = 0;
        int top_failed = read_one_thread(s, t, is_known, how != READ_RUNNING, &nframes,
                                         &truncated, &frames_failed);
        if (how == READ_OFF_CPU) {
            uint64_t clock_after;
            if (dprof_task_clock_ns(hold_task, &clock_after) == 0 && clock_after == clock_at) {
                s->stats.off_cpu_samples++;
            }
            else {
                /* It got a CPU while it was read, so the read may be torn: held
                 * still, it is read again (or, blocked by now or not answering,
                 * kept as read running). */
                s->stats.off_cpu_raced++;
                how = dprof_task_syscall(hold_task) == DPROF_SYSCALL_RUNNING
                      && pause_for_read(s, hold_task, k) ? READ_HELD : READ_RUNNING;
                if (how == READ_HELD) {
                    held_at = dprof_now_ns();
                    top_failed = read_one_thread(s, t, is_known, 1, &nframes, &truncated,
                                                 &frames_failed);
                }
            }
        }
        if (how == READ_HELD) {
            uint64_t held_for = dprof_now_ns() - held_at;
            s->stats.pause_held_ns += held_for;
            s->tick_held_ns += held_for;
            if (dprof_pause_release(k->tid)) {
                s->stats.paused_samples++;
            }
            else {
                s->stats.pause_overran++;
            }
        }
        if (!top_failed && t->frame == 0) {
            continue;   /* no Python code running in it */
        }
        int why;
        if (top_failed || frames_failed) {
            why = NEED_INVALID;
        }
        else if (!is_known) {
            why = NEED_NEW_THREAD;
        }
        else {
            why = sample_thread_gil_free(s, k, now, s->raw_frames, nframes, truncated,
                                         NULL);
        }
        if (why == NEED_NEW_CODE && s->ndeferred < MAX_DEFERRED_READS) {
            deferred_read *d = &s->deferred[s->ndeferred];
            dprof_task *task = dprof_tasks_get(&s->tasks, k->tid);
            if (task != NULL && task->have_prev
                && dprof_task_cpu(task, &d->cpu_ns, &d->runq_ns) == 0) {
                d->tstate = t->tstate;
                d->k = *k;
                d->n = nframes;
                d->truncated = truncated;
                d->at_ns = now;
                memcpy(d->frames, s->raw_frames, nframes * sizeof(dprof_raw_frame));
                s->ndeferred++;
            }
        }
        if (why < 0) {
            continue;
        }
        s->stats.gil_new_thread += why == NEED_NEW_THREAD;
        s->stats.gil_new_code += why == NEED_NEW_CODE;
        s->stats.gil_invalid += why == NEED_INVALID;
        s->need[s->nneed++] = t->tstate;
    }
    if (s->nneed > 0) {
        PyEval_RestoreThread(*saved);
        uint64_t t1 = dprof_now_ns();
        s->gil_wait_ns = 0;     /* no clocks were read before asking: see record_sample */
        /* The wait for the GIL can be long (native code holding it): these samples
         * end now, when their CPU clocks are read, not at the tick's start. */
        gil_pass(s, t1);
        *hold_ns = dprof_now_ns() - t1;
        *saved = PyEval_SaveThread();
        s->stats.gil_ticks++;
        settle_pending(s, SETTLE_RETRIES);
    }
    dprof_tasks_forget_unseen(&s->tasks, s->tick);
    s->last_tick_ns = now;
    return 0;
}

/* One tick with the GIL held; record = 0 only sets the baselines.
 *
 * The walk holds PyThreadState pointers, which stay valid only while this thread
 * keeps the GIL: a thread that gets it could end and free its state. So nothing in
 * the walk may run Python code, which could hand the GIL over (the eval loop drops
 * it when another thread asks): thread names are looked up after it, and the cyclic
 * GC, which runs finalizers, is held off while frame objects are created (3.11
 * collects right at an allocation; 3.12+ only schedules a collection). */
static void
sample_all(dprof_stack_sampler *s, int record)
{
    uint64_t now = dprof_now_ns();
    s->tick++;
#if PY_VERSION_HEX >= 0x030A0000
    int gc_was_enabled = PyGC_Disable();
#endif
    s->nknown = 0;
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(s->interp); ts != NULL;
         ts = PyThreadState_Next(ts)) {
        note_known(s, ts);
        if (ts != s->own_tstate) {
            sample_thread(s, ts, now, record, NULL);
        }
    }
#if PY_VERSION_HEX >= 0x030A0000
    if (gc_was_enabled) {
        (void)PyGC_Enable();
    }
#endif
    if (PyErr_Occurred()) {
        record_error(s, "walking threads");
    }
    resolve_thread_names(s);
    dprof_tasks_forget_unseen(&s->tasks, s->tick);
    s->last_tick_ns = now;
}

/* ---- the thread ---------------------------------------------------------------- */

/* Reads every known thread's CPU clock just before the sampler asks for the GIL
 * (see "Was the thread running" in sample_thread). Only the sampler thread touches
 * its task table, so this needs no lock and no GIL. */
static void
read_clocks_before_gil(dprof_stack_sampler *s)
{
    for (size_t i = 0; i < s->tasks.ntasks; i++) {
        dprof_task *t = &s->tasks.tasks[i];
        if (dprof_task_clock_ns(t, &t->pre_clock_ns) == 0) {
            t->pre_tick = s->tick + 1;      /* sample_all counts the tick first */
        }
    }
}

/* Sleeps until `deadline` (CLOCK_MONOTONIC ns) or until stop is requested. */
static void
sleep_until(dprof_stack_sampler *s, uint64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / 1000000000ULL),
                          (long)(deadline % 1000000000ULL)};
    pthread_mutex_lock(&s->wake_lock);
    while (!atomic_load(&s->stop_requested)) {
        int rc = pthread_cond_timedwait(&s->wake, &s->wake_lock, &ts);
        if (rc == ETIMEDOUT) {
            break;
        }
    }
    pthread_mutex_unlock(&s->wake_lock);
}

static void *
sampler_main(void *arg)
{
    dprof_stack_sampler *s = arg;
    /* A thread state of its own for the sampler's whole life; afterwards the GIL is
     * taken and released with Restore/SaveThread, which allocates nothing. */
    PyGILState_STATE gstate = PyGILState_Ensure();
    s->own_tstate = PyThreadState_Get();
    PyThreadState *saved = PyEval_SaveThread();
    uint64_t period = s->budget.base_period_ns;
    uint64_t cpu_before = dprof_self_cpu_ns();

    /* Deadlines count from the previous tick's start, so the time spent waiting for
     * the GIL (up to the switch interval) does not lower the rate further. */
    uint64_t last_start = dprof_now_ns();
    for (;;) {
        uint64_t deadline = last_start + dprof_jittered_ns(period, s->jitter, &s->rng);
        uint64_t now = dprof_now_ns();
        sleep_until(s, deadline > now ? deadline : now);
        if (atomic_load(&s->stop_requested)) {
            break;
        }
        uint64_t t0 = dprof_now_ns();
        last_start = t0;
        uint64_t hold;
        s->tick_held_ns = 0;
        if (s->layout == NULL || gil_free_tick(s, &saved, &hold) < 0) {
            read_clocks_before_gil(s);
            PyEval_RestoreThread(saved);
            uint64_t t1 = dprof_now_ns();
            if (atomic_load(&s->stop_requested)) {
                saved = PyEval_SaveThread();
                break;
            }
            s->gil_wait_ns = t1 - t0;
            sample_all(s, 1);
            uint64_t t2 = dprof_now_ns();
            saved = PyEval_SaveThread();
            settle_pending(s, SETTLE_RETRIES);
            s->stats.gil_wait_ns += t1 - t0;
            s->stats.gil_ticks++;
            hold = t2 - t1;
        }

        uint64_t cpu_after = dprof_self_cpu_ns();
        uint64_t cpu = cpu_after - cpu_before;
        cpu_before = cpu_after;
        /* The program loses the GIL for `hold`, a thread held still for a read (it
         * runs Python, so it has the GIL) as long, and a CPU for `cpu`; the held
         * reads are in `cpu` too, so all overlap. */
        uint64_t stopped = hold + s->tick_held_ns;
        uint64_t cost = stopped > cpu ? stopped : cpu;
        s->stats.ticks++;
        s->stats.gil_hold_ns += hold;
        s->stats.sampler_cpu_ns += cpu;
        s->stats.overhead_ns += cost;
        period = dprof_budget_update(&s->budget, t0, cost);
        s->stats.last_period_ns = period;
    }
    PyEval_RestoreThread(saved);
    s->own_tstate = NULL;
    PyGILState_Release(gstate);
    return NULL;
}

/* Checks the layout on the calling thread (GIL held, inside a Python call): the
 * reader must find this thread state with its TID and, as its innermost frame, the
 * code object and instruction the public API reports. 0 when it agrees, -1 not:
 * then the sampler keeps to the GIL-holding walk, whatever went wrong (a build
 * against other headers than the running interpreter's, say). */
static int
layout_self_check(dprof_stack_sampler *s)
{
    const dprof_frame_layout *L = s->layout;
    PyThreadState *me = PyThreadState_Get();
    size_t n, nf;
    int truncated;
    if (dprof_read_threads(L, (uintptr_t)s->interp, s->raw_threads, MAX_THREADS, &n) < 0) {
        return -1;
    }
    dprof_raw_thread *mine = NULL;
    for (size_t i = 0; i < n; i++) {
        if (s->raw_threads[i].tstate == (uintptr_t)me) {
            mine = &s->raw_threads[i];
        }
    }
    if (mine == NULL || mine->thread_id != me->thread_id
        || (L->tstate_native_id != (size_t)-1 && mine->native_id != (uint64_t)thread_tid(me))) {
        return -1;
    }
    PyFrameObject *frame = PyThreadState_GetFrame(me);      /* new ref or NULL */
    if (frame == NULL) {
        return 0;   /* started from C with no Python frame: nothing to compare */
    }
    PyCodeObject *code = PyFrame_GetCode(frame);            /* new ref */
    int ok = dprof_read_top(L, mine, &s->window) == 0
             && dprof_read_frames(L, mine->frame, &s->window, s->raw_frames, DPROF_MAX_DEPTH,
                               &nf, &truncated) == 0
             && nf > 0 && s->raw_frames[0].code == (uintptr_t)code;
#if PY_VERSION_HEX >= 0x030B0000
    ok = ok && s->raw_frames[0].lasti * 2 == PyFrame_GetLasti(frame);
#endif
    Py_DECREF(code);
    Py_DECREF(frame);
    return ok ? 0 : -1;
}

/* The frame layout to read without the GIL, or NULL with the reason in s->reader. */
static void
choose_reader(dprof_stack_sampler *s)
{
    const char *force = getenv("DPROF_STACKS_GIL_WALK");
    s->layout = dprof_frame_layout_get();
    s->reader = s->layout->name;
    if (force != NULL && force[0] != '\0' && strcmp(force, "0") != 0) {
        s->layout = NULL;
        s->reader = "gil-walk (DPROF_STACKS_GIL_WALK is set)";
    }
    else if (s->layout->kind == DPROF_LAYOUT_NONE) {
        s->layout = NULL;
        s->reader = "gil-walk (no GIL-free reader for this Python version)";
    }
}

/* Whether running threads are held still while they are read (thread_pause.h), and
 * the text the stats give for it. Only the GIL-free reader pauses: the GIL-holding
 * walk reads threads that are stopped anyway, at a hand-over. */
static void
choose_pausing(dprof_stack_sampler *s)
{
    static char on[48];
    const char *off = getenv("DPROF_STACKS_PAUSE");
    const char *why;
    s->pausing = 0;
    if (s->layout == NULL) {
        s->pause = "off (the GIL-holding walk reads stopped threads)";
    }
    else if (off != NULL && strcmp(off, "0") == 0) {
        s->pause = "off (DPROF_STACKS_PAUSE=0)";
    }
    else if (dprof_pause_install(&why) < 0) {
        s->pause = why;
    }
    else {
        s->pausing = 1;
        (void)snprintf(on, sizeof on, "signal %d (SIGRTMIN+%d)", dprof_pause_signal(),
                       dprof_pause_signal() - SIGRTMIN);
        s->pause = on;
    }
}

/* ---- public ---------------------------------------------------------------------- */

static void
free_reader_buffers(dprof_stack_sampler *s)
{
    PyMem_RawFree(s->known);
    PyMem_RawFree(s->raw_threads);
    PyMem_RawFree(s->raw_frames);
    PyMem_RawFree(s->need);
    PyMem_RawFree(s->window.buf);
    PyMem_RawFree(s->tstate_scratch);
    s->tstate_scratch = NULL;
    for (size_t i = 0; i < MAX_DEFERRED_READS; i++) {
        PyMem_RawFree(s->deferred[i].frames);
        s->deferred[i].frames = NULL;
    }
}

dprof_stack_sampler *
dprof_stack_sampler_new(double hz, double jitter, double budget,
                        const unsigned char call_flags[256])
{
    dprof_stack_sampler *s = PyMem_RawCalloc(1, sizeof *s);
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    s->hz = hz;
    s->jitter = jitter;
    memcpy(s->call_flags, call_flags, 256);
    dprof_budget_init(&s->budget, budget, (uint64_t)(1e9 / hz));
    s->rng = dprof_now_ns() ^ (uint64_t)(uintptr_t)s;
    s->table = dprof_calltree_new();
    s->scratch = PyMem_RawMalloc(DPROF_MAX_DEPTH * sizeof(int32_t));
    s->known = PyMem_RawMalloc(MAX_THREADS * sizeof(known_thread));
    s->raw_threads = PyMem_RawMalloc(MAX_THREADS * sizeof(dprof_raw_thread));
    s->raw_frames = PyMem_RawMalloc(DPROF_MAX_DEPTH * sizeof(dprof_raw_frame));
    s->need = PyMem_RawMalloc(MAX_THREADS * sizeof(uintptr_t));
    s->window.cap = WINDOW_BYTES;
    s->window.buf = PyMem_RawMalloc(WINDOW_BYTES);
    int deferred_ok = 1;
    for (size_t i = 0; i < MAX_DEFERRED_READS; i++) {
        s->deferred[i].frames = PyMem_RawMalloc(DPROF_MAX_DEPTH * sizeof(dprof_raw_frame));
        deferred_ok = deferred_ok && s->deferred[i].frames != NULL;
    }
    if (s->table == NULL || s->scratch == NULL || s->known == NULL || s->window.buf == NULL
        || s->raw_threads == NULL || s->raw_frames == NULL || s->need == NULL
        || !deferred_ok || pthread_mutex_init(&s->wake_lock, NULL) != 0) {
        dprof_calltree_free(s->table);
        free_reader_buffers(s);
        PyMem_RawFree(s->scratch);
        PyMem_RawFree(s);
        PyErr_NoMemory();
        return NULL;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&s->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_destroy(&s->wake_lock);
        dprof_calltree_free(s->table);
        free_reader_buffers(s);
        PyMem_RawFree(s->scratch);
        PyMem_RawFree(s);
        PyErr_SetString(PyExc_OSError, "pthread_cond_init failed");
        return NULL;
    }
    return s;
}

int
dprof_stack_sampler_running(const dprof_stack_sampler *s)
{
    return s->running;
}

int
dprof_stack_sampler_start(dprof_stack_sampler *s)
{
    if (s->running) {
        PyErr_SetString(PyExc_RuntimeError, "the stack sampler is already running");
        return -1;
    }
    if (s->stopping) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the stack sampler is being stopped by another thread");
        return -1;
    }
    pthread_once(&atfork_once, install_atfork);
    memset(&s->stats, 0, sizeof s->stats);
    s->nraw = 0;            /* the first tick walks the thread list */
    s->interp = PyInterpreterState_Get();
    s->own_tstate = NULL;
    atomic_store(&s->stop_requested, 0);
    s->start_ns = dprof_now_ns();
    s->pause_handler_at_start = dprof_pause_handler_ns();
    choose_reader(s);
    if (s->layout != NULL && layout_self_check(s) < 0) {
        s->layout = NULL;
        s->reader = "gil-walk (the frame layout self-check failed)";
    }
    s->stats.reader = s->reader;
    choose_pausing(s);
    s->stats.pause = s->pause;
    /* Baselines for every thread now, so the first interval of each counts. */
    sample_all(s, 0);
    s->stats.last_period_ns = s->budget.base_period_ns;
    pthread_mutex_lock(&active_lock);
    /* The thread blocks every signal, so that a signal sent to the process is
     * delivered to one of the program's own threads. Were it delivered here, a
     * Python handler would wait for the main thread's next check, and a main
     * thread blocked in a C call that only EINTR ends (a Pool worker in
     * sem_wait, terminated with SIGTERM) would never see it: the worker hung. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, sampler_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) {
        s->running = 1;
        s->next_active = active_head;
        active_head = s;
    }
    pthread_mutex_unlock(&active_lock);
    if (rc != 0) {
        errno = rc;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return 0;
}

int
dprof_stack_sampler_stop(dprof_stack_sampler *s)
{
    if (!s->running) {
        if (s->stats.forked) {
            return 0;   /* the child of a fork: nothing to join */
        }
        PyErr_SetString(PyExc_RuntimeError, "the stack sampler is not running");
        return -1;
    }
    /* Another Python thread may call stop() (or start()) while this one waits
     * without the GIL: `running` goes to 0 now so that only this call joins the
     * thread (joining it twice is undefined), and `stopping` keeps start() from
     * reusing the sampler until the last sample below is in. */
    pthread_t thread = s->thread;
    s->running = 0;
    s->stopping = 1;
    pthread_mutex_lock(&s->wake_lock);
    atomic_store(&s->stop_requested, 1);
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->wake_lock);
    /* The sampler thread may be waiting for the GIL: let it go while joining. Safe:
     * only this call touches `thread`, and the sampler's data is used by the sampler
     * thread (with the GIL) and by us again only after the join. */
    Py_BEGIN_ALLOW_THREADS
    pthread_join(thread, NULL);
    Py_END_ALLOW_THREADS
    active_remove(s);
    /* A last sample so the time since the previous one (up to a whole period, long
     * when the budget stretched it) is counted too. */
    sample_all(s, 1);
    settle_pending(s, 0);
    for (size_t i = 0; i < s->tasks.ntasks; i++) {
        if (s->tasks.tasks[i].deferred_wait > 0) {
            (void)flush_deferred(s, &s->tasks.tasks[i]);
        }
    }
    s->stats.duration_ns = dprof_now_ns() - s->start_ns;
    s->stats.pause_handler_ns = dprof_pause_handler_ns() - s->pause_handler_at_start;
    s->stopping = 0;
    return 0;
}

dprof_calltree *
dprof_stack_sampler_take_table(dprof_stack_sampler *s)
{
    dprof_calltree *fresh = dprof_calltree_new();
    if (fresh == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    dprof_calltree *out = s->table;
    s->table = fresh;
    s->nnames = 0;      /* their string ids belong to the old table */
    s->names_resolved = 0;
    /* Cached string ids belong to the old table. */
    code_cache_clear(&s->codes);
    dprof_tasks_clear(&s->tasks);
    return out;
}

const dprof_calltree *
dprof_stack_sampler_peek_table(const dprof_stack_sampler *s)
{
    return s->table;
}

const dprof_stack_sampler_stats *
dprof_stack_sampler_get_stats(const dprof_stack_sampler *s)
{
    return &s->stats;
}

void
dprof_stack_sampler_free(dprof_stack_sampler *s)
{
    if (s == NULL) {
        return;
    }
    if (s->running) {
        (void)dprof_stack_sampler_stop(s);
    }
    active_remove(s);
    code_cache_clear(&s->codes);
    dprof_tasks_clear(&s->tasks);
    dprof_calltree_free(s->table);
    PyMem_RawFree(s->scratch);
    free_reader_buffers(s);
    PyMem_RawFree(s->names);
    PyMem_RawFree(s->name_idents);
    pthread_mutex_destroy(&s->wake_lock);
    pthread_cond_destroy(&s->wake);
    PyMem_RawFree(s);
}

const dprof_thread_name *
dprof_stack_sampler_thread_names(const dprof_stack_sampler *s, size_t *n)
{
    *n = s->nnames;
    return s->names;
}
