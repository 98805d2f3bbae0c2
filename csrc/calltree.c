/* Call-tree aggregation: see calltree.h. Plain C, no Python.h.
 *
 * Four tables (strings, frames, stacks, rows), each a growable array of entries plus
 * an open-addressing hash index whose slots hold (hash, entry index + 1). Strings and
 * stacks keep their bytes / frame ids in one arena each, so interning a stack that
 * was seen before costs one hash and one memcmp and allocates nothing.
 */
#include "calltree.h"

#include <stdlib.h>
#include <string.h>

/* ---- hash index --------------------------------------------------------- */

typedef struct {
    uint64_t hash;
    uint32_t entry;     /* entry index + 1; 0 = empty slot */
} ct_slot;

typedef struct {
    ct_slot *slots;
    size_t cap;         /* power of two, or 0 */
    size_t used;
} ct_index;

typedef int (*ct_eq_fn)(const dprof_calltree *ct, uint32_t entry, const void *key);

static uint64_t
ct_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    /* FNV-1a with a final mix; fast enough for short names and stacks. */
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

/* Returns the entry index, or -1 when absent. */
static int64_t
ct_index_find(const dprof_calltree *ct, const ct_index *ix, uint64_t hash,
              ct_eq_fn eq, const void *key)
{
    if (ix->cap == 0) {
        return -1;
    }
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        const ct_slot *s = &ix->slots[i];
        if (s->entry == 0) {
            return -1;
        }
        if (s->hash == hash && eq(ct, s->entry - 1, key)) {
            return (int64_t)(s->entry - 1);
        }
    }
}

static void
ct_index_put_raw(ct_index *ix, uint64_t hash, uint32_t entry_plus_one)
{
    size_t mask = ix->cap - 1;
    size_t i = (size_t)hash & mask;
    while (ix->slots[i].entry != 0) {
        i = (i + 1) & mask;
    }
    ix->slots[i].hash = hash;
    ix->slots[i].entry = entry_plus_one;
}

/* Makes room for one more entry (load factor at most 1/2). 0, or -1 on ENOMEM. */
static int
ct_index_reserve(ct_index *ix)
{
    if ((ix->used + 1) * 2 <= ix->cap) {
        return 0;
    }
    size_t ncap = ix->cap ? ix->cap * 2 : 64;
    ct_slot *nslots = calloc(ncap, sizeof(ct_slot));
    if (nslots == NULL) {
        return -1;
    }
    ct_index old = *ix;
    ix->slots = nslots;
    ix->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].entry != 0) {
            ct_index_put_raw(ix, old.slots[i].hash, old.slots[i].entry);
        }
    }
    free(old.slots);
    return 0;
}

/* ---- growable arrays ---------------------------------------------------- */

static int
ct_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            return -1;
        }
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / elem) {
        return -1;   /* the byte count would wrap: treat as out of memory */
    }
    void *nbuf = realloc(*buf, ncap * elem);
    if (nbuf == NULL) {
        return -1;
    }
    *buf = nbuf;
    *cap = ncap;
    return 0;
}

/* ---- the table ---------------------------------------------------------- */

typedef struct {
    size_t offset;
    size_t len;
} ct_span;

struct dprof_calltree {
    char *chars;            size_t nchars, chars_cap;
    ct_span *strings;       size_t nstrings, strings_cap;
    ct_index string_ix;

    dprof_ct_frame *frames; size_t nframes, frames_cap;
    ct_index frame_ix;

    int32_t *ids;           size_t nids, ids_cap;       /* stack arena */
    ct_span *stacks;        size_t nstacks, stacks_cap;
    ct_index stack_ix;

    dprof_ct_row *rows;     size_t nrows, rows_cap;
    ct_index row_ix;
};

dprof_calltree *
dprof_calltree_new(void)
{
    return calloc(1, sizeof(dprof_calltree));
}

void
dprof_calltree_free(dprof_calltree *ct)
{
    if (ct == NULL) {
        return;
    }
    free(ct->chars);
    free(ct->strings);
    free(ct->string_ix.slots);
    free(ct->frames);
    free(ct->frame_ix.slots);
    free(ct->ids);
    free(ct->stacks);
    free(ct->stack_ix.slots);
    free(ct->rows);
    free(ct->row_ix.slots);
    free(ct);
}

/* strings */

typedef struct {
    const char *s;
    size_t len;
} ct_str_key;

static int
ct_string_eq(const dprof_calltree *ct, uint32_t entry, const void *key)
{
    const ct_str_key *k = key;
    const ct_span *sp = &ct->strings[entry];
    return sp->len == k->len && memcmp(ct->chars + sp->offset, k->s, k->len) == 0;
}

int32_t
dprof_calltree_intern_string(dprof_calltree *ct, const char *s, size_t len)
{
    ct_str_key key = {s, len};
    uint64_t h = ct_hash_bytes(s, len, 1);
    int64_t found = ct_index_find(ct, &ct->string_ix, h, ct_string_eq, &key);
    if (found >= 0) {
        return (int32_t)found;
    }
    if (ct->nstrings >= INT32_MAX
        || ct_grow((void **)&ct->chars, &ct->chars_cap, ct->nchars + len + 1, 1) < 0
        || ct_grow((void **)&ct->strings, &ct->strings_cap, ct->nstrings + 1,
                   sizeof(ct_span)) < 0
        || ct_index_reserve(&ct->string_ix) < 0) {
        return -1;
    }
    memcpy(ct->chars + ct->nchars, s, len);
    ct->chars[ct->nchars + len] = '\0';   /* so readers may treat it as a C string */
    ct->strings[ct->nstrings] = (ct_span){ct->nchars, len};
    ct->nchars += len + 1;
    ct_index_put_raw(&ct->string_ix, h, (uint32_t)ct->nstrings + 1);
    ct->string_ix.used++;
    return (int32_t)ct->nstrings++;
}

/* frames */

static int
ct_frame_eq(const dprof_calltree *ct, uint32_t entry, const void *key)
{
    const dprof_ct_frame *a = &ct->frames[entry], *b = key;
    return a->filename == b->filename && a->function == b->function && a->line == b->line;
}

int32_t
dprof_calltree_intern_frame(dprof_calltree *ct, int32_t filename, int32_t function,
                            int32_t line)
{
    dprof_ct_frame key = {filename, function, line};
    uint64_t h = ct_hash_bytes(&key, sizeof key, 2);
    int64_t found = ct_index_find(ct, &ct->frame_ix, h, ct_frame_eq, &key);
    if (found >= 0) {
        return (int32_t)found;
    }
    if (ct->nframes >= INT32_MAX
        || ct_grow((void **)&ct->frames, &ct->frames_cap, ct->nframes + 1,
                   sizeof(dprof_ct_frame)) < 0
        || ct_index_reserve(&ct->frame_ix) < 0) {
        return -1;
    }
    ct->frames[ct->nframes] = key;
    ct_index_put_raw(&ct->frame_ix, h, (uint32_t)ct->nframes + 1);
    ct->frame_ix.used++;
    return (int32_t)ct->nframes++;
}

/* stacks */

typedef struct {
    const int32_t *ids;
    size_t depth;
} ct_stack_key;

static int
ct_stack_eq(const dprof_calltree *ct, uint32_t entry, const void *key)
{
    const ct_stack_key *k = key;
    const ct_span *sp = &ct->stacks[entry];
    return sp->len == k->depth
        && (k->depth == 0
            || memcmp(ct->ids + sp->offset, k->ids, k->depth * sizeof(int32_t)) == 0);
}

int32_t
dprof_calltree_intern_stack(dprof_calltree *ct, const int32_t *frame_ids, size_t depth)
{
    ct_stack_key key = {frame_ids, depth};
    uint64_t h = ct_hash_bytes(frame_ids, depth * sizeof(int32_t), 3);
    int64_t found = ct_index_find(ct, &ct->stack_ix, h, ct_stack_eq, &key);
    if (found >= 0) {
        return (int32_t)found;
    }
    if (ct->nstacks >= INT32_MAX
        || ct_grow((void **)&ct->ids, &ct->ids_cap, ct->nids + depth + 1,
                   sizeof(int32_t)) < 0
        || ct_grow((void **)&ct->stacks, &ct->stacks_cap, ct->nstacks + 1,
                   sizeof(ct_span)) < 0
        || ct_index_reserve(&ct->stack_ix) < 0) {
        return -1;
    }
    if (depth > 0) {
        memcpy(ct->ids + ct->nids, frame_ids, depth * sizeof(int32_t));
    }
    ct->stacks[ct->nstacks] = (ct_span){ct->nids, depth};
    ct->nids += depth;
    ct_index_put_raw(&ct->stack_ix, h, (uint32_t)ct->nstacks + 1);
    ct->stack_ix.used++;
    return (int32_t)ct->nstacks++;
}

/* rows */

typedef struct {
    uint64_t thread_id;
    int32_t stack_id;
    int32_t category;
} ct_row_key;

static int
ct_row_eq(const dprof_calltree *ct, uint32_t entry, const void *key)
{
    const dprof_ct_row *r = &ct->rows[entry];
    const ct_row_key *k = key;
    return r->thread_id == k->thread_id && r->stack_id == k->stack_id
        && r->category == k->category;
}

int
dprof_calltree_add(dprof_calltree *ct, uint64_t thread_id, int32_t stack_id,
                   int32_t category, uint64_t samples, double seconds)
{
    ct_row_key key;
    memset(&key, 0, sizeof key);    /* padding is hashed too */
    key.thread_id = thread_id;
    key.stack_id = stack_id;
    key.category = category;
    uint64_t h = ct_hash_bytes(&key, sizeof key, 4);
    int64_t found = ct_index_find(ct, &ct->row_ix, h, ct_row_eq, &key);
    if (found < 0) {
        if (ct->nrows >= UINT32_MAX - 1
            || ct_grow((void **)&ct->rows, &ct->rows_cap, ct->nrows + 1,
                       sizeof(dprof_ct_row)) < 0
            || ct_index_reserve(&ct->row_ix) < 0) {
            return -1;
        }
        ct->rows[ct->nrows] = (dprof_ct_row){thread_id, stack_id, category, 0, 0.0};
        ct_index_put_raw(&ct->row_ix, h, (uint32_t)ct->nrows + 1);
        ct->row_ix.used++;
        found = (int64_t)ct->nrows++;
    }
    ct->rows[found].samples += samples;
    ct->rows[found].seconds += seconds;
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

size_t dprof_calltree_nstrings(const dprof_calltree *ct) { return ct->nstrings; }
size_t dprof_calltree_nframes(const dprof_calltree *ct) { return ct->nframes; }
size_t dprof_calltree_nstacks(const dprof_calltree *ct) { return ct->nstacks; }
size_t dprof_calltree_nrows(const dprof_calltree *ct) { return ct->nrows; }

const char *
dprof_calltree_string(const dprof_calltree *ct, int32_t id, size_t *len)
{
    const ct_span *sp = &ct->strings[id];
    *len = sp->len;
    return ct->chars + sp->offset;
}

const dprof_ct_frame *
dprof_calltree_frame(const dprof_calltree *ct, int32_t id)
{
    return &ct->frames[id];
}

const int32_t *
dprof_calltree_stack(const dprof_calltree *ct, int32_t id, size_t *depth)
{
    const ct_span *sp = &ct->stacks[id];
    *depth = sp->len;
    return ct->ids + sp->offset;
}

const dprof_ct_row *
dprof_calltree_row(const dprof_calltree *ct, size_t index)
{
    return &ct->rows[index];
}

/* ---- merge ----------------------------------------------------- */

/* Re-interns stack `sid` of src into dst by content; returns dst's stack id or -1.
 * frame_map caches src frame id -> dst frame id (-2 = not mapped yet). */
static int32_t
ct_copy_stack(dprof_calltree *dst, const dprof_calltree *src, int32_t sid,
              int32_t *frame_map, int32_t **scratch, size_t *scratch_cap)
{
    size_t depth;
    const int32_t *ids = dprof_calltree_stack(src, sid, &depth);
    if (ct_grow((void **)scratch, scratch_cap, depth + 1, sizeof(int32_t)) < 0) {
        return -1;
    }
    for (size_t i = 0; i < depth; i++) {
        int32_t f = ids[i];
        if (frame_map[f] == -2) {
            const dprof_ct_frame *fr = &src->frames[f];
            size_t flen, nlen;
            const char *fname = dprof_calltree_string(src, fr->filename, &flen);
            const char *func = dprof_calltree_string(src, fr->function, &nlen);
            int32_t fs = dprof_calltree_intern_string(dst, fname, flen);
            int32_t ns = fs < 0 ? -1 : dprof_calltree_intern_string(dst, func, nlen);
            int32_t nf = ns < 0 ? -1 : dprof_calltree_intern_frame(dst, fs, ns, fr->line);
            if (nf < 0) {
                return -1;
            }
            frame_map[f] = nf;
        }
        (*scratch)[i] = frame_map[f];
    }
    return dprof_calltree_intern_stack(dst, *scratch, depth);
}

static int32_t *
ct_new_map(size_t n)
{
    int32_t *map = malloc((n ? n : 1) * sizeof(int32_t));
    if (map != NULL) {
        for (size_t i = 0; i < n; i++) {
            map[i] = -2;
        }
    }
    return map;
}

int
dprof_calltree_merge(dprof_calltree *dst, const dprof_calltree *src)
{
    int rc = -1;
    int32_t *scratch = NULL;
    size_t scratch_cap = 0;
    int32_t *frame_map = ct_new_map(src->nframes);
    int32_t *stack_map = ct_new_map(src->nstacks);
    if (frame_map == NULL || stack_map == NULL) {
        goto done;
    }
    /* Rows are walked by index so that merging a table into itself is safe. */
    size_t nrows = src->nrows;
    for (size_t i = 0; i < nrows; i++) {
        dprof_ct_row r = src->rows[i];
        if (stack_map[r.stack_id] == -2) {
            int32_t s = ct_copy_stack(dst, src, r.stack_id, frame_map, &scratch,
                                      &scratch_cap);
            if (s < 0) {
                goto done;
            }
            stack_map[r.stack_id] = s;
        }
        if (dprof_calltree_add(dst, r.thread_id, stack_map[r.stack_id], r.category,
                               r.samples, r.seconds) < 0) {
            goto done;
        }
    }
    rc = 0;
done:
    free(scratch);
    free(frame_map);
    free(stack_map);
    return rc;
}
