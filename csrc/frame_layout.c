/* The frame layout of the interpreter the extension is compiled for (see
 * frame_layout.h), taken with offsetof from its own headers.
 *
 * Why the headers and not _Py_DebugOffsets: the extension is built per interpreter
 * version anyway (it uses the full, non-limited API), so offsetof on the structs the
 * interpreter itself was compiled from is exact by construction, the same way on
 * 3.11, 3.12 and 3.13; _PyRuntime.debug_offsets exists only from 3.13 (and a test
 * checks that the two agree there). The internal structs need Py_BUILD_CORE and
 * internal/pycore_*.h, which the installed include directories of 3.9-3.13 hold;
 * this translation unit is the only one that defines Py_BUILD_CORE, and it does
 * nothing but offsetof, so no internal function or inline is called.
 */
#define Py_BUILD_CORE 1
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <frameobject.h>
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX < 0x030E0000
#include <internal/pycore_interp.h>
#endif
#include "frame_layout.h"

#include <stddef.h>

#define NO_FIELD ((size_t)-1)

#if PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000
static const dprof_frame_layout layout = {
    .kind = DPROF_LAYOUT_CURRENT_FRAME,
    .name = "3.13 _PyInterpreterFrame",
    .interp_threads_head = offsetof(PyInterpreterState, threads.head),
    .tstate_next = offsetof(PyThreadState, next),
    .tstate_interp = offsetof(PyThreadState, interp),
    .tstate_thread_id = offsetof(PyThreadState, thread_id),
    .tstate_native_id = offsetof(PyThreadState, native_thread_id),
    .tstate_cframe = NO_FIELD,
    .cframe_current_frame = NO_FIELD,
    .tstate_frame = offsetof(PyThreadState, current_frame),
    .frame_size = offsetof(_PyInterpreterFrame, owner) + 1,
    .frame_code = offsetof(_PyInterpreterFrame, f_executable),
    .frame_previous = offsetof(_PyInterpreterFrame, previous),
    .frame_instr = offsetof(_PyInterpreterFrame, instr_ptr),
    .frame_owner = offsetof(_PyInterpreterFrame, owner),
    .instr_is_pointer = 1,
    .owner_generator = FRAME_OWNED_BY_GENERATOR,
    .owner_cstack = FRAME_OWNED_BY_CSTACK,
    .code_units = offsetof(PyCodeObject, co_code_adaptive),
    .tstate_datastack_chunk = offsetof(PyThreadState, datastack_chunk),
    .tstate_datastack_top = offsetof(PyThreadState, datastack_top),
    .chunk_data = offsetof(_PyStackChunk, data),
    .chunk_previous = offsetof(_PyStackChunk, previous),
    .chunk_top = offsetof(_PyStackChunk, top),
};
#elif PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
static const dprof_frame_layout layout = {
    .kind = DPROF_LAYOUT_CFRAME,
#if PY_VERSION_HEX >= 0x030C0000
    .name = "3.12 _PyInterpreterFrame",
    .owner_cstack = FRAME_OWNED_BY_CSTACK,
#else
    .name = "3.11 _PyInterpreterFrame",
    .owner_cstack = -1,
#endif
    .interp_threads_head = offsetof(PyInterpreterState, threads.head),
    .tstate_next = offsetof(PyThreadState, next),
    .tstate_interp = offsetof(PyThreadState, interp),
    .tstate_thread_id = offsetof(PyThreadState, thread_id),
    .tstate_native_id = offsetof(PyThreadState, native_thread_id),
    .tstate_cframe = offsetof(PyThreadState, cframe),
    .cframe_current_frame = offsetof(_PyCFrame, current_frame),
    .tstate_frame = NO_FIELD,
    .frame_size = offsetof(_PyInterpreterFrame, owner) + 1,
    .frame_code = offsetof(_PyInterpreterFrame, f_code),
    .frame_previous = offsetof(_PyInterpreterFrame, previous),
    .frame_instr = offsetof(_PyInterpreterFrame, prev_instr),
    .frame_owner = offsetof(_PyInterpreterFrame, owner),
    .instr_is_pointer = 1,
    .owner_generator = FRAME_OWNED_BY_GENERATOR,
    .code_units = offsetof(PyCodeObject, co_code_adaptive),
    .tstate_datastack_chunk = offsetof(PyThreadState, datastack_chunk),
    .tstate_datastack_top = offsetof(PyThreadState, datastack_top),
    .chunk_data = offsetof(_PyStackChunk, data),
    .chunk_previous = offsetof(_PyStackChunk, previous),
    .chunk_top = offsetof(_PyStackChunk, top),
};
#elif PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030B0000
static const dprof_frame_layout layout = {
    .kind = DPROF_LAYOUT_FRAMEOBJECT,
#if PY_VERSION_HEX >= 0x030A0000
    .name = "3.10 PyFrameObject",
    .lasti_in_bytes = 0,
#else
    .name = "3.9 PyFrameObject",
    .lasti_in_bytes = 1,
#endif
    .interp_threads_head = offsetof(PyInterpreterState, tstate_head),
    .tstate_next = offsetof(PyThreadState, next),
    .tstate_interp = offsetof(PyThreadState, interp),
    .tstate_thread_id = offsetof(PyThreadState, thread_id),
    .tstate_native_id = NO_FIELD,
    .tstate_cframe = NO_FIELD,
    .cframe_current_frame = NO_FIELD,
    .tstate_frame = offsetof(PyThreadState, frame),
    .frame_size = offsetof(PyFrameObject, f_lasti) + sizeof(int),
    .frame_code = offsetof(PyFrameObject, f_code),
    .frame_previous = offsetof(PyFrameObject, f_back),
    .frame_instr = offsetof(PyFrameObject, f_lasti),
    .frame_owner = NO_FIELD,
    .instr_is_pointer = 0,
    .owner_generator = -1,
    .owner_cstack = -1,
    .code_units = 0,
    .tstate_datastack_chunk = NO_FIELD,
    .tstate_datastack_top = NO_FIELD,
    .chunk_previous = NO_FIELD,
    .chunk_top = NO_FIELD,
};
#else
static const dprof_frame_layout layout = {
    .kind = DPROF_LAYOUT_NONE,
    .name = "none (this Python version has no GIL-free reader)",
};
#endif

const dprof_frame_layout *
dprof_frame_layout_get(void)
{
    return &layout;
}
