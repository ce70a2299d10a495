/* The child elements of many lxml elements at once, each with its key and its text:
 * `bot.feeds.xmltree.children` in C.
 *
 * The readers go through every child of every item and dispatch on a short key
 * (`keys[element.tag]`, see xmltree.TagKeys). In Python each child costs lxml a
 * `tag` string built from its namespace and name, a dict lookup on it, and a call
 * for its `text`: a fifth of what reading a feed costs. Here the walk runs over
 * libxml2's own nodes, and the key of a name and namespace met once in a call comes
 * from a small cache, compared by pointer (libxml2 keeps one copy of each name per
 * document). The text is what `element.text` returns: decoded here when it is one
 * text node, else by lxml's own `textOf`; the element is lxml's own proxy
 * (`elementFactory`). So the result is exactly the Python fallback's. `tests/unit/test_feeds_tree.py` holds the two to the same results.
 *
 * lxml publishes this C API for extensions (`lxml.etree_api.h`, with libxml2's
 * headers, in its wheel). Building needs lxml; without it, or when the API at run
 * time does not match the one built against, `xmltree` uses the Python code.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <libxml/tree.h>
#include <string.h>

#include "lxml.etree_api.h"

/* Names and namespaces remembered per call: an item has a dozen kinds of child. */
#define CACHED_KEYS 64

typedef struct {
    const xmlChar *name;
    const xmlChar *href;
    PyObject *key;
} CachedKey;

typedef struct {
    CachedKey entries[CACHED_KEYS];
    int count;
} KeyCache;

static PyTypeObject *element_type; /* lxml.etree._Element */

/* `keys[tag]` for `node`'s tag, as a new reference; NULL with an exception set. */
static PyObject *
key_of(xmlNode *node, PyObject *keys, KeyCache *cache)
{
    const xmlChar *href = node->ns != NULL ? node->ns->href : NULL;
    for (int at = 0; at < cache->count; at++) {
        CachedKey *cached = &cache->entries[at];
        if (cached->name == node->name && cached->href == href) {
            return Py_NewRef(cached->key);
        }
    }
    PyObject *tag = namespacedName(node);
    if (tag == NULL) {
        return NULL;
    }
    PyObject *key = PyObject_GetItem(keys, tag);
    Py_DECREF(tag);
    if (key != NULL && cache->count < CACHED_KEYS) {
        cache->entries[cache->count++] = (CachedKey){node->name, href, Py_NewRef(key)};
    }
    return key;
}

/* `element.text` of `node`: its leading text and CDATA nodes, joined; None when it
 * starts with none. The common case, one text node and nothing else, is decoded
 * here (as lxml would: its UTF-8 content, "" when empty); any other goes to lxml. */
static PyObject *
text_of(xmlNode *node)
{
    xmlNode *first = node->children;
    if (first == NULL) {
        return Py_NewRef(Py_None);
    }
    if (first->next == NULL && first->content != NULL
        && (first->type == XML_TEXT_NODE || first->type == XML_CDATA_SECTION_NODE)) {
        const char *content = (const char *)first->content;
        return PyUnicode_DecodeUTF8(content, (Py_ssize_t)strlen(content), "strict");
    }
    return textOf(node);
}

/* (key, text, element) for each child element of `parent`, appended to `found`. */
static int
add_children(struct LxmlElement *parent, PyObject *keys, KeyCache *cache, PyObject *found)
{
    for (xmlNode *node = parent->_c_node->children; node != NULL; node = node->next) {
        if (node->type != XML_ELEMENT_NODE) {
            continue; /* comments, processing instructions, entity references */
        }
        PyObject *key = key_of(node, keys, cache);
        if (key == NULL) {
            return -1;
        }
        PyObject *text = text_of(node);
        if (text == NULL) {
            Py_DECREF(key);
            return -1;
        }
        PyObject *element = (PyObject *)elementFactory(parent->_doc, node);
        if (element == NULL) {
            Py_DECREF(key);
            Py_DECREF(text);
            return -1;
        }
        PyObject *child = PyTuple_Pack(3, key, text, element);
        Py_DECREF(key);
        Py_DECREF(text);
        Py_DECREF(element);
        if (child == NULL) {
            return -1;
        }
        int appended = PyList_Append(found, child);
        Py_DECREF(child);
        if (appended < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *
read_children(PyObject *parents, PyObject *keys)
{
    Py_ssize_t count = PySequence_Fast_GET_SIZE(parents);
    PyObject *result = PyList_New(count);
    KeyCache cache = {.count = 0};
    for (Py_ssize_t at = 0; result != NULL && at < count; at++) {
        PyObject *parent = PySequence_Fast_GET_ITEM(parents, at);
        PyObject *found = NULL;
        if (!PyObject_TypeCheck(parent, element_type)) {
            PyErr_Format(PyExc_TypeError, "children() takes lxml elements, not %.50s",
                         Py_TYPE(parent)->tp_name);
        }
        else if ((found = PyList_New(0)) != NULL) {
            PyList_SET_ITEM(result, at, found);
            if (add_children((struct LxmlElement *)parent, keys, &cache, found) == 0) {
                continue;
            }
        }
        Py_CLEAR(result);
    }
    for (int at = 0; at < cache.count; at++) {
        Py_DECREF(cache.entries[at].key);
    }
    return result;
}

static PyObject *
children(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "children() takes a list of elements and the keys");
        return NULL;
    }
    PyObject *parents = PySequence_Fast(args[0], "children() takes a sequence of elements");
    if (parents == NULL) {
        return NULL;
    }
    PyObject *result = read_children(parents, args[1]);
    Py_DECREF(parents);
    return result;
}

PyDoc_STRVAR(children_doc,
             "children(parents, keys, /)\n--\n\n"
             "For each element of `parents`, a list of (keys[tag], text, element) for "
             "each of its child elements, in document order.");

static PyMethodDef methods[] = {
    {"children", (PyCFunction)(void (*)(void))children, METH_FASTCALL, children_doc},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    if (import_lxml__etree() < 0) {
        return -1; /* an lxml whose C API differs from the one built against */
    }
    PyObject *etree = PyImport_ImportModule("lxml.etree");
    if (etree == NULL) {
        return -1;
    }
    element_type = (PyTypeObject *)PyObject_GetAttrString(etree, "_Element");
    Py_DECREF(etree);
    return element_type == NULL ? -1 : 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "bot.feeds._tree",
    .m_doc = "bot.feeds.xmltree.children in C; xmltree.py is the reference.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__tree(void)
{
    return PyModuleDef_Init(&module);
}
