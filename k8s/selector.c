// SPDX-License-Identifier: MIT
/*
 * k8s/selector.c - label selectors: the string form lists take
 * ("app=web,tier!=cache,env in (a,b),!legacy,size>3"), parsed and matched as
 * apimachinery's labels.Parse() and Requirement.Matches() do, and
 * metav1.LabelSelector objects turned into that string form.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_int.h"

enum op { OP_EXISTS, OP_NOT_EXISTS, OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_GT, OP_LT };

struct req {
	char *key;
	enum op op;
	char **values;
	size_t nvalues;
};

struct k8s_selector {
	struct req *reqs;
	size_t n;
};

void k8s_selector_free(struct k8s_selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++) {
		free(sel->reqs[i].key);
		for (size_t j = 0; j < sel->reqs[i].nvalues; j++)
			free(sel->reqs[i].values[j]);
		free(sel->reqs[i].values);
	}
	free(sel->reqs);
	free(sel);
}

/* the longest label key: a DNS subdomain prefix (253), "/", a name (63) */
#define KEY_MAX 316

/* characters of a label key ([prefix/]name) and of a value */
static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.' || c == '/';
}

static bool value_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static char *word(const char **p, bool (*ok)(char))
{
	const char *s = *p;

	while (**p && ok(**p))
		(*p)++;
	return strndup(s, (size_t)(*p - s));
}

static int add_value(struct req *r, char *v)
{
	char **vs;

	if (!v)
		return -ENOMEM;
	vs = realloc(r->values, (r->nvalues + 1) * sizeof(*vs));
	if (!vs) {
		free(v);
		return -ENOMEM;
	}
	r->values = vs;
	r->values[r->nvalues++] = v;
	return 0;
}

static bool is_integer(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* one requirement at *@p; -EINVAL with @why set */
/*
 * One requirement: "key", "!key", "key=v", "key==v", "key!=v",
 * "key in (a,b)", "key notin (a,b)", "key>n", "key<n". Keys are
 * [prefix/]name of letters, digits and "-_./"; values of letters, digits and
 * "-_."; an empty value is allowed.
 */
static int parse_req(const char **p, struct req *r, const char **why)
{
	int ret;

	skip_ws(p);
	if (**p == '!') {
		(*p)++;
		skip_ws(p);
		r->op = OP_NOT_EXISTS;
	} else {
		r->op = OP_EXISTS;
	}
	r->key = word(p, key_char);
	if (!r->key)
		return -ENOMEM;
	if (!r->key[0] || strlen(r->key) > KEY_MAX) {
		*why = "a label key is expected";
		return -EINVAL;
	}
	skip_ws(p);
	if (r->op == OP_NOT_EXISTS)
		return 0;
	if (!**p || **p == ',')
		return 0;
	if (!strncmp(*p, "==", 2)) {
		r->op = OP_EQ;
		*p += 2;
	} else if (!strncmp(*p, "!=", 2)) {
		r->op = OP_NE;
		*p += 2;
	} else if (**p == '=') {
		r->op = OP_EQ;
		(*p)++;
	} else if (**p == '>' || **p == '<') {
		r->op = **p == '>' ? OP_GT : OP_LT;
		(*p)++;
	} else if (!strncmp(*p, "notin", 5) && !key_char((*p)[5])) {
		r->op = OP_NOTIN;
		*p += 5;
	} else if (!strncmp(*p, "in", 2) && !key_char((*p)[2])) {
		r->op = OP_IN;
		*p += 2;
	} else {
		*why = "an operator (=, ==, !=, in, notin, >, <) is expected";
		return -EINVAL;
	}
	skip_ws(p);
	if (r->op == OP_IN || r->op == OP_NOTIN) {
		if (**p != '(') {
			*why = "'(' is expected after in/notin";
			return -EINVAL;
		}
		(*p)++;
		for (;;) {
			skip_ws(p);
			ret = add_value(r, word(p, value_char));
			if (ret)
				return ret;
			skip_ws(p);
			if (**p == ',') {
				(*p)++;
				continue;
			}
			if (**p == ')') {
				(*p)++;
				break;
			}
			*why = "',' or ')' is expected in a set of values";
			return -EINVAL;
		}
		return 0;
	}
	ret = add_value(r, word(p, value_char));
	if (ret)
		return ret;
	if ((r->op == OP_GT || r->op == OP_LT) && !is_integer(r->values[0])) {
		*why = "> and < take an integer";
		return -EINVAL;
	}
	return 0;
}

int k8s_selector_parse(const char *s, struct k8s_selector **out, struct k8s_err *err)
{
	struct k8s_selector *sel;
	const char *p = s ? s : "", *why = NULL;
	int ret = 0;

	kerr_clear(err);
	*out = NULL;
	sel = calloc(1, sizeof(*sel));
	if (!sel)
		return -ENOMEM;
	skip_ws(&p);
	while (*p) {
		struct req *rs = realloc(sel->reqs, (sel->n + 1) * sizeof(*rs));

		if (!rs) {
			ret = -ENOMEM;
			goto out_free;
		}
		sel->reqs = rs;
		memset(&sel->reqs[sel->n], 0, sizeof(sel->reqs[0]));
		sel->n++;
		ret = parse_req(&p, &sel->reqs[sel->n - 1], &why);
		if (ret)
			goto out_free;
		skip_ws(&p);
		if (*p == ',') {
			p++;
			skip_ws(&p);
			if (!*p) {
				why = "a requirement is expected after ','";
				ret = -EINVAL;
				goto out_free;
			}
		} else if (*p) {
			why = "',' is expected between requirements";
			ret = -EINVAL;
			goto out_free;
		}
	}
	*out = sel;
	return 0;
out_free:
	k8s_selector_free(sel);
	if (ret == -EINVAL)
		kerr_set(err, ret, K8S_EXIT_USAGE, "BadSelector",
			 "label selector '%.100s': at offset %zu: %s", s, (size_t)(p - s), why);
	return ret;
}

static bool in_values(const struct req *r, const char *v)
{
	for (size_t i = 0; i < r->nvalues; i++)
		if (!strcmp(r->values[i], v))
			return true;
	return false;
}

/*
 * Requirement.Matches(): "!=" and "notin" select objects that lack the label
 * too; ">" and "<" need the label to be an integer.
 */
bool k8s_selector_match(const struct k8s_selector *sel, const struct k8s_obj *labels)
{
	if (!sel)
		return true;
	for (size_t i = 0; i < sel->n; i++) {
		const struct req *r = &sel->reqs[i];
		const char *v = kjson_str(J(labels), r->key);
		bool ok;

		switch (r->op) {
		case OP_EXISTS:
			ok = v != NULL;
			break;
		case OP_NOT_EXISTS:
			ok = v == NULL;
			break;
		case OP_EQ:
		case OP_IN:
			ok = v && in_values(r, v);
			break;
		case OP_NE:
		case OP_NOTIN:
			ok = !v || !in_values(r, v);
			break;
		case OP_GT:
		case OP_LT: {
			char *end;
			long long a, b;

			if (!v || !is_integer(v)) {
				ok = false;
				break;
			}
			a = strtoll(v, &end, 10);
			b = strtoll(r->values[0], &end, 10);
			ok = r->op == OP_GT ? a > b : a < b;
			break;
		}
		default:
			ok = false;
			break;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ LabelSelector -> string */

struct term {
	const char *key;
	char *text;
};

static int term_cmp(const void *a, const void *b)
{
	const struct term *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->text, y->text);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool valid_value(const char *v)
{
	for (; *v; v++)
		if (!value_char(*v))
			return false;
	return true;
}

/* what parse_req() takes as a key, so a string made here parses back */
static bool valid_key(const char *k)
{
	if (!*k || strlen(k) > KEY_MAX)
		return false;
	for (; *k; k++)
		if (!key_char(*k))
			return false;
	return true;
}

/* the term of one matchExpressions entry into @b */
static int expr_term(const cJSON *e, struct kbuf *b, const char **key)
{
	const char *k = kjson_str(e, "key"), *op = kjson_str(e, "operator");
	const cJSON *vals = cJSON_GetObjectItemCaseSensitive(e, "values"), *v;
	const char **vs = NULL;
	size_t n = 0;
	bool set;

	if (!k || !op || !valid_key(k))
		return -EINVAL;
	*key = k;
	if (!strcmp(op, "Exists") || !strcmp(op, "DoesNotExist")) {
		if (cJSON_GetArraySize(vals) > 0)
			return -EINVAL;
		kbuf_printf(b, "%s%s", op[0] == 'D' ? "!" : "", k);
		return 0;
	}
	set = !strcmp(op, "In") || !strcmp(op, "NotIn");
	if (!set || !cJSON_IsArray(vals) || cJSON_GetArraySize(vals) == 0)
		return -EINVAL;
	vs = calloc((size_t)cJSON_GetArraySize(vals), sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	cJSON_ArrayForEach(v, vals) {
		if (!cJSON_IsString(v) || !valid_value(v->valuestring)) {
			free(vs);
			return -EINVAL;
		}
		vs[n++] = v->valuestring;
	}
	qsort(vs, n, sizeof(*vs), str_cmp);
	kbuf_printf(b, "%s %s (", k, op[0] == 'I' ? "in" : "notin");
	for (size_t i = 0; i < n; i++)
		kbuf_printf(b, "%s%s", i ? "," : "", vs[i]);
	kbuf_puts(b, ")");
	free(vs);
	return 0;
}

/*
 * metav1.LabelSelectorAsSelector(): matchLabels are key=value, expressions
 * In/NotIn/Exists/DoesNotExist; terms (and set values) sorted, so the same
 * selector always gives the same string.
 */
int k8s_selector_string(const struct k8s_obj *sel, char **out)
{
	const cJSON *s = J(sel), *ml = NULL, *me = NULL, *c;
	struct term *terms = NULL;
	size_t n = 0, cap;
	struct kbuf b = {0};
	bool shaped = true;
	int ret = 0;

	*out = NULL;
	if (s && !cJSON_IsObject(s))
		return -EINVAL;
	/* a LabelSelector has only these two members; anything else is a labels map */
	for (c = s ? s->child : NULL; c; c = c->next)
		if (!((!strcmp(c->string, "matchLabels") && cJSON_IsObject(c)) ||
		      (!strcmp(c->string, "matchExpressions") && cJSON_IsArray(c))))
			shaped = false;
	if (shaped && s) {
		ml = cJSON_GetObjectItemCaseSensitive(s, "matchLabels");
		me = cJSON_GetObjectItemCaseSensitive(s, "matchExpressions");
	} else {
		ml = s;
	}
	cap = (size_t)cJSON_GetArraySize(ml) + (size_t)cJSON_GetArraySize(me) + 1;
	terms = calloc(cap, sizeof(*terms));
	if (!terms)
		return -ENOMEM;
	for (c = ml ? ml->child : NULL; c; c = c->next) {
		struct kbuf t = {0};

		if (!cJSON_IsString(c) || !valid_key(c->string) || !valid_value(c->valuestring)) {
			ret = -EINVAL;
			goto out;
		}
		kbuf_printf(&t, "%s=%s", c->string, c->valuestring);
		terms[n].key = c->string;
		terms[n].text = kbuf_take(&t);
		if (!terms[n++].text) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (c = me ? me->child : NULL; c; c = c->next) {
		struct kbuf t = {0};

		ret = expr_term(c, &t, &terms[n].key);
		if (ret) {
			kbuf_free(&t);
			goto out;
		}
		terms[n].text = kbuf_take(&t);
		if (!terms[n++].text) {
			ret = -ENOMEM;
			goto out;
		}
	}
	qsort(terms, n, sizeof(*terms), term_cmp);
	kbuf_puts(&b, "");
	for (size_t i = 0; i < n; i++)
		kbuf_printf(&b, "%s%s", i ? "," : "", terms[i].text);
	*out = kbuf_take(&b);
	if (!*out)
		ret = -ENOMEM;
out:
	for (size_t i = 0; i < n; i++)
		free(terms[i].text);
	free(terms);
	kbuf_free(&b);
	return ret;
}
