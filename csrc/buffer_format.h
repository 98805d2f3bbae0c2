/* Reading a buffer's struct-module format string (PEP 3118), shared by the bindings
 * that take buffers (sort_buffer, series statistics). No Python objects: only the
 * format text that Py_buffer carries. */
#ifndef DPROF_BUFFER_FORMAT_H
#define DPROF_BUFFER_FORMAT_H

#include <Python.h>   /* PY_LITTLE_ENDIAN */

/* `format` past a byte-order prefix that means this machine's order ('@', '=', and
 * whichever of '<' or '>'/'!' is native); `format` unchanged when it has another
 * prefix or none, so a foreign-order format is left for the caller to reject.
 * NULL (what Py_buffer holds for plain bytes) reads as "B". */
static inline const char *
dprof_format_native_body(const char *format)
{
    if (format == NULL) {
        return "B";
    }
    if (format[0] == '@' || format[0] == '=') {
        return format + 1;
    }
#if PY_LITTLE_ENDIAN
    if (format[0] == '<') {
        return format + 1;
    }
#else
    if (format[0] == '>' || format[0] == '!') {
        return format + 1;
    }
#endif
    return format;
}

#endif /* DPROF_BUFFER_FORMAT_H */
