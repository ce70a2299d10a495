/* Long element texts lifted out of an XML body before libxml2 parses it.
 *
 * libxml2 reads character data one character at a time, and a feed is mostly the
 * text of its summaries: in a Korean RSS feed, copying CDATA is three quarters of
 * what libxml2 does. This module finds the summaries whose whole content is one long
 * text or one CDATA section (`<description><![CDATA[...]]></description>`), decodes
 * each as XML says to (UTF-8 or CP949, line ends as `\n`, the five predefined
 * entities and character references) and leaves a mark in its place: U+E000 and the
 * text's index. `bot/feeds/lift.py` has libxml2 parse what is left, reads it, and
 * puts the texts in place of the marks, where nothing else can have put one: a body
 * that holds U+E000 in any form is not lifted.
 *
 * Anything out of the ordinary is left in the body for libxml2 to read or reject:
 * a text with another entity, a character XML forbids, bytes that do not decode,
 * `]]>` in a text, a start tag with attributes other than `type="html"`. A body the
 * scanner cannot follow (a DOCTYPE, a construct left open) gives None: nothing lifted.
 *
 * What is left of a CP949 body comes out in UTF-8, like the whole of it from
 * `cp949_to_utf8`: libxml2 decodes CP949 through iconv, a call per character, and
 * Python's codec is no quicker. Both use a table made from Python's own codec, and
 * a byte sequence it does not decode gives None. Markup is ASCII in both encodings,
 * and no CP949 trail byte is `<`, `>`, `&`, `]`, a quote or a control character, so
 * the scanner reads both alike.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Shorter texts cost libxml2 less than taking them out. */
#define MIN_LIFTED 128

/* Elements whose text is lifted, by local name: the long ones of RSS and Atom. */
static const char *const LIFTED_NAMES[] = {"description", "encoded", "summary", "content", NULL};

/* The first `needle` in [from, end), or NULL. memchr on its first byte, which is
 * rare in these bodies, beats memmem (several times faster on Korean UTF-8). */
static const char *
find(const char *from, const char *end, const char *needle)
{
    size_t size = strlen(needle);
    while (end - from >= (Py_ssize_t)size) {
        const char *at = memchr(from, needle[0], (size_t)(end - from) - size + 1);
        if (at == NULL) {
            return NULL;
        }
        if (memcmp(at + 1, needle + 1, size - 1) == 0) {
            return at;
        }
        from = at + 1;
    }
    return NULL;
}

static int
starts(const char *at, const char *end, const char *prefix)
{
    size_t size = strlen(prefix);
    return end - at >= (Py_ssize_t)size && memcmp(at, prefix, size) == 0;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* True when name[0:size] has a local name (after any prefix) that is lifted. */
static int
is_lifted_name(const char *name, Py_ssize_t size)
{
    const char *colon = memchr(name, ':', (size_t)size);
    if (colon != NULL) {
        size -= colon + 1 - name;
        name = colon + 1;
    }
    for (const char *const *lifted = LIFTED_NAMES; *lifted != NULL; lifted++) {
        if ((Py_ssize_t)strlen(*lifted) == size && memcmp(*lifted, name, (size_t)size) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The end of the end tag `</name>` at `at`, or NULL if that is not what is there. */
static const char *
end_tag(const char *at, const char *end, const char *name, Py_ssize_t size)
{
    if (!starts(at, end, "</") || end - at - 2 < size || memcmp(at + 2, name, (size_t)size) != 0) {
        return NULL;
    }
    at += 2 + size;
    while (at < end && is_space(*at)) {
        at++;
    }
    return at < end && *at == '>' ? at + 1 : NULL;
}

/* True for a code point the XML 1.0 `Char` production allows. */
static int
is_xml_char(unsigned long c)
{
    return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF)
           || (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The reference at `at` (just past `&`, up to `;`) as a code point, or 0 if XML does
 * not define it or it names a character XML forbids. */
static unsigned long
reference(const char *at, const char *semicolon)
{
    Py_ssize_t size = semicolon - at;
    static const struct {
        const char *name;
        char value;
    } predefined[] = {{"lt", '<'}, {"gt", '>'}, {"amp", '&'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < sizeof predefined / sizeof predefined[0]; i++) {
        if ((Py_ssize_t)strlen(predefined[i].name) == size
            && memcmp(predefined[i].name, at, (size_t)size) == 0) {
            return (unsigned char)predefined[i].value;
        }
    }
    if (size < 2 || at[0] != '#') {
        return 0;
    }
    int hex = at[1] == 'x';
    const char *digits = at + 1 + hex;
    if (digits >= semicolon || semicolon - digits > 8) {
        return 0;
    }
    unsigned long value = 0;
    for (const char *c = digits; c < semicolon; c++) {
        int digit;
        if (*c >= '0' && *c <= '9') {
            digit = *c - '0';
        }
        else if (hex && *c >= 'a' && *c <= 'f') {
            digit = *c - 'a' + 10;
        }
        else if (hex && *c >= 'A' && *c <= 'F') {
            digit = *c - 'A' + 10;
        }
        else {
            return 0;
        }
        value = value * (hex ? 16 : 10) + (unsigned long)digit;
    }
    return is_xml_char(value) ? value : 0;
}

static char *
put_utf8(char *out, unsigned long c)
{
    if (c < 0x80) {
        *out++ = (char)c;
    }
    else if (c < 0x800) {
        *out++ = (char)(0xC0 | (c >> 6));
        *out++ = (char)(0x80 | (c & 0x3F));
    }
    else if (c < 0x10000) {
        *out++ = (char)(0xE0 | (c >> 12));
        *out++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *out++ = (char)(0x80 | (c & 0x3F));
    }
    else {
        *out++ = (char)(0xF0 | (c >> 18));
        *out++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *out++ = (char)(0x80 | (c & 0x3F));
    }
    return out;
}

/* The character of the well-formed UTF-8 sequence at `at` (Unicode's table 3-7, which
 * is what Python's strict decoder accepts), and its length; 0 for an ill-formed one:
 * a stray or missing continuation byte, an overlong form, a surrogate, past U+10FFFF. */
static inline int
utf8_character(const unsigned char *at, const unsigned char *end, Py_UCS4 *c)
{
    Py_ssize_t left = end - at;
    if ((at[0] & 0xF0) == 0xE0) { /* first: Hangul, and most of the BMP */
        if (left < 3 || (at[1] & 0xC0) != 0x80 || (at[2] & 0xC0) != 0x80) {
            return 0;
        }
        *c = (Py_UCS4)(at[0] & 0x0F) << 12 | (Py_UCS4)(at[1] & 0x3F) << 6 | (at[2] & 0x3F);
        return *c >= 0x800 && (*c < 0xD800 || *c > 0xDFFF) ? 3 : 0;
    }
    if ((at[0] & 0xE0) == 0xC0) {
        if (left < 2 || (at[1] & 0xC0) != 0x80) {
            return 0;
        }
        *c = (Py_UCS4)(at[0] & 0x1F) << 6 | (at[1] & 0x3F);
        return *c >= 0x80 ? 2 : 0;
    }
    if ((at[0] & 0xF8) == 0xF0) {
        if (left < 4 || (at[1] & 0xC0) != 0x80 || (at[2] & 0xC0) != 0x80
            || (at[3] & 0xC0) != 0x80) {
            return 0;
        }
        *c = (Py_UCS4)(at[0] & 0x07) << 18 | (Py_UCS4)(at[1] & 0x3F) << 12
             | (Py_UCS4)(at[2] & 0x3F) << 6 | (at[3] & 0x3F);
        return *c >= 0x10000 && *c <= 0x10FFFF ? 4 : 0;
    }
    return 0;
}

/* CP949. Python's codec and libxml2's (iconv) read every pair Python decodes alike
 * (the tests check all 17,048); a body with any other byte sequence, such as the
 * user-defined pairs only iconv reads, is left to libxml2 as it is. */

/* A pair's character, and its UTF-8 bytes (two or three: every CP949 character is
 * in the BMP and none is ASCII) with their count in utf8[3], 0 for no character. */
typedef struct {
    unsigned char utf8[4];
    Py_UCS2 character;
} Pair;

/* Every pair, by (lead - 0x80) << 8 | trail; made on first use, from Python's codec. */
static Pair *cp949_pairs;

static int
make_cp949_pairs(void)
{
    PyObject *decode = PyCodec_Decoder("cp949");
    Pair *pairs = decode == NULL ? NULL : PyMem_Calloc(0x80 << 8, sizeof(Pair));
    if (pairs == NULL) {
        Py_XDECREF(decode);
        return -1;
    }
    for (int lead = 0x81; lead <= 0xFE; lead++) {
        for (int trail = 0x41; trail <= 0xFE; trail++) {
            char pair[2] = {(char)lead, (char)trail};
            PyObject *decoded = PyObject_CallFunction(decode, "y#", pair, (Py_ssize_t)2);
            if (decoded == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                    Py_DECREF(decode);
                    PyMem_Free(pairs);
                    return -1;
                }
                PyErr_Clear();
                continue;
            }
            /* (text, bytes consumed) */
            PyObject *text = PyTuple_GET_ITEM(decoded, 0);
            if (PyUnicode_GET_LENGTH(text) == 1 && PyUnicode_READ_CHAR(text, 0) >= 0x80) {
                Pair *found = &pairs[(lead - 0x80) << 8 | trail];
                found->character = (Py_UCS2)PyUnicode_READ_CHAR(text, 0);
                char *utf8 = (char *)found->utf8;
                found->utf8[3] = (unsigned char)(put_utf8(utf8, found->character) - utf8);
            }
            Py_DECREF(decoded);
        }
    }
    Py_DECREF(decode);
    if (cp949_pairs == NULL) {
        cp949_pairs = pairs;
    }
    else {
        PyMem_Free(pairs); /* another thread made it meanwhile (the calls can switch) */
    }
    return 0;
}

/* The pair at `at`, or NULL if it is none. */
static inline const Pair *
cp949_pair(const unsigned char *at, const unsigned char *end)
{
    const Pair *pair = &cp949_pairs[(*at - 0x80) << 8 | (at + 1 < end ? at[1] : 0)];
    return pair->utf8[3] != 0 ? pair : NULL;
}

/* CP949 from[0:size] in UTF-8 at `out` (room for 1.5 bytes a byte, and one to spare);
 * the end of what was written, or NULL if a byte sequence is not CP949. */
static char *
transcoded(char *out, const char *from, Py_ssize_t size)
{
    const unsigned char *at = (const unsigned char *)from;
    const unsigned char *end = at + size;
    while (at < end) {
        if (*at < 0x80) {
            *out++ = (char)*at++;
            continue;
        }
        const Pair *pair = cp949_pair(at, end);
        if (pair == NULL) {
            return NULL;
        }
        memcpy(out, pair->utf8, 4);
        out += pair->utf8[3];
        at += 2;
    }
    return out;
}

/* The ASCII bytes `decoded` must look at: control characters (all but \t and \n are
 * either forbidden or a line end), `&` and `]` (of `]]>`). */
static unsigned char special[128];

static void
init_special(void)
{
    for (int c = 0; c < 0x20; c++) {
        special[c] = c != '\t' && c != '\n';
    }
    special['&'] = special[']'] = 1;
}

/* The text XML reads from raw[0:size] (with references when `text`, as CDATA
 * otherwise), as a str; NULL with no exception set when libxml2 should read it.
 * One pass decodes the UTF-8 (or CP949) and does what XML does to the characters. */
static PyObject *
decoded(const char *raw, Py_ssize_t size, int text, int cp949)
{
    Py_UCS4 *chars = PyMem_New(Py_UCS4, size + 1); /* at most a character per byte */
    if (chars == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t length = 0;
    Py_UCS4 widest = 0x7F; /* the largest character, or one of the same str kind */
    const unsigned char *at = (const unsigned char *)raw;
    const unsigned char *end = at + size;
    while (at < end) {
        Py_UCS4 c = *at;
        if ((c & 0xF0) == 0xE0 && !cp949) {
            /* A run of three-byte characters (Hangul, most of the BMP), decoded with
             * only the checks they need: what a summary is mostly made of. */
            const unsigned char *run = at;
            while (end - at >= 4) {
                uint32_t bytes; /* the three bytes and the next, read at once */
                memcpy(&bytes, at, sizeof bytes);
#if PY_BIG_ENDIAN
                bytes = __builtin_bswap32(bytes);
#endif
                if ((bytes & 0xC0C0F0) != 0x8080E0) {
                    break; /* not a lead byte 1110xxxx and two continuation bytes */
                }
                c = (bytes & 0x0F) << 12 | (bytes & 0x3F00) >> 2 | (bytes & 0x3F0000) >> 16;
                if (c - 0x800 > 0xFFFD - 0x800 || c - 0xD800 < 0x800) {
                    break; /* overlong, U+FFFE or U+FFFF, a surrogate: as below */
                }
                chars[length++] = c;
                at += 3;
            }
            if (at != run) {
                widest = widest < 0x800 ? 0x800 : widest; /* enough to choose the kind */
                continue;
            }
            c = *at;
        }
        if (c >= 0x80) {
            int bytes;
            if (cp949) {
                const Pair *pair = cp949_pair(at, end);
                bytes = pair != NULL ? 2 : 0;
                c = pair != NULL ? pair->character : c;
            }
            else {
                bytes = utf8_character(at, end, &c);
            }
            if (bytes == 0 || c == 0xFFFE || c == 0xFFFF) {
                break; /* not UTF-8 or CP949 (libxml2 says so, with the line), or not XML */
            }
            widest = c > widest ? c : widest;
            at += bytes;
        }
        else if (!special[c]) {
            at++;
        }
        else if (c == '\r') {
            c = '\n'; /* a line end: \r\n and a lone \r both become \n */
            at += at + 1 < end && at[1] == '\n' ? 2 : 1;
        }
        else if (c == ']' && text && end - at >= 3 && at[1] == ']' && at[2] == '>') {
            break; /* `]]>` may not appear in a text */
        }
        else if (c == '&' && text) {
            const unsigned char *semicolon = memchr(at, ';', (size_t)(end - at));
            c = semicolon ? reference((const char *)at + 1, (const char *)semicolon) : 0;
            if (c == 0) {
                break;
            }
            widest = c > widest ? c : widest;
            at = semicolon + 1;
        }
        else if (c < 0x20) {
            break; /* a character XML forbids */
        }
        else {
            at++; /* `&` in CDATA, `]`: ordinary after all */
        }
        chars[length++] = c;
    }
    PyObject *result = at == end ? PyUnicode_New(length, widest) : NULL;
    if (result != NULL) {
        void *data = PyUnicode_DATA(result);
        switch (PyUnicode_KIND(result)) {
        case PyUnicode_1BYTE_KIND:
            for (Py_ssize_t i = 0; i < length; i++) {
                ((Py_UCS1 *)data)[i] = (Py_UCS1)chars[i];
            }
            break;
        case PyUnicode_2BYTE_KIND:
            for (Py_ssize_t i = 0; i < length; i++) {
                ((Py_UCS2 *)data)[i] = (Py_UCS2)chars[i];
            }
            break;
        default:
            memcpy(data, chars, (size_t)length * sizeof(Py_UCS4));
        }
    }
    PyMem_Free(chars);
    return result;
}

typedef struct {
    PyObject *texts;    /* the lifted texts, in body order */
    const char *copied; /* the body up to here is in `out` */
    char *out;          /* UTF-8, whatever the body's encoding */
    int cp949;          /* the body is CP949, not UTF-8 */
} Lifting;

/* Copy the body from `copied` up to `to` into `out`; -1 if it is not CP949 after all. */
static int
copy_up_to(Lifting *lifting, const char *to)
{
    Py_ssize_t size = to - lifting->copied;
    if (lifting->cp949) {
        lifting->out = transcoded(lifting->out, lifting->copied, size);
        if (lifting->out == NULL) {
            return -1;
        }
    }
    else {
        memcpy(lifting->out, lifting->copied, (size_t)size);
        lifting->out += size;
    }
    lifting->copied = to;
    return 0;
}

/* U+E000, the mark, in UTF-8. */
static const char MARK[] = "\xee\x80\x80";

/* True when the start tag's attributes, raw[0:size], say nothing a reader looks at:
 * none, or Atom's `type="html"`. */
static int
plain_attributes(const char *raw, Py_ssize_t size)
{
    while (size > 0 && is_space(raw[size - 1])) {
        size--;
    }
    while (size > 0 && is_space(*raw)) {
        raw++;
        size--;
    }
    return size == 0 || (size == 11 && (memcmp(raw, "type=\"html\"", 11) == 0
                                        || memcmp(raw, "type='html'", 11) == 0));
}

/* Lift the content of the element `name` that starts at `content`, if it is one long
 * text. Returns where scanning goes on; NULL on a Python error, or with no exception
 * set when the body before it is not CP949 after all. */
static const char *
lift_content(Lifting *lifting, const char *content, const char *end, const char *name,
             Py_ssize_t name_size)
{
    int cdata = starts(content, end, "<![CDATA[");
    const char *start = cdata ? content + 9 : content;
    const char *stop = cdata ? find(start, end, "]]>") : memchr(content, '<', (size_t)(end - content));
    if (stop == NULL) {
        return content;
    }
    const char *after = cdata ? stop + 3 : stop;
    if (stop - start < MIN_LIFTED || end_tag(after, end, name, name_size) == NULL) {
        return content;
    }
    PyObject *text = decoded(start, stop - start, !cdata, lifting->cp949);
    if (text == NULL) {
        return PyErr_Occurred() ? NULL : content;
    }
    Py_ssize_t index = PyList_GET_SIZE(lifting->texts);
    int appended = PyList_Append(lifting->texts, text);
    Py_DECREF(text);
    if (appended < 0) {
        return NULL;
    }
    if (copy_up_to(lifting, content) < 0) {
        return NULL;
    }
    memcpy(lifting->out, MARK, strlen(MARK));
    lifting->out += strlen(MARK);
    lifting->out += sprintf(lifting->out, "%zd", index);
    lifting->copied = after;
    return after;
}

/* The tag starting at `at` ends where? Quotes are skipped: `>` may sit in a value. */
static const char *
tag_end(const char *at, const char *end)
{
    while (at < end && *at != '>') {
        if (*at == '"' || *at == '\'') {
            const char *quote = memchr(at + 1, *at, (size_t)(end - at - 1));
            if (quote == NULL) {
                return NULL;
            }
            at = quote;
        }
        at++;
    }
    return at < end ? at : NULL;
}

/* True when the body holds U+E000 as such or as a character reference. */
static int
holds_mark(const char *body, const char *end)
{
    if (find(body, end, MARK) != NULL) {
        return 1;
    }
    for (const char *at = body; (at = find(at, end, "&#")) != NULL; at += 2) {
        const char *semicolon = memchr(at, ';', (size_t)(end - at));
        if (semicolon != NULL && semicolon - at <= 12 && reference(at + 1, semicolon) == 0xE000) {
            return 1;
        }
    }
    return 0;
}

/* Scan the body; 1 when the whole of it was followed, 0 when not, -1 on error. */
static int
scan(Lifting *lifting, const char *body, const char *end)
{
    const char *at = body;
    while ((at = memchr(at, '<', (size_t)(end - at))) != NULL) {
        const char *closing = NULL;
        if (starts(at, end, "<!--")) {
            closing = find(at + 4, end, "-->");
            at = closing ? closing + 3 : NULL;
        }
        else if (starts(at, end, "<![CDATA[")) {
            closing = find(at + 9, end, "]]>");
            at = closing ? closing + 3 : NULL;
        }
        else if (starts(at, end, "<?")) {
            closing = find(at + 2, end, "?>");
            at = closing ? closing + 2 : NULL;
        }
        else if (starts(at, end, "<!")) {
            return 0; /* a DOCTYPE: the careful path reads those */
        }
        else if (starts(at, end, "</")) {
            closing = memchr(at, '>', (size_t)(end - at));
            at = closing ? closing + 1 : NULL;
        }
        else {
            const char *name = at + 1;
            const char *name_end = name;
            while (name_end < end && !is_space(*name_end) && *name_end != '/' && *name_end != '>') {
                name_end++;
            }
            closing = tag_end(name_end, end);
            if (closing == NULL) {
                return 0;
            }
            at = closing + 1;
            if (closing[-1] != '/' && is_lifted_name(name, name_end - name)
                && plain_attributes(name_end, closing - name_end)) {
                at = lift_content(lifting, at, end, name, name_end - name);
                if (at == NULL) {
                    return PyErr_Occurred() ? -1 : 0;
                }
            }
        }
        if (at == NULL) {
            return 0; /* a construct left open */
        }
    }
    return 1;
}

static PyObject *
lift(PyObject *module, PyObject *args)
{
    const char *body;
    Py_ssize_t size;
    int cp949 = 0;
    if (!PyArg_ParseTuple(args, "y#|p", &body, &size, &cp949)) {
        return NULL;
    }
    if (cp949 && cp949_pairs == NULL && make_cp949_pairs() < 0) {
        return NULL;
    }
    if (holds_mark(body, body + size)) {
        return Py_NewRef(Py_None);
    }
    /* A mark (3 bytes and the index) is shorter than the text it stands for; CP949
     * takes up to half as much room again in UTF-8. */
    PyObject *out = PyBytes_FromStringAndSize(NULL, cp949 ? size + size / 2 + 1 : size);
    if (out == NULL) {
        return NULL;
    }
    Lifting lifting = {PyList_New(0), body, PyBytes_AS_STRING(out), cp949};
    if (lifting.texts == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    int followed = scan(&lifting, body, body + size);
    if (followed > 0 && PyList_GET_SIZE(lifting.texts) > 0) {
        followed = copy_up_to(&lifting, body + size) < 0 ? 0 : 1;
    }
    if (followed <= 0 || PyList_GET_SIZE(lifting.texts) == 0) {
        Py_DECREF(out);
        Py_DECREF(lifting.texts);
        return followed < 0 ? NULL : Py_NewRef(Py_None);
    }
    if (_PyBytes_Resize(&out, lifting.out - PyBytes_AS_STRING(out)) < 0) {
        Py_DECREF(lifting.texts);
        return NULL;
    }
    return Py_BuildValue("(NN)", out, lifting.texts);
}

static PyObject *
cp949_to_utf8(PyObject *module, PyObject *arg)
{
    const unsigned char *at;
    Py_ssize_t size;
    if (!PyArg_Parse(arg, "y#", &at, &size)) {
        return NULL;
    }
    if (cp949_pairs == NULL && make_cp949_pairs() < 0) {
        return NULL;
    }
    /* A pair becomes three bytes at most, written as four (one to spare). */
    PyObject *utf8 = PyBytes_FromStringAndSize(NULL, size + size / 2 + 1);
    if (utf8 == NULL) {
        return NULL;
    }
    char *out = transcoded(PyBytes_AS_STRING(utf8), (const char *)at, size);
    if (out == NULL) {
        Py_DECREF(utf8);
        return Py_NewRef(Py_None);
    }
    if (_PyBytes_Resize(&utf8, out - PyBytes_AS_STRING(utf8)) < 0) {
        return NULL;
    }
    return utf8;
}

PyDoc_STRVAR(cp949_to_utf8_doc,
             "cp949_to_utf8(body, /)\n--\n\n"
             "The CP949 body in UTF-8, or None when it holds a byte sequence Python's "
             "CP949 codec does not decode.");

PyDoc_STRVAR(lift_doc,
             "lift(body, cp949=False, /)\n--\n\n"
             "(body in UTF-8 with marks for its long texts, [text]) for an XML body in "
             "UTF-8 (or CP949), or None when nothing was lifted. The mark of texts[i] is "
             "U+E000 followed by i.");

static PyMethodDef methods[] = {
    {"lift", lift, METH_VARARGS, lift_doc},
    {"cp949_to_utf8", cp949_to_utf8, METH_O, cp949_to_utf8_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot.feeds._lift",
    .m_doc = "Long element texts lifted out of an XML body; see bot/feeds/lift.py.",
    .m_size = 0,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__lift(void)
{
    init_special();
    return PyModuleDef_Init(&module);
}
