/* The visible text of an HTML fragment, as paragraphs: `bot.text.paragraphs` in C.
 *
 * The normalizer turns every entry's summary into text on every first reading of a
 * feed; done with regular expressions that is half of what normalizing costs. This
 * module does the same work in two passes over the characters, or in one when the
 * visible text holds no `&` (`one_pass`, most summaries). It is not a second
 * definition of the behaviour: `bot/text.py` is, and `tests/unit/test_text_native.py`
 * checks that both give the same result on generated and real markup.
 *
 * Python runs three substitutions, one after the other: `<br ...>` becomes a newline
 * (_BREAK), a block tag such as `<p>` or `</div>` a blank line (_BLOCK), any other tag
 * nothing (_TAG). As long as no tag holds a `<` before its `>`, no substitution can
 * change what a later one sees, and one pass that applies the first rule matching at
 * each `<` gives the same text. Then, as in Python, entities are decoded (by Python's
 * own `html.unescape`), zero-width spaces go, the text is split at blank lines
 * (_PARAGRAPH) and each paragraph's whitespace becomes single spaces (one_line).
 *
 * Markup this module does not read returns None, and the caller uses the Python code:
 * a `<` inside a tag, comments, elements whose content is dropped (script, style, ...),
 * and tag names holding one of the four non-ASCII letters that Python's
 * case-insensitive matching equates with ASCII ones (`<DİV>` is a div to `re`).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *unescape; /* html.unescape */

typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t length;
} Text;

/* What the tag pass does with the `<` at hand. PYTHON: leave the markup to Python. */
typedef enum { KEEP, TO_NEWLINE, TO_BLANK_LINE, TO_NOTHING, PYTHON } TagRule;

static const char *const BLOCK_NAMES[] = {
    "p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
    "table", "tr", "section", "article", "header", "footer", "figure", "figcaption", "hr",
    "dd", "dt", NULL,
};
static const char *const BREAK_NAMES[] = {"br", NULL};
static const char *const DROPPED_NAMES[] = {
    "script", "style", "noscript", "template", "iframe", "object", "svg", NULL,
};

static int
is_word(Py_UCS4 c)
{
    /* `\w` and `\b` in Python's `re` for str patterns. */
    return c == '_' || Py_UNICODE_ISALNUM(c);
}

static int
folds_to_ascii(Py_UCS4 c)
{
    /* İ ı ſ K: equal to i, i, s, k under re.IGNORECASE (the test checks this list). */
    return c == 0x130 || c == 0x131 || c == 0x17F || c == 0x212A;
}

static int
is_space(Py_UCS4 c)
{
    /* str.isspace(), which `\s` and str.split() use; no whitespace lies above U+3000
     * (the test checks that too), so Hangul skips the table lookup. */
    if (c < 0x80) {
        return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F);
    }
    return c <= 0x3000 && Py_UNICODE_ISSPACE(c);
}

/* True when text[start:end], lower-cased as ASCII, is one of `names`. */
static int
name_in(const Text *text, Py_ssize_t start, Py_ssize_t end, const char *const *names)
{
    for (; *names != NULL; names++) {
        const char *name = *names;
        Py_ssize_t at = start;
        while (at < end && *name != '\0') {
            Py_UCS4 c = text->chars[at];
            if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != (Py_UCS4)*name) {
                break;
            }
            at++;
            name++;
        }
        if (at == end && *name == '\0') {
            return 1;
        }
    }
    return 0;
}

/* The rule for the `<` at `at`, by its name: the run of word characters after `<` or
 * `</` (each pattern's name ends at `\b`, so it must be the whole run). */
static TagRule
rule_at(const Text *text, Py_ssize_t at)
{
    Py_ssize_t length = text->length;
    Py_ssize_t start = at + 1;
    if (start + 2 < length && text->chars[start] == '!' && text->chars[start + 1] == '-'
        && text->chars[start + 2] == '-') {
        return PYTHON; /* a comment */
    }
    int closing = start < length && text->chars[start] == '/';
    if (closing) {
        start++;
    }
    Py_ssize_t end = start;
    while (end < length && is_word(text->chars[end])) {
        if (folds_to_ascii(text->chars[end])) {
            return PYTHON;
        }
        end++;
    }
    if (!closing && name_in(text, start, end, DROPPED_NAMES)) {
        return PYTHON; /* <script ...>: its content is not text */
    }
    if (!closing && name_in(text, start, end, BREAK_NAMES)) {
        return TO_NEWLINE;
    }
    if (name_in(text, start, end, BLOCK_NAMES)) {
        return TO_BLANK_LINE;
    }
    Py_UCS4 first = at + 1 < length ? text->chars[at + 1] : 0;
    int tag = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') || first == '/'
              || first == '!';
    return tag ? TO_NOTHING : KEEP;
}

/* Where the tag whose `<` is at `at` ends: its first `>`, or `length` when none
 * follows; -1 when a `<` comes first (a `<` inside a tag: the passes would disagree). */
static Py_ssize_t
tag_end(const Py_UCS4 *chars, Py_ssize_t length, Py_ssize_t at)
{
    Py_ssize_t close = at + 1;
    while (close < length && chars[close] != '>') {
        if (chars[close] == '<') {
            return -1;
        }
        close++;
    }
    return close;
}

/* The three tag substitutions, into `out` (as long as `text`). Returns the new length,
 * or -1 when the markup is Python's to read. Sets `*has_entity` if a `&` remains. */
static Py_ssize_t
tag_pass(const Text *text, Py_UCS4 *out, int *has_entity)
{
    const Py_UCS4 *chars = text->chars;
    Py_ssize_t length = text->length;
    Py_ssize_t written = 0;
    Py_ssize_t close = -1; /* the first `>` after the current `<`, once looked for */
    for (Py_ssize_t at = 0; at < length; at++) {
        Py_UCS4 c = chars[at];
        if (c != '<') {
            *has_entity |= c == '&';
            out[written++] = c;
            continue;
        }
        TagRule rule = rule_at(text, at);
        if (rule == PYTHON) {
            return -1;
        }
        if (rule != KEEP && close <= at && (close = tag_end(chars, length, at)) < 0) {
            return -1;
        }
        if (rule == KEEP || close >= length) {
            out[written++] = c; /* not a tag, or no `>` follows: no later one matches */
            continue;
        }
        if (rule == TO_NEWLINE) {
            out[written++] = '\n';
        }
        else if (rule == TO_BLANK_LINE) {
            out[written++] = '\n';
            out[written++] = '\n';
        }
        at = close;
    }
    return written;
}

static int
is_blank_line_space(Py_UCS4 c)
{
    /* The characters allowed between the two newlines of a paragraph break. */
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == 0xA0
           || c == 0x3000;
}

static int
append(PyObject *result, const Py_UCS4 *line, Py_ssize_t length)
{
    PyObject *paragraph = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, line, length);
    if (paragraph == NULL) {
        return -1;
    }
    int appended = PyList_Append(result, paragraph);
    Py_DECREF(paragraph);
    return appended;
}

/* Splitting visible text into paragraphs, a character at a time: each paragraph on
 * one line, none empty, appended to `result` as it ends. */
typedef struct {
    Py_UCS4 *line;     /* the paragraph so far: scratch space as long as the text */
    Py_ssize_t length;
    PyObject *result;
    int in_space;      /* inside a run of whitespace after a word of this paragraph */
    int newline;       /* since the last newline of this run, only blank-line spaces */
    int new_paragraph; /* the run holds a blank line */
} Split;

/* The step for whitespace character `c`. */
static inline void
split_space(Split *split, Py_UCS4 c)
{
    if (c == '\n') {
        split->new_paragraph |= split->newline;
        split->newline = 1;
    }
    else if (!is_blank_line_space(c)) {
        split->newline = 0;
    }
    split->in_space = 1;
}

/* The step for any other character; -1 with an exception set. */
static inline int
split_word(Split *split, Py_UCS4 c)
{
    if (split->in_space) {
        if (split->length > 0 && split->new_paragraph) {
            if (append(split->result, split->line, split->length) < 0) {
                return -1;
            }
            split->length = 0;
        }
        else if (split->length > 0) {
            split->line[split->length++] = ' ';
        }
        split->in_space = split->newline = split->new_paragraph = 0;
    }
    split->line[split->length++] = c;
    return 0;
}

/* The last paragraph, if any; -1 with an exception set. */
static int
split_end(Split *split)
{
    return split->length > 0 ? append(split->result, split->line, split->length) : 0;
}

/* Paragraphs of `text`, appended to `result`. `line` is scratch space as long as
 * `text`. */
static int
split_paragraphs(const Text *text, Py_UCS4 *line, PyObject *result)
{
    Split split = {.line = line, .result = result};
    for (Py_ssize_t at = 0; at < text->length; at++) {
        Py_UCS4 c = text->chars[at];
        if (c == 0x200B) {
            continue; /* removed before the split, as in Python */
        }
        if (is_space(c)) {
            split_space(&split, c);
        }
        else if (split_word(&split, c) < 0) {
            return -1;
        }
    }
    return split_end(&split);
}

/* True when html.unescape could change `text`: a `&` its pattern may match at, one
 * followed by `#` or by anything but a tab, newline, form feed, space, `<`, `&` or `;`. */
static int
may_hold_entity(const Text *text)
{
    for (Py_ssize_t at = 0; at + 1 < text->length; at++) {
        if (text->chars[at] != '&') {
            continue;
        }
        Py_UCS4 next = text->chars[at + 1];
        if (next != '\t' && next != '\n' && next != '\f' && next != ' ' && next != '<'
            && next != '&' && next != ';') {
            return 1;
        }
    }
    return 0;
}

/* `text` with entities decoded by html.unescape; 0, or -1 with an exception set. */
static int
decode_entities(Text *text)
{
    PyObject *marked = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, text->chars, text->length);
    if (marked == NULL) {
        return -1;
    }
    PyObject *plain = PyObject_CallOneArg(unescape, marked);
    Py_DECREF(marked);
    if (plain == NULL) {
        return -1;
    }
    Py_UCS4 *chars = PyUnicode_AsUCS4Copy(plain);
    Py_ssize_t length = PyUnicode_GET_LENGTH(plain);
    Py_DECREF(plain);
    if (chars == NULL) {
        return -1;
    }
    PyMem_Free(text->chars);
    text->chars = chars;
    text->length = length;
    return 0;
}

/* Both passes in one, for markup whose visible text holds no `&` (most summaries):
 * the tag rules of `tag_pass` feed each character they keep straight into the steps
 * of `Split`. A character above U+3000 is never a space, a `<` or a `&`,
 * so a Hangul syllable costs a comparison and a copy. Returns 1 with the paragraphs
 * in `result`, 0 at the first visible `&` (the two passes must read this markup:
 * entities are decoded between them), -1 when the markup is Python's to read, -2
 * with an exception set. */
static int
one_pass(const Text *text, Py_UCS4 *line, PyObject *result)
{
    const Py_UCS4 *chars = text->chars;
    Py_ssize_t size = text->length;
    Py_ssize_t close = -1; /* as in tag_pass */
    Split split = {.line = line, .result = result};
    for (Py_ssize_t at = 0; at < size; at++) {
        Py_UCS4 c = chars[at];
        if (c <= 0x3000) {
            if (c == '&') {
                return 0;
            }
            if (c == 0x200B) {
                continue;
            }
            if (is_space(c)) {
                split_space(&split, c);
                continue;
            }
            if (c == '<') {
                TagRule rule = rule_at(text, at);
                if (rule == PYTHON) {
                    return -1;
                }
                if (rule != KEEP && close <= at && (close = tag_end(chars, size, at)) < 0) {
                    return -1;
                }
                if (rule != KEEP && close < size) {
                    if (rule == TO_NEWLINE) {
                        split_space(&split, '\n');
                    }
                    else if (rule == TO_BLANK_LINE) {
                        split_space(&split, '\n');
                        split_space(&split, '\n');
                    }
                    at = close;
                    continue;
                }
                /* not a tag, or no `>` follows: the `<` is text */
            }
        }
        if (split_word(&split, c) < 0) {
            return -2;
        }
    }
    return split_end(&split) < 0 ? -2 : 1;
}

/* The paragraphs of `markup`'s characters; Py_None when Python must read it. */
static PyObject *
read_paragraphs(Text *markup, Py_UCS4 *scratch)
{
    PyObject *found = PyList_New(0);
    if (found == NULL) {
        return NULL;
    }
    int read = one_pass(markup, scratch, found);
    if (read == 1) {
        return found;
    }
    Py_DECREF(found);
    if (read == -1) {
        return Py_NewRef(Py_None);
    }
    if (read == -2) {
        return NULL;
    }
    int has_entity = 0;
    Py_ssize_t length = tag_pass(markup, scratch, &has_entity);
    if (length < 0) {
        return Py_NewRef(Py_None);
    }
    /* The visible text goes back into `markup`'s buffer: html.unescape never makes a
     * text longer, so `scratch` is long enough to hold any line of it. */
    memcpy(markup->chars, scratch, length * sizeof(Py_UCS4));
    markup->length = length;
    if (has_entity && may_hold_entity(markup) && decode_entities(markup) < 0) {
        return NULL;
    }
    PyObject *result = PyList_New(0);
    if (result != NULL && split_paragraphs(markup, scratch, result) < 0) {
        Py_CLEAR(result);
    }
    return result;
}

static PyObject *
paragraphs(PyObject *module, PyObject *markup)
{
    if (!PyUnicode_Check(markup)) {
        PyErr_SetString(PyExc_TypeError, "paragraphs() takes a str");
        return NULL;
    }
    Text text = {PyUnicode_AsUCS4Copy(markup), PyUnicode_GET_LENGTH(markup)};
    if (text.chars == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    Py_UCS4 *scratch = PyMem_New(Py_UCS4, text.length + 1);
    if (scratch == NULL) {
        PyErr_NoMemory();
    }
    else {
        result = read_paragraphs(&text, scratch);
        PyMem_Free(scratch);
    }
    PyMem_Free(text.chars);
    return result;
}

PyDoc_STRVAR(paragraphs_doc,
             "paragraphs(markup, /)\n--\n\n"
             "The paragraphs of `bot.text.paragraphs`, or None when the markup needs the "
             "Python code (a `<` inside a tag, comments, script or style elements, "
             "letters that case-fold to ASCII).");

static PyMethodDef methods[] = {
    {"paragraphs", paragraphs, METH_O, paragraphs_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    PyObject *html = PyImport_ImportModule("html");
    if (html == NULL) {
        return -1;
    }
    unescape = PyObject_GetAttrString(html, "unescape");
    Py_DECREF(html);
    return unescape == NULL ? -1 : 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot._text",
    .m_doc = "bot.text.paragraphs in C; bot/text.py is the reference.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__text(void)
{
    return PyModuleDef_Init(&module);
}
