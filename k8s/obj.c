// SPDX-License-Identifier: MIT
/*
 * k8s/obj.c - struct k8s_obj: API objects as cJSON trees behind typed
 * accessors and JSON Pointer (RFC 6901) paths, so that code outside k8s/
 * reads and builds any object without cJSON.
 *
 * Setters are all-or-nothing: the objects a path needs on the way are built
 * detached and attached only once the value is in place.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_int.h"

/* a path token longer than this is refused (keys are at most 316 bytes) */
#define TOK_MAX 1024

cJSON *kjson_parse(const char *buf, size_t len)
{
	if (!buf)
		return NULL;
	return cJSON_ParseWithLength(buf, len);
}

const char *kjson_str(const cJSON *j, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ------------------------------------------------------------ JSON Pointer */

/*
 * The next token of @p (just after a '/'), unescaped into @tok. Sets *@end
 * to where the token ends ('/' or NUL). Return: 0; -EINVAL (a bad escape, or
 * a token too long).
 */
/*
 * JSON Pointer (RFC 6901): a path is "" or a sequence of "/token"; in a
 * token "~1" is '/' and "~0" is '~', and nothing else may follow '~'. An
 * array index is "0" or digits without a leading zero; "-" (only when
 * writing) is the element after the last.
 */
static int ptr_token(const char *p, char tok[TOK_MAX], const char **end)
{
	size_t n = 0;

	for (; *p && *p != '/'; p++) {
		char ch = *p;

		if (ch == '~') {
			if (p[1] == '0')
				ch = '~';
			else if (p[1] == '1')
				ch = '/';
			else
				return -EINVAL;
			p++;
		}
		if (n + 1 >= TOK_MAX)
			return -EINVAL;
		tok[n++] = ch;
	}
	tok[n] = '\0';
	*end = p;
	return 0;
}

/* an array index: "0" or digits without a leading zero; -1 if not one */
static long ptr_index(const char *tok)
{
	long v = 0;

	if (!tok[0] || (tok[0] == '0' && tok[1]))
		return -1;
	for (const char *p = tok; *p; p++) {
		if (*p < '0' || *p > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static cJSON *ptr_child(const cJSON *cur, const char *tok)
{
	if (cJSON_IsObject(cur))
		return cJSON_GetObjectItemCaseSensitive(cur, tok);
	if (cJSON_IsArray(cur)) {
		long i = ptr_index(tok);

		if (i < 0 || i >= cJSON_GetArraySize(cur))
			return NULL;
		return cJSON_GetArrayItem(cur, (int)i);
	}
	return NULL;
}

static cJSON *ptr_get(const cJSON *root, const char *path)
{
	char tok[TOK_MAX];
	const cJSON *cur = root;
	const char *p = path;

	if (!root || !path)
		return NULL;
	if (!*p)
		return (cJSON *)root;
	while (*p) {
		if (*p != '/' || ptr_token(p + 1, tok, &p))
			return NULL;
		cur = ptr_child(cur, tok);
		if (!cur)
			return NULL;
	}
	return (cJSON *)cur;
}

/* put @v (transferred on success) as @tok of the container @cur */
static int ptr_put(cJSON *cur, const char *tok, cJSON *v)
{
	if (cJSON_IsObject(cur)) {
		if (cJSON_GetObjectItemCaseSensitive(cur, tok))
			return cJSON_ReplaceItemInObjectCaseSensitive(cur, tok, v) ? 0 : -ENOMEM;
		return cJSON_AddItemToObject(cur, tok, v) ? 0 : -ENOMEM;
	}
	if (cJSON_IsArray(cur)) {
		long i;

		if (!strcmp(tok, "-"))
			return cJSON_AddItemToArray(cur, v) ? 0 : -ENOMEM;
		i = ptr_index(tok);
		if (i < 0 || i >= cJSON_GetArraySize(cur))
			return -EINVAL;
		return cJSON_ReplaceItemInArray(cur, (int)i, v) ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

/*
 * Put @v (transferred on success) at @path below @root, creating objects on
 * the way. On failure nothing changed.
 */
/*
 * Objects missing on the way are created for a set, but detached until the
 * value is in place: a set that fails (no memory, a step through a string,
 * an index out of range) leaves the tree as it was.
 */
static int ptr_set(cJSON *root, const char *path, cJSON *v)
{
	char tok[TOK_MAX];
	const char *p = path, *next;
	cJSON *cur = root;
	int ret;

	if (!root || !path || !*path || *path != '/' || !v)
		return -EINVAL;
	for (;;) {
		cJSON *child;

		ret = ptr_token(p + 1, tok, &next);
		if (ret)
			return ret;
		if (!*next)
			return ptr_put(cur, tok, v);
		if (*next != '/')
			return -EINVAL;
		child = ptr_child(cur, tok);
		if (!child) {
			/* build the rest detached, attach it last */
			cJSON *top, *c;
			char key[TOK_MAX];

			if (!cJSON_IsObject(cur))
				return -EINVAL;
			top = c = cJSON_CreateObject();
			if (!top)
				return -ENOMEM;
			p = next;
			for (;;) {
				ret = ptr_token(p + 1, key, &next);
				if (ret)
					goto out_chain;
				if (!*next)
					break;
				{
					cJSON *n = cJSON_CreateObject();

					if (!n || !cJSON_AddItemToObject(c, key, n)) {
						cJSON_Delete(n);
						ret = -ENOMEM;
						goto out_chain;
					}
					c = n;
				}
				p = next;
			}
			if (!cJSON_AddItemToObject(c, key, v)) {
				ret = -ENOMEM;
				goto out_chain;
			}
			if (!cJSON_AddItemToObject(cur, tok, top)) {
				/* give @v back to the caller */
				cJSON_DetachItemViaPointer(c, v);
				ret = -ENOMEM;
				goto out_chain;
			}
			return 0;
out_chain:
			cJSON_Delete(top);
			return ret;
		}
		if (!cJSON_IsObject(child) && !cJSON_IsArray(child))
			return -EINVAL;
		cur = child;
		p = next;
	}
}

/* ------------------------------------------------------------ roots */

int k8s_obj_parse(const char *json, size_t len, struct k8s_obj **out)
{
	cJSON *j = kjson_parse(json, len);

	*out = NULL;
	if (!j)
		return -EINVAL;
	*out = O(j);
	return 0;
}

int k8s_obj_new(struct k8s_obj **out)
{
	cJSON *j = cJSON_CreateObject();

	*out = O(j);
	return j ? 0 : -ENOMEM;
}

int k8s_obj_new_array(struct k8s_obj **out)
{
	cJSON *j = cJSON_CreateArray();

	*out = O(j);
	return j ? 0 : -ENOMEM;
}

int k8s_obj_new_kind(const struct k8s_resource *r, const char *ns, const char *name,
		     struct k8s_obj **out)
{
	char api[128];
	cJSON *j, *md;

	*out = NULL;
	if (!r || !r->version || !r->kind)
		return -EINVAL;
	if (r->group && r->group[0])
		snprintf(api, sizeof(api), "%s/%s", r->group, r->version);
	else
		snprintf(api, sizeof(api), "%s", r->version);
	j = cJSON_CreateObject();
	if (!j || !cJSON_AddStringToObject(j, "apiVersion", api) ||
	    !cJSON_AddStringToObject(j, "kind", r->kind) ||
	    !(md = cJSON_AddObjectToObject(j, "metadata")) ||
	    (name && !cJSON_AddStringToObject(md, "name", name)) ||
	    (ns && r->namespaced && !cJSON_AddStringToObject(md, "namespace", ns))) {
		cJSON_Delete(j);
		return -ENOMEM;
	}
	*out = O(j);
	return 0;
}

struct k8s_obj *k8s_obj_dup(const struct k8s_obj *o)
{
	cJSON *c = o ? cJSON_Duplicate(J(o), 1) : NULL;

	/* a member's copy keeps its key name: a root has none (k8s_obj_set() moves roots) */
	if (c && c->string) {
		if (!(c->type & cJSON_StringIsConst))
			cJSON_free(c->string);
		c->string = NULL;
		c->type &= ~cJSON_StringIsConst;
	}
	return O(c);
}

void k8s_obj_free(struct k8s_obj *o)
{
	cJSON_Delete(J(o));
}

char *k8s_obj_json(const struct k8s_obj *o)
{
	char *s, *p;

	if (!o)
		return NULL;
	/* cJSON_free and free() are the same allocator unless hooks are set: copy */
	s = cJSON_PrintUnformatted(J(o));
	if (!s)
		return NULL;
	p = strdup(s);
	cJSON_free(s);
	return p;
}

bool k8s_obj_equal(const struct k8s_obj *a, const struct k8s_obj *b)
{
	if (!a || !b)
		return a == b;
	return cJSON_Compare(J(a), J(b), 1);
}

/* ------------------------------------------------------------ reading */

const struct k8s_obj *k8s_obj_at(const struct k8s_obj *o, const char *path)
{
	return O(ptr_get(J(o), path));
}

int k8s_ptr_join(char *out, size_t len, const char *base, const char *key)
{
	size_t n = (size_t)snprintf(out, len, "%s/", base);

	for (; *key && n < len; key++) {
		bool esc = *key == '~' || *key == '/';

		if (n + (esc ? 2 : 1) >= len)
			break;
		if (esc)
			out[n++] = '~';
		out[n++] = esc ? (*key == '~' ? '0' : '1') : *key;
	}
	if (n >= len || *key) {
		if (len)
			out[0] = '\0';
		return -ENAMETOOLONG;
	}
	out[n] = '\0';
	return 0;
}

const struct k8s_obj *k8s_obj_key(const struct k8s_obj *o, const char *key)
{
	if (!o || !key || !cJSON_IsObject(J(o)))
		return NULL;
	return O(cJSON_GetObjectItemCaseSensitive(J(o), key));
}

enum k8s_type k8s_obj_type(const struct k8s_obj *o, const char *path)
{
	const cJSON *j = ptr_get(J(o), path);

	if (!j)
		return K8S_T_ABSENT;
	if (cJSON_IsNull(j))
		return K8S_T_NULL;
	if (cJSON_IsBool(j))
		return K8S_T_BOOL;
	if (cJSON_IsNumber(j))
		return K8S_T_NUMBER;
	if (cJSON_IsString(j))
		return K8S_T_STRING;
	if (cJSON_IsArray(j))
		return K8S_T_ARRAY;
	if (cJSON_IsObject(j))
		return K8S_T_OBJECT;
	return K8S_T_ABSENT;
}

const char *k8s_obj_str(const struct k8s_obj *o, const char *path)
{
	const cJSON *j = ptr_get(J(o), path);

	return cJSON_IsString(j) ? j->valuestring : NULL;
}

int k8s_obj_num(const struct k8s_obj *o, const char *path, double *out)
{
	const cJSON *j = ptr_get(J(o), path);

	if (!j || cJSON_IsNull(j))
		return -ENOENT;
	if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
		return -EINVAL;
	*out = j->valuedouble;
	return 0;
}

int k8s_obj_int(const struct k8s_obj *o, const char *path, int64_t *out)
{
	double d;
	int ret = k8s_obj_num(o, path, &d);

	if (ret)
		return ret;
	/* 2^53: the integers a double holds exactly */
	if (d != floor(d) || d > 9007199254740992.0 || d < -9007199254740992.0)
		return -EINVAL;
	*out = (int64_t)d;
	return 0;
}

int k8s_obj_bool(const struct k8s_obj *o, const char *path, bool *out)
{
	const cJSON *j = ptr_get(J(o), path);

	if (!j || cJSON_IsNull(j))
		return -ENOENT;
	if (!cJSON_IsBool(j))
		return -EINVAL;
	*out = cJSON_IsTrue(j);
	return 0;
}

size_t k8s_obj_len(const struct k8s_obj *o, const char *path)
{
	const cJSON *j = ptr_get(J(o), path);

	if (!cJSON_IsArray(j) && !cJSON_IsObject(j))
		return 0;
	return (size_t)cJSON_GetArraySize(j);
}

const struct k8s_obj *k8s_obj_first(const struct k8s_obj *o)
{
	if (!o || (!cJSON_IsArray(J(o)) && !cJSON_IsObject(J(o))))
		return NULL;
	return O(J(o)->child);
}

const struct k8s_obj *k8s_obj_next(const struct k8s_obj *o)
{
	return o ? O(J(o)->next) : NULL;
}

const char *k8s_obj_name(const struct k8s_obj *member)
{
	return member ? J(member)->string : NULL;
}

/* ------------------------------------------------------------ writing */

/* put a new value, freeing it if the set fails */
static int set_new(struct k8s_obj *o, const char *path, cJSON *v)
{
	int ret;

	if (!v)
		return -ENOMEM;
	ret = ptr_set(J(o), path, v);
	if (ret)
		cJSON_Delete(v);
	return ret;
}

int k8s_obj_set_str(struct k8s_obj *o, const char *path, const char *v)
{
	if (!v)
		return -EINVAL;
	return set_new(o, path, cJSON_CreateString(v));
}

int k8s_obj_set_int(struct k8s_obj *o, const char *path, int64_t v)
{
	return set_new(o, path, cJSON_CreateNumber((double)v));
}

int k8s_obj_set_num(struct k8s_obj *o, const char *path, double v)
{
	if (!isfinite(v))
		return -EINVAL;
	return set_new(o, path, cJSON_CreateNumber(v));
}

int k8s_obj_set_bool(struct k8s_obj *o, const char *path, bool v)
{
	return set_new(o, path, cJSON_CreateBool(v));
}

int k8s_obj_set_null(struct k8s_obj *o, const char *path)
{
	return set_new(o, path, cJSON_CreateNull());
}

int k8s_obj_set_empty(struct k8s_obj *o, const char *path, enum k8s_type type)
{
	if (type == K8S_T_OBJECT)
		return set_new(o, path, cJSON_CreateObject());
	if (type == K8S_T_ARRAY)
		return set_new(o, path, cJSON_CreateArray());
	return -EINVAL;
}

int k8s_obj_set(struct k8s_obj *o, const char *path, struct k8s_obj *v)
{
	/* only a root may move: a member is linked into its tree */
	if (!v || J(v)->prev || J(v)->next || J(v)->string)
		return -EINVAL;
	return ptr_set(J(o), path, J(v));
}

int k8s_obj_set_copy(struct k8s_obj *o, const char *path, const struct k8s_obj *v)
{
	if (!v)
		return -EINVAL;
	return set_new(o, path, cJSON_Duplicate(J(v), 1));
}

int k8s_obj_set_json(struct k8s_obj *o, const char *path, const char *json)
{
	cJSON *v;

	if (!json)
		return -EINVAL;
	v = kjson_parse(json, strlen(json));
	if (!v)
		return -EINVAL;
	return set_new(o, path, v);
}

int k8s_obj_remove(struct k8s_obj *o, const char *path)
{
	char tok[TOK_MAX];
	const char *last, *end;
	cJSON *parent, *item;
	char *ppath;

	if (!o || !path || *path != '/')
		return -EINVAL;
	last = strrchr(path, '/');
	if (ptr_token(last + 1, tok, &end))
		return -EINVAL;
	ppath = strndup(path, (size_t)(last - path));
	if (!ppath)
		return -ENOMEM;
	parent = ptr_get(J(o), ppath);
	free(ppath);
	item = ptr_child(parent, tok);
	if (!item)
		return -ENOENT;
	cJSON_Delete(cJSON_DetachItemViaPointer(parent, item));
	return 0;
}

/* ------------------------------------------------------------ metadata */

static const cJSON *meta(const struct k8s_obj *o)
{
	return cJSON_GetObjectItemCaseSensitive(J(o), "metadata");
}

const char *k8s_obj_get_name(const struct k8s_obj *o)
{
	return o ? kjson_str(meta(o), "name") : NULL;
}

const char *k8s_obj_get_ns(const struct k8s_obj *o)
{
	return o ? kjson_str(meta(o), "namespace") : NULL;
}

const char *k8s_obj_get_uid(const struct k8s_obj *o)
{
	return o ? kjson_str(meta(o), "uid") : NULL;
}

const char *k8s_obj_get_rv(const struct k8s_obj *o)
{
	return o ? kjson_str(meta(o), "resourceVersion") : NULL;
}

const char *k8s_obj_label(const struct k8s_obj *o, const char *key)
{
	return o && key ? kjson_str(cJSON_GetObjectItemCaseSensitive(meta(o), "labels"), key)
			: NULL;
}

const char *k8s_obj_annotation(const struct k8s_obj *o, const char *key)
{
	return o && key ? kjson_str(cJSON_GetObjectItemCaseSensitive(meta(o), "annotations"), key)
			: NULL;
}

/* set or remove a member of metadata.@map */
static int set_meta_map(struct k8s_obj *o, const char *map, const char *key, const char *v)
{
	cJSON *md, *m, *s;

	if (!o || !key || !*key || !cJSON_IsObject(J(o)))
		return -EINVAL;
	md = cJSON_GetObjectItemCaseSensitive(J(o), "metadata");
	if (!md) {
		if (!v)
			return 0;
		md = cJSON_AddObjectToObject(J(o), "metadata");
		if (!md)
			return -ENOMEM;
	}
	if (!cJSON_IsObject(md))
		return -EINVAL;
	m = cJSON_GetObjectItemCaseSensitive(md, map);
	if (!v) {
		if (cJSON_IsObject(m))
			cJSON_DeleteItemFromObjectCaseSensitive(m, key);
		return 0;
	}
	if (!m || cJSON_IsNull(m)) {
		cJSON_DeleteItemFromObjectCaseSensitive(md, map);
		m = cJSON_AddObjectToObject(md, map);
		if (!m)
			return -ENOMEM;
	}
	if (!cJSON_IsObject(m))
		return -EINVAL;
	s = cJSON_CreateString(v);
	if (!s)
		return -ENOMEM;
	if (cJSON_GetObjectItemCaseSensitive(m, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(m, key, s)
			       ? 0
			       : (cJSON_Delete(s), -ENOMEM);
	return cJSON_AddItemToObject(m, key, s) ? 0 : (cJSON_Delete(s), -ENOMEM);
}

int k8s_obj_set_label(struct k8s_obj *o, const char *key, const char *v)
{
	return set_meta_map(o, "labels", key, v);
}

int k8s_obj_set_annotation(struct k8s_obj *o, const char *key, const char *v)
{
	return set_meta_map(o, "annotations", key, v);
}

int k8s_obj_set_owner(struct k8s_obj *o, const struct k8s_obj *owner)
{
	const char *api = k8s_obj_str(owner, "/apiVersion"), *kind = k8s_obj_str(owner, "/kind");
	const char *name = k8s_obj_get_name(owner), *uid = k8s_obj_get_uid(owner);
	const char *ons = k8s_obj_get_ns(owner), *ns = k8s_obj_get_ns(o);
	cJSON *ref, *md, *refs;

	if (!o || !api || !kind || !name || !uid)
		return -EINVAL;
	/* a namespaced owner of another namespace counts as absent: GC deletes @o */
	if (ons && (!ns || strcmp(ons, ns)))
		return -EINVAL;
	ref = cJSON_CreateObject();
	if (!ref || !cJSON_AddStringToObject(ref, "apiVersion", api) ||
	    !cJSON_AddStringToObject(ref, "kind", kind) ||
	    !cJSON_AddStringToObject(ref, "name", name) ||
	    !cJSON_AddStringToObject(ref, "uid", uid) ||
	    !cJSON_AddTrueToObject(ref, "controller") ||
	    !cJSON_AddTrueToObject(ref, "blockOwnerDeletion"))
		goto out_nomem;
	md = cJSON_GetObjectItemCaseSensitive(J(o), "metadata");
	if (!md && !(md = cJSON_AddObjectToObject(J(o), "metadata")))
		goto out_nomem;
	refs = cJSON_GetObjectItemCaseSensitive(md, "ownerReferences");
	if (!refs && !(refs = cJSON_AddArrayToObject(md, "ownerReferences")))
		goto out_nomem;
	if (!cJSON_IsArray(refs)) {
		cJSON_Delete(ref);
		return -EINVAL;
	}
	if (!cJSON_AddItemToArray(refs, ref))
		goto out_nomem;
	return 0;
out_nomem:
	cJSON_Delete(ref);
	return -ENOMEM;
}

int k8s_obj_key_of(const struct k8s_obj *o, char key[K8S_KEY_SIZE])
{
	const char *name = k8s_obj_get_name(o), *ns = k8s_obj_get_ns(o);
	int n;

	key[0] = '\0';
	if (!name || !*name)
		return -EINVAL;
	if (ns && *ns)
		n = snprintf(key, K8S_KEY_SIZE, "%s/%s", ns, name);
	else
		n = snprintf(key, K8S_KEY_SIZE, "%s", name);
	if (n < 0 || n >= K8S_KEY_SIZE) {
		key[0] = '\0';
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------ field managers */

/* whether fieldsV1 @f owns the field the tokens of @path name */
/*
 * managedFields (fieldsV1) is a tree of "f:<field>" keys, "k:{...}" list
 * items and "." for the value itself; an empty set {} at a node means the
 * manager owns that whole value (an atomic map or list, a scalar).
 */
static bool fields_own(const cJSON *f, const char *path)
{
	char tok[TOK_MAX], key[TOK_MAX + 2];
	const char *p = path;

	while (*p) {
		const cJSON *n;

		if (*p != '/' || ptr_token(p + 1, tok, &p))
			return false;
		if (!cJSON_IsObject(f))
			return false;
		/* an empty set at an ancestor: the whole value is its (atomic) */
		if (!f->child)
			return true;
		snprintf(key, sizeof(key), "f:%s", tok);
		n = cJSON_GetObjectItemCaseSensitive(f, key);
		if (!n)
			return false;
		f = n;
	}
	return true;
}

int k8s_obj_managers(const struct k8s_obj *o, const char *path, k8s_manager_fn fn, void *arg)
{
	const cJSON *mf = cJSON_GetObjectItemCaseSensitive(meta(o), "managedFields"), *e;

	if (!o || !path || !fn || !cJSON_IsArray(mf))
		return 0;
	cJSON_ArrayForEach(e, mf) {
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "fieldsV1");
		const char *m = kjson_str(e, "manager"), *op = kjson_str(e, "operation");
		int ret;

		/* the root of fieldsV1 is never "everything" */
		if (!m || !cJSON_IsObject(f) || !f->child || !fields_own(f, path))
			continue;
		ret = fn(arg, m, op ? op : "");
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ views */

int64_t kview_time(const struct k8s_obj *o, const char *path)
{
	const char *s = k8s_obj_str(o, path);
	int64_t ns;

	return s && !k8s_time_parse(s, &ns) ? ns : 0;
}

int64_t kview_qty(const struct k8s_obj *o, const char *path, bool milli)
{
	const char *s = k8s_obj_str(o, path);
	int64_t v = 0;

	if (!s) {
		/* a quantity may be written as a plain number */
		if (k8s_obj_int(o, path, &v))
			return 0;
		return milli ? v * 1000 : v;
	}
	if (milli ? k8s_quantity_parse(s, &v) : k8s_quantity_value(s, &v))
		return 0;
	return v;
}

bool kview_condition(const struct k8s_obj *o, const char *type, int64_t *since)
{
	const cJSON *cs = ptr_get(J(o), "/status/conditions"), *c;

	cJSON_ArrayForEach(c, cs) {
		const char *t = kjson_str(c, "type"), *st = kjson_str(c, "status");

		if (!t || strcmp(t, type))
			continue;
		if (since)
			*since = kview_time(O(c), "/lastTransitionTime");
		return st && !strcmp(st, "True");
	}
	if (since)
		*since = 0;
	return false;
}

int k8s_meta_view(const struct k8s_obj *o, struct k8s_meta *m)
{
	const struct k8s_obj *md = k8s_obj_key(o, "metadata");

	memset(m, 0, sizeof(*m));
	if (!md || !k8s_obj_str(md, "/name"))
		return -EINVAL;
	m->name = k8s_obj_str(md, "/name");
	m->ns = k8s_obj_str(md, "/namespace");
	m->uid = k8s_obj_str(md, "/uid");
	m->rv = k8s_obj_str(md, "/resourceVersion");
	m->generate_name = k8s_obj_str(md, "/generateName");
	k8s_obj_int(md, "/generation", &m->generation);
	m->created_ns = kview_time(md, "/creationTimestamp");
	m->deleted_ns = kview_time(md, "/deletionTimestamp");
	m->labels = k8s_obj_key(md, "labels");
	m->annotations = k8s_obj_key(md, "annotations");
	m->owners = k8s_obj_key(md, "ownerReferences");
	m->finalizers = k8s_obj_key(md, "finalizers");
	for (const struct k8s_obj *r = k8s_obj_first(m->owners); r; r = k8s_obj_next(r)) {
		bool ctl = false;

		if (!k8s_obj_bool(r, "/controller", &ctl) && ctl) {
			m->controller = r;
			break;
		}
	}
	return 0;
}
