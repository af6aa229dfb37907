// SPDX-License-Identifier: MIT
/*
 * k8s/yaml.c - one YAML document (a kubeconfig, a manifest) as a cJSON tree,
 * with libyaml's event parser.
 *
 * Plain scalars are typed by YAML 1.2's core schema (null, true/false,
 * decimal integers and floats); quoted ones and "!!str" stay strings, so
 * "0123" and "yes" are strings. Aliases are expanded; a document is capped
 * at MAX_NODES values with aliases counted as expanded (a "billion laughs"
 * document is refused, not built), and nesting at MAX_DEPTH.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "k8s_int.h"

#define MAX_NODES 1000000
#define MAX_DEPTH 256

struct anchor {
	char *name;
	cJSON *node; /* borrowed from the tree being built */
	size_t nodes;
};

struct yctx {
	yaml_parser_t p;
	struct anchor *anchors;
	size_t nanchors, cap;
	size_t nodes;
	cJSON *grave; /* replaced values and keys: anchors may point into them */
	struct k8s_err *err;
	const char *what;
};

static int yfail(struct yctx *y, const yaml_mark_t *m, const char *fmt, const char *arg)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, arg);
	return kerr_set(y->err, -EINVAL, K8S_EXIT_USAGE, "BadYAML", "%s: line %zu, column %zu: %s",
			y->what, m->line + 1, m->column + 1, msg);
}

static int ynext(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev)) {
		yaml_mark_t m = y->p.problem_mark;

		return yfail(y, &m, "%s", y->p.problem ? y->p.problem : "not YAML");
	}
	return 0;
}

static size_t count_nodes(const cJSON *j)
{
	size_t n = 1;

	for (const cJSON *c = j->child; c; c = c->next)
		n += count_nodes(c);
	return n;
}

static bool is_int(const char *s)
{
	const char *p = s, *digits;

	if (*p == '-' || *p == '+')
		p++;
	digits = p;
	if (!*p || (*p == '0' && p[1]))
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return p - digits <= 15; /* exact as a double; the sign is not a digit */
}

static bool is_float(const char *s)
{
	char *end;

	if (!strpbrk(s, ".eE") || strpbrk(s, "xXnN") ||
	    !((*s >= '0' && *s <= '9') || *s == '-' || *s == '+' || *s == '.'))
		return false;
	strtod(s, &end);
	return *end == '\0' && end != s;
}

static cJSON *scalar(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;

	if (tag && !strcmp(tag, YAML_STR_TAG))
		return cJSON_CreateString(v);
	if (plain || (tag && strcmp(tag, "!"))) {
		if (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
		    !strcmp(v, "NULL"))
			return plain ? cJSON_CreateNull() : cJSON_CreateString(v);
		if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
			return cJSON_CreateTrue();
		if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
			return cJSON_CreateFalse();
		if (is_int(v) || is_float(v))
			return cJSON_CreateNumber(strtod(v, NULL));
	}
	return cJSON_CreateString(v);
}

static int remember(struct yctx *y, const yaml_char_t *name, cJSON *node)
{
	if (!name)
		return 0;
	if (y->nanchors == y->cap) {
		size_t cap = y->cap ? y->cap * 2 : 8;
		struct anchor *a = realloc(y->anchors, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		y->anchors = a;
		y->cap = cap;
	}
	y->anchors[y->nanchors].name = strdup((const char *)name);
	if (!y->anchors[y->nanchors].name)
		return -ENOMEM;
	y->anchors[y->nanchors].node = node;
	y->anchors[y->nanchors].nodes = count_nodes(node);
	y->nanchors++;
	return 0;
}

static int node(struct yctx *y, yaml_event_t *ev, int depth, cJSON **out);

/* the rest of a mapping or sequence whose start event was @start */
/*
 * Mappings become objects (keys must be scalars; a number or bool as a key
 * becomes its text), sequences arrays. Keys, and values replaced by a
 * repeated key, go to the graveyard rather than being freed: an anchor may
 * still point into them.
 */
static int collection(struct yctx *y, yaml_event_t *start, int depth, cJSON **out)
{
	bool map = start->type == YAML_MAPPING_START_EVENT;
	yaml_event_type_t end = map ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
	cJSON *c = map ? cJSON_CreateObject() : cJSON_CreateArray();
	yaml_event_t ev;
	int ret;

	if (!c)
		return -ENOMEM;
	for (;;) {
		cJSON *k = NULL, *v = NULL;

		ret = ynext(y, &ev);
		if (ret)
			goto out_free;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		if (!map) {
			ret = node(y, &ev, depth + 1, &v);
			yaml_event_delete(&ev);
			if (ret)
				goto out_free;
			cJSON_AddItemToArray(c, v);
			continue;
		}
		/* a key: scalars only (a complex key has no JSON form) */
		if (ev.type != YAML_SCALAR_EVENT) {
			ret = yfail(y, &ev.start_mark, "%s", "a mapping key that is not a scalar");
			yaml_event_delete(&ev);
			goto out_free;
		}
		ret = node(y, &ev, depth + 1, &k);
		yaml_event_delete(&ev);
		if (ret)
			goto out_free;
		ret = ynext(y, &ev);
		if (ret) {
			cJSON_Delete(k);
			goto out_free;
		}
		ret = node(y, &ev, depth + 1, &v);
		if (ret) {
			yaml_event_delete(&ev);
			cJSON_Delete(k);
			goto out_free;
		}
		{
			char num[64];
			const char *key = cJSON_IsString(k) ? k->valuestring : NULL;

			if (!key) {
				/* a plain key typed as a number or bool: JSON keys are strings */
				if (cJSON_IsNumber(k))
					snprintf(num, sizeof(num), "%.17g", k->valuedouble);
				else
					snprintf(num, sizeof(num), "%s",
						 cJSON_IsTrue(k)    ? "true"
						 : cJSON_IsFalse(k) ? "false"
								    : "null");
				key = num;
			}
			/* a repeated key: the last wins, as in most YAML readers */
			if (cJSON_GetObjectItemCaseSensitive(c, key))
				cJSON_AddItemToArray(
					y->grave, cJSON_DetachItemFromObjectCaseSensitive(c, key));
			if (!cJSON_AddItemToObject(c, key, v)) {
				cJSON_Delete(v);
				ret = -ENOMEM;
			}
		}
		yaml_event_delete(&ev);
		cJSON_AddItemToArray(y->grave, k);
		if (ret)
			goto out_free;
	}
	*out = c;
	return 0;
out_free:
	cJSON_Delete(c);
	return ret;
}

/* the node that starts with @ev (borrowed: the caller deletes it) */
static int node(struct yctx *y, yaml_event_t *ev, int depth, cJSON **out)
{
	cJSON *j = NULL;
	int ret;

	*out = NULL;
	if (depth > MAX_DEPTH)
		return yfail(y, &ev->start_mark, "%s", "nested too deeply");
	if (++y->nodes > MAX_NODES)
		return yfail(y, &ev->start_mark, "%s", "too many values");
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		j = scalar(ev);
		if (!j)
			return -ENOMEM;
		ret = remember(y, ev->data.scalar.anchor, j);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		ret = collection(y, ev, depth, &j);
		if (ret)
			return ret;
		ret = remember(y,
			       ev->type == YAML_MAPPING_START_EVENT
				       ? ev->data.mapping_start.anchor
				       : ev->data.sequence_start.anchor,
			       j);
		break;
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		struct anchor *a = NULL;

		for (size_t i = y->nanchors; i-- > 0;)
			if (!strcmp(y->anchors[i].name, name)) {
				a = &y->anchors[i];
				break;
			}
		if (!a)
			return yfail(y, &ev->start_mark, "unknown alias *%s", name);
		if (y->nodes + a->nodes > MAX_NODES)
			return yfail(y, &ev->start_mark, "%s", "aliases expand to too many values");
		y->nodes += a->nodes;
		j = cJSON_Duplicate(a->node, 1);
		if (!j)
			return -ENOMEM;
		ret = 0;
		break;
	}
	default:
		return yfail(y, &ev->start_mark, "%s", "unexpected YAML event");
	}
	if (ret) {
		cJSON_Delete(j);
		return ret;
	}
	*out = j;
	return 0;
}

int kyaml_parse(const char *buf, size_t len, cJSON **out, struct k8s_err *err, const char *what)
{
	struct yctx y = {.err = err, .what = what ? what : "YAML"};
	yaml_event_t ev;
	cJSON *doc = NULL;
	bool more = false;
	int ret;

	*out = NULL;
	y.grave = cJSON_CreateArray();
	if (!y.grave)
		return -ENOMEM;
	if (!yaml_parser_initialize(&y.p)) {
		cJSON_Delete(y.grave);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)buf, len);
	/* STREAM-START, then DOCUMENT-START or STREAM-END (an empty stream) */
	ret = ynext(&y, &ev);
	if (ret)
		goto out;
	yaml_event_delete(&ev);
	ret = ynext(&y, &ev);
	if (ret)
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		doc = cJSON_CreateNull();
		ret = doc ? 0 : -ENOMEM;
		goto out;
	}
	yaml_event_delete(&ev);
	ret = ynext(&y, &ev);
	if (ret)
		goto out;
	ret = node(&y, &ev, 0, &doc);
	yaml_event_delete(&ev);
	if (ret)
		goto out;
	ret = ynext(&y, &ev); /* DOCUMENT-END */
	if (ret)
		goto out;
	yaml_event_delete(&ev);
	ret = ynext(&y, &ev);
	if (ret)
		goto out;
	more = ev.type != YAML_STREAM_END_EVENT;
	if (more)
		ret = yfail(&y, &ev.start_mark, "%s", "more than one document");
	yaml_event_delete(&ev);
out:
	for (size_t i = 0; i < y.nanchors; i++)
		free(y.anchors[i].name);
	free(y.anchors);
	cJSON_Delete(y.grave);
	yaml_parser_delete(&y.p);
	if (ret) {
		cJSON_Delete(doc);
		if (ret == -ENOMEM)
			kerr_set(err, ret, -1, "", "%s: out of memory", y.what);
		return ret;
	}
	*out = doc;
	return 0;
}

int k8s_obj_parse_yaml(const char *yaml, size_t len, struct k8s_obj **out, struct k8s_err *err)
{
	cJSON *j;
	int ret;

	kerr_clear(err);
	*out = NULL;
	ret = kyaml_parse(yaml, len, &j, err, "YAML");
	if (ret)
		return ret;
	*out = O(j);
	return 0;
}

/* ------------------------------------------------------------- emitting */

struct ybuf {
	char *buf;
	size_t len, cap;
	bool nomem;
};

static int ywrite(void *arg, unsigned char *data, size_t size)
{
	struct ybuf *b = arg;

	if (b->len + size + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *p;

		while (cap < b->len + size + 1)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p) {
			b->nomem = true;
			return 0;
		}
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, size);
	b->len += size;
	b->buf[b->len] = '\0';
	return 1;
}

/*
 * Whether a string must be quoted to stay a string: what scalar() would
 * type, YAML 1.1's booleans and nulls (other readers: kubectl, PyYAML), and
 * whatever starts like a number or a timestamp.
 */
static bool must_quote(const char *s)
{
	static const char *const words[] = {
		"~",	 "null", "Null", "NULL", "true", "True", "TRUE", "false", "False",
		"FALSE", "y",	 "Y",	 "yes",	 "Yes",	 "YES",	 "n",	 "N",	  "no",
		"No",	 "NO",	 "on",	 "On",	 "ON",	 "off",	 "Off",	 "OFF",	  ".inf",
		".Inf",	 ".INF", ".nan", ".NaN", ".NAN", "<<",	 "="};

	if (!*s || (*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '.')
		return true;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	return is_int(s) || is_float(s);
}

static int emit_scalar(yaml_emitter_t *e, const char *v, bool plain_ok)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(
		    &ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), plain_ok, 1,
		    plain_ok ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE))
		return -ENOMEM;
	return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
}

static int emit_node(yaml_emitter_t *e, const cJSON *j, int depth)
{
	yaml_event_t ev;
	char num[64];
	int ret;

	if (depth > MAX_DEPTH)
		return -EINVAL;
	if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
		bool obj = cJSON_IsObject(j);

		if (obj ? !yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							       YAML_BLOCK_MAPPING_STYLE)
			: !yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
								YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		if (!yaml_emitter_emit(e, &ev))
			return -EIO;
		for (const cJSON *c = j->child; c; c = c->next) {
			if (obj) {
				ret = emit_scalar(e, c->string ? c->string : "",
						  c->string && !must_quote(c->string));
				if (ret)
					return ret;
			}
			ret = emit_node(e, c, depth + 1);
			if (ret)
				return ret;
		}
		if (obj ? !yaml_mapping_end_event_initialize(&ev)
			: !yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return yaml_emitter_emit(e, &ev) ? 0 : -EIO;
	}
	if (cJSON_IsString(j))
		return emit_scalar(e, j->valuestring, !must_quote(j->valuestring));
	if (cJSON_IsNumber(j)) {
		double d = j->valuedouble;

		/*
		 * what is_int() and is_float() read back: a whole number of up to 15
		 * digits, else the shortest exact form that has a '.' or an exponent
		 */
		if (!isfinite(d)) /* 1e999: null, as JSON prints it */
			return emit_scalar(e, "null", true);
		if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
			snprintf(num, sizeof(num), "%lld", (long long)d);
		} else {
			snprintf(num, sizeof(num), "%.15g", d);
			if (strtod(num, NULL) != d)
				snprintf(num, sizeof(num), "%.17g", d);
			if (!strpbrk(num, ".e"))
				snprintf(num, sizeof(num), "%.16e", d);
		}
		return emit_scalar(e, num, true);
	}
	if (cJSON_IsBool(j))
		return emit_scalar(e, cJSON_IsTrue(j) ? "true" : "false", true);
	return emit_scalar(e, "null", true);
}

char *k8s_obj_yaml(const struct k8s_obj *o)
{
	struct ybuf b = {0};
	yaml_emitter_t e;
	yaml_event_t ev;
	int ret = -ENOMEM;

	if (!o || !yaml_emitter_initialize(&e))
		return NULL;
	yaml_emitter_set_output(&e, ywrite, &b);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1);
	yaml_emitter_set_indent(&e, 2);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	ret = emit_node(&e, J(o), 0);
	if (ret)
		goto out;
	ret = -ENOMEM;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) ||
	    !yaml_emitter_flush(&e))
		goto out;
	ret = b.nomem ? -ENOMEM : 0;
out:
	yaml_emitter_delete(&e);
	if (ret) {
		free(b.buf);
		return NULL;
	}
	return b.buf;
}
