/* The child elements of many lxml elements at once, each with its key, its text and
 * its attributes: `bot.feeds.xmltree.children` in C.
 *
 * The readers go through every child of every item and dispatch on a short key
 * (`keys[element.tag]`, see xmltree.TagKeys). In Python each child costs lxml a
 * `tag` string built from its namespace and name, a dict lookup on it, and a call
 * for its `text`: a fifth of what reading a feed costs; and each `element.get`
 * about 2,000 instructions, most of them checking the name asked for. Here the walk
 * runs over libxml2's own nodes, and the key of a name and namespace met once in a
 * call comes from a small cache, compared by pointer (libxml2 keeps one copy of each
 * name per document); attribute names the same way. A text or an attribute value
 * that is one text node is decoded here (UTF-8, as lxml does); any other goes to
 * lxml's own `textOf` and `attributeValue`. The element is lxml's own proxy
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

/* What one call has met: element keys, and attribute names as lxml spells them. */
typedef struct {
    KeyCache keys;
    KeyCache attributes;
} Caches;

static PyTypeObject *element_type; /* lxml.etree._Element */
static PyObject *no_attributes;    /* a read-only empty mapping, shared */

/* The cached value for `name` in `href`, as a new reference; NULL if none. */
static PyObject *
cached(KeyCache *cache, const xmlChar *name, const xmlChar *href)
{
    for (int at = 0; at < cache->count; at++) {
        CachedKey *entry = &cache->entries[at];
        if (entry->name == name && entry->href == href) {
            return Py_NewRef(entry->key);
        }
    }
    return NULL;
}

static void
remember(KeyCache *cache, const xmlChar *name, const xmlChar *href, PyObject *value)
{
    if (cache->count < CACHED_KEYS) {
        cache->entries[cache->count++] = (CachedKey){name, href, Py_NewRef(value)};
    }
}

static void
forget(KeyCache *cache)
{
    for (int at = 0; at < cache->count; at++) {
        Py_DECREF(cache->entries[at].key);
    }
    cache->count = 0;
}

/* The str of a node's content when it is the one text node of its parent, the
 * common case; NULL with no exception set otherwise. */
static PyObject *
single_text(xmlNode *first)
{
    if (first == NULL || first->next != NULL || first->content == NULL
        || (first->type != XML_TEXT_NODE && first->type != XML_CDATA_SECTION_NODE)) {
        return NULL;
    }
    const char *content = (const char *)first->content;
    return PyUnicode_DecodeUTF8(content, (Py_ssize_t)strlen(content), "strict");
}

/* `keys[tag]` for `node`'s tag, as a new reference; NULL with an exception set. */
static PyObject *
key_of(xmlNode *node, PyObject *keys, KeyCache *cache)
{
    const xmlChar *href = node->ns != NULL ? node->ns->href : NULL;
    PyObject *key = cached(cache, node->name, href);
    if (key != NULL) {
        return key;
    }
    PyObject *tag = namespacedName(node);
    if (tag == NULL) {
        return NULL;
    }
    key = PyObject_GetItem(keys, tag);
    Py_DECREF(tag);
    if (key != NULL) {
        remember(cache, node->name, href, key);
    }
    return key;
}

/* `element.text` of `node`: its leading text and CDATA nodes, joined; None when it
 * starts with none ("" for one empty text node, as lxml gives). */
static PyObject *
text_of(xmlNode *node)
{
    if (node->children == NULL) {
        return Py_NewRef(Py_None);
    }
    PyObject *text = single_text(node->children);
    return text != NULL || PyErr_Occurred() ? text : textOf(node);
}

/* `dict(element.attrib)` of `node`; the shared empty mapping when it has none. */
static PyObject *
attributes_of(xmlNode *node, KeyCache *names)
{
    if (node->properties == NULL) {
        return Py_NewRef(no_attributes);
    }
    PyObject *found = PyDict_New();
    for (xmlAttr *attribute = node->properties; found != NULL && attribute != NULL;
         attribute = attribute->next) {
        const xmlChar *href = attribute->ns != NULL ? attribute->ns->href : NULL;
        PyObject *name = cached(names, attribute->name, href);
        if (name == NULL && (name = namespacedNameFromNsName(href, attribute->name)) != NULL) {
            remember(names, attribute->name, href, name);
        }
        PyObject *value = NULL;
        if (name != NULL && (value = single_text(attribute->children)) == NULL
            && !PyErr_Occurred()) {
            value = attributeValue(node, attribute);
        }
        if (value == NULL || PyDict_SetItem(found, name, value) < 0) {
            Py_CLEAR(found);
        }
        Py_XDECREF(name);
        Py_XDECREF(value);
    }
    return found;
}

/* (key, text, element, attributes) for each child element of `parent`, appended to
 * `found`. */
static int
add_children(struct LxmlElement *parent, PyObject *keys, Caches *caches, PyObject *found)
{
    for (xmlNode *node = parent->_c_node->children; node != NULL; node = node->next) {
        if (node->type != XML_ELEMENT_NODE) {
            continue; /* comments, processing instructions, entity references */
        }
        PyObject *parts[4] = {NULL, NULL, NULL, NULL};
        PyObject *child = NULL;
        if ((parts[0] = key_of(node, keys, &caches->keys)) != NULL
            && (parts[1] = text_of(node)) != NULL
            && (parts[2] = (PyObject *)elementFactory(parent->_doc, node)) != NULL
            && (parts[3] = attributes_of(node, &caches->attributes)) != NULL) {
            child = PyTuple_Pack(4, parts[0], parts[1], parts[2], parts[3]);
        }
        for (int at = 0; at < 4; at++) {
            Py_XDECREF(parts[at]);
        }
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
    Caches caches = {.keys = {.count = 0}, .attributes = {.count = 0}};
    for (Py_ssize_t at = 0; result != NULL && at < count; at++) {
        PyObject *parent = PySequence_Fast_GET_ITEM(parents, at);
        PyObject *found = NULL;
        if (!PyObject_TypeCheck(parent, element_type)) {
            PyErr_Format(PyExc_TypeError, "children() takes lxml elements, not %.50s",
                         Py_TYPE(parent)->tp_name);
        }
        else if ((found = PyList_New(0)) != NULL) {
            PyList_SET_ITEM(result, at, found);
            if (add_children((struct LxmlElement *)parent, keys, &caches, found) == 0) {
                continue;
            }
        }
        Py_CLEAR(result);
    }
    forget(&caches.keys);
    forget(&caches.attributes);
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
             "For each element of `parents`, a list of (keys[tag], text, element, "
             "attributes) for each of its child elements, in document order.");

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
    PyObject *empty = PyDict_New();
    no_attributes = empty != NULL ? PyDictProxy_New(empty) : NULL;
    Py_XDECREF(empty);
    return element_type == NULL || no_attributes == NULL ? -1 : 0;
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
