/* Where an outside reader finds a thread's Python frames in this interpreter's
 * memory: the offsets of the fields the GIL-free stack reader (frame_reader.c)
 * follows, as plain numbers. No Python.h here, so the reader needs none.
 *
 * frame_layout.c fills the struct from the interpreter's own headers (the internal
 * ones on 3.11+), compiled against the very version the extension is built for; the
 * kind says which frame chain the version keeps, or that there is none the reader
 * knows (then the sampler keeps its GIL-holding walk).
 */
#ifndef DPROF_FRAME_LAYOUT_H
#define DPROF_FRAME_LAYOUT_H

#include <stddef.h>

enum {
    DPROF_LAYOUT_NONE = 0,      /* unknown version: GIL-holding walk only */
    DPROF_LAYOUT_FRAMEOBJECT,   /* 3.9, 3.10: tstate->frame, PyFrameObject chain */
    DPROF_LAYOUT_CFRAME,        /* 3.11, 3.12: tstate->cframe->current_frame */
    DPROF_LAYOUT_CURRENT_FRAME, /* 3.13: tstate->current_frame */
};

typedef struct {
    int kind;
    const char *name;            /* e.g. "3.11 _PyInterpreterFrame" */
    /* the interpreter's thread list */
    size_t interp_threads_head;  /* PyThreadState *, first of the interpreter's list */
    size_t tstate_next;          /* PyThreadState * */
    size_t tstate_interp;        /* PyInterpreterState * */
    size_t tstate_thread_id;     /* unsigned long: threading.get_ident() */
    size_t tstate_native_id;     /* unsigned long: kernel TID (3.11+), else (size_t)-1 */
    size_t tstate_cframe;        /* _PyCFrame * (3.11, 3.12), else (size_t)-1 */
    size_t cframe_current_frame; /* in _PyCFrame (3.11, 3.12) */
    size_t tstate_frame;         /* the frame pointer in the thread state (3.9, 3.10,
                                    3.13), else (size_t)-1 */
    /* one frame */
    size_t frame_size;           /* bytes read per frame (covers every field below) */
    size_t frame_code;           /* PyCodeObject * (f_code, f_executable) */
    size_t frame_previous;       /* the caller's frame (previous, f_back) */
    size_t frame_instr;          /* _Py_CODEUNIT * (3.11+), int f_lasti (3.9, 3.10) */
    size_t frame_owner;          /* char owner (3.11+), else (size_t)-1 */
    int instr_is_pointer;        /* frame_instr is a pointer into the code (3.11+) */
    int lasti_in_bytes;          /* f_lasti counts bytes (3.9), else code units */
    int owner_generator;         /* owner values, 3.11+ */
    int owner_cstack;            /* -1 where the version has no C-stack shim frames */
    size_t code_units;           /* offset of the bytecode in PyCodeObject (3.11+) */
    /* 3.11+: the thread's data stack, where its own frames live (read in one go) */
    size_t tstate_datastack_chunk;  /* _PyStackChunk *, else (size_t)-1 */
    size_t tstate_datastack_top;    /* PyObject **, the first free slot */
    size_t chunk_data;              /* offset of the slots in _PyStackChunk */
    size_t chunk_previous;          /* _PyStackChunk *previous (the older chunk) */
    size_t chunk_top;               /* size_t top: its slots in use, saved when the */
                                    /* next chunk was pushed */
} dprof_frame_layout;

/* The layout of the interpreter the extension was built for (static storage). */
const dprof_frame_layout *dprof_frame_layout_get(void);

#endif
