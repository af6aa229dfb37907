// SPDX-License-Identifier: MIT
/*
 * s3/delete_objects.c - deleting many objects or versions at once on the
 * s3:// backend (s3_store_delete_objects()).
 *
 * DeleteObjects takes up to 1000 items a request, each a key and perhaps a
 * version id, with Content-MD5 over the body (Object Lock buckets require
 * it). <Quiet> is off, so that the answer accounts for every item: a
 * <Deleted> or an <Error> per item, matched back by key and version id (an
 * item the answer leaves out is -EIO). An <Error> is mapped by its <Code>
 * (http_map.c); NoSuchKey and NoSuchVersion mean "not there", as asked. A
 * version refused with AccessDenied is looked up with a HEAD for the Object
 * Lock that holds it: Ceph RGW's answer says "AccessDenied" and no more.
 *
 * A store that answers NotImplemented gets one DELETE per item instead,
 * DELETE_WINDOW in flight at once, and the store remembers not to ask again.
 * There, a failure every request would meet (http_map.c's store-wide ones:
 * the network, credentials, the bucket) ends the call; others are the item's.
 */
#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_buf.h"
#include "s3_op.h"
#include "s3s.h"
#include "xml.h"

#define DELETE_MAX    1000 /* items of one DeleteObjects request (S3's limit) */
#define DELETE_WINDOW 64   /* single DELETEs in flight at once, without DeleteObjects */

/* fields of an answer's entries ("Deleted" and "Error"), by name */
enum { DR_KEY, DR_VERSION_ID, DR_CODE, DR_MESSAGE };
enum { DR_DELETED, DR_ERROR };

static const struct s3_xml_page_spec delete_result_spec = {
	.root = "DeleteResult",
	.entry = {[DR_DELETED] = "Deleted", [DR_ERROR] = "Error"},
	.field = {[DR_KEY] = "Key",
		  [DR_VERSION_ID] = "VersionId",
		  [DR_CODE] = "Code",
		  [DR_MESSAGE] = "Message"},
};

/*
 * Hand one item's outcome to @fn: the server's @code and @message, and for
 * a refused version the Object Lock that holds it (a HEAD of it: Ceph RGW's
 * DeleteObjects says no more than "AccessDenied").
 */
static void delete_report(struct s3s *s, const struct s3_delete_item *it, int err, const char *code,
			  const char *message, s3_delete_result_fn fn, void *arg)
{
	char detail[512] = "", holds[128] = "";

	if (err == -EACCES && it->version_id)
		s3_lock_holds(s, it->key, it->version_id, holds, sizeof(holds));
	if (err)
		snprintf(detail, sizeof(detail), "%s%s%s%s%s", code, message[0] ? ": " : "",
			 message, holds[0] ? "; protected by Object Lock: " : "", holds);
	fn(arg, it, err, detail);
}

static int item_cmp(const void *a, const void *b)
{
	const struct s3_delete_item *x = *(const struct s3_delete_item *const *)a;
	const struct s3_delete_item *y = *(const struct s3_delete_item *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c
		 : strcmp(x->version_id ? x->version_id : "", y->version_id ? y->version_id : "");
}

/*
 * The item an answer entry is about, among those not answered yet: the one
 * of @key and @vid ("": none) as sent; unless @exact, else the first of that
 * key (a store that leaves the version id out, or adds one). @by: the items
 * sorted by item_cmp(). NULL if none.
 */
static const struct s3_delete_item *delete_match(const struct s3_delete_item **by, size_t n,
						 const bool *answered,
						 const struct s3_delete_item *base, const char *key,
						 const char *vid, bool exact)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(by[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && !strcmp(by[i]->key, key); i++) {
		if (answered[by[i] - base])
			continue;
		if (!exact || !strcmp(by[i]->version_id ? by[i]->version_id : "", vid))
			return by[i];
	}
	return NULL;
}

/*
 * Tell @fn each item's fate from the answer @pg: its entries matched to the
 * items exactly first, then by key alone; an item left over is -EIO.
 */
static int delete_answers(struct s3s *s, const struct s3_delete_item *items, size_t n,
			  const struct s3_xml_page *pg, const char *what, s3_delete_result_fn fn,
			  void *arg)
{
	const struct s3_delete_item **by = calloc(n, sizeof(*by)), **match = NULL;
	bool *answered = calloc(n, sizeof(*answered));
	size_t plen = strlen(s->prefix);
	int ret = -ENOMEM;

	match = calloc(pg->n ? pg->n : 1, sizeof(*match));
	if (!by || !answered || !match)
		goto out;
	for (size_t i = 0; i < n; i++)
		by[i] = &items[i];
	qsort(by, n, sizeof(*by), item_cmp);
	for (int exact = 1; exact >= 0; exact--) {
		for (size_t i = 0; i < pg->n; i++) {
			const char *key = pg->e[i].f[DR_KEY] ? pg->e[i].f[DR_KEY] : "";
			const char *vid =
				pg->e[i].f[DR_VERSION_ID] ? pg->e[i].f[DR_VERSION_ID] : "";

			if (match[i] || strncmp(key, s->prefix, plen))
				continue;
			match[i] = delete_match(by, n, answered, items, key + plen, vid, exact);
			if (match[i])
				answered[match[i] - items] = true;
		}
	}
	for (size_t i = 0; i < pg->n; i++) {
		const struct s3_xml_entry *e = &pg->e[i];
		const char *code = e->f[DR_CODE] ? e->f[DR_CODE] : "";
		int err = e->kind == DR_ERROR ? s3_http_code_errno(code) : 0;

		if (!match[i]) {
			pr_debug("s3: %s: an answer about '%s', which was not asked for", what,
				 e->f[DR_KEY] ? e->f[DR_KEY] : "");
			continue;
		}
		if (err == -ENOENT)
			err = 0; /* NoSuchKey, NoSuchVersion: not there, as asked */
		delete_report(s, match[i], err, code, e->f[DR_MESSAGE] ? e->f[DR_MESSAGE] : "", fn,
			      arg);
	}
	for (size_t i = 0; i < n; i++)
		if (!answered[i])
			fn(arg, &items[i], -EIO, "the store's answer does not mention it");
	ret = 0;
out:
	free(by);
	free(answered);
	free(match);
	return ret;
}

/* The DeleteObjects body of @n items: every item answered (Quiet off). */
static int delete_body(struct s3s *s, const struct s3_delete_item *items, size_t n,
		       struct s3_sbuf *b)
{
	s3_xml_begin(b, "Delete");
	s3_xml_element(b, "Quiet", "false");
	for (size_t i = 0; i < n; i++) {
		s3_xml_open(b, "Object");
		s3_xml_open(b, "Key");
		s3_xml_escape(b, s->prefix);
		s3_xml_escape(b, items[i].key);
		s3_xml_close(b, "Key");
		if (items[i].version_id)
			s3_xml_element(b, "VersionId", items[i].version_id);
		s3_xml_close(b, "Object");
	}
	s3_xml_close(b, "Delete");
	return b->err;
}

/*
 * One DeleteObjects request of @n <= DELETE_MAX items. Return: 0 (every item
 * told to @fn); -EOPNOTSUPP if the store does not implement it (no item
 * told); another error of the request as a whole (s3_last_error() set).
 */
static int delete_batch(struct s3s *s, const struct s3_delete_item *items, size_t n,
			s3_delete_result_fn fn, void *arg)
{
	struct s3_kv q[] = {{"delete", NULL}};
	struct s3_xml_page pg = {0};
	struct s3_sbuf b = {0};
	struct s3op op;
	int ret;

	assert(n && n <= DELETE_MAX);
	ret = op_init(&op, s, "POST", NULL, q, 1);
	if (!ret)
		ret = delete_body(s, items, n, &b);
	if (!ret)
		ret = op_body(&op, b.p, b.len);
	if (!ret)
		ret = op_hdr(&op, "Content-Type", "application/xml");
	if (ret)
		goto out;
	op.r.control = true;
	op.r.check_200_error = true;
	op.r.resp_max = 16u << 20;
	op.r.expect_root = delete_result_spec.root;
	snprintf(op.r.what, sizeof(op.r.what), "deleting %zu objects of s3://%s/%s", n, s->bucket,
		 s->prefix);
	ret = s3_http_run(s->http, &op.r);
	if (ret == -EOPNOTSUPP &&
	    (op.r.status == 501 || !strcmp(op.r.s3err.code, "NotImplemented")))
		goto out;
	if (ret) {
		s3_fail(ret, "%s", op.r.msg);
		goto out;
	}
	ret = s3_xml_page_parse(op.r.resp ? op.r.resp : "", op.r.resp_len, &delete_result_spec,
				&pg);
	if (ret) {
		ret = ret == -ENOMEM
			      ? ret
			      : s3_fail(-EIO, "%s: the answer is not a DeleteResult", op.r.what);
		goto out;
	}
	ret = delete_answers(s, items, n, &pg, op.r.what, fn, arg);
out:
	s3_sb_free(&b);
	s3_xml_page_fini(&pg);
	op_fini(&op);
	return ret;
}

/* Without DeleteObjects: one DELETE per item, DELETE_WINDOW of them in flight. */
static int delete_singly(struct s3s *s, const struct s3_delete_item *items, size_t n,
			 s3_delete_result_fn fn, void *arg)
{
	struct s3op *ops = calloc(n < DELETE_WINDOW ? n : DELETE_WINDOW, sizeof(*ops));
	char msg[sizeof(ops->r.msg)] = "";
	int ret = 0;

	if (!ops)
		return -ENOMEM;
	for (size_t at = 0; at < n && !ret; at += DELETE_WINDOW) {
		size_t w = n - at < DELETE_WINDOW ? n - at : DELETE_WINDOW, ready = 0;

		for (; ready < w && !ret; ready++) {
			const struct s3_delete_item *it = &items[at + ready];
			struct s3_kv q[] = {{"versionId", it->version_id}};
			struct s3op *op = &ops[ready];

			ret = op_init(op, s, "DELETE", it->key, q, it->version_id ? 1 : 0);
			if (ret) {
				op_fini(op);
				break;
			}
			op->r.control = true;
			op->r.accept_404 = true;
			snprintf(op->r.what, sizeof(op->r.what), "deleting s3://%s/%s%s%s%.64s",
				 s->bucket, s->prefix, it->key, it->version_id ? " version " : "",
				 it->version_id ? it->version_id : "");
		}
		op_run_all(s, ops, ready);
		for (size_t i = 0; i < ready; i++) {
			const struct s3_hreq *r = &ops[i].r;

			if (!r->err)
				fn(arg, &items[at + i], 0, "");
			else if (!r->store_wide) /* refused for this item alone */
				delete_report(s, &items[at + i], r->err, r->s3err.code,
					      r->s3err.message, fn, arg);
			else if (!ret)
				ret = r->err, snprintf(msg, sizeof(msg), "%s", r->msg);
			op_fini(&ops[i]);
		}
	}
	free(ops);
	return ret && msg[0] ? s3_fail(ret, "%s", msg) : ret;
}

int s3s_delete_objects(struct s3_store *st, const struct s3_delete_item *items, size_t n,
		       s3_delete_result_fn fn, void *arg)
{
	struct s3s *s = s3s_of(st);
	int ret = 0;

	for (size_t at = 0; at < n && !ret; at += DELETE_MAX) {
		size_t m = n - at < DELETE_MAX ? n - at : DELETE_MAX;

		if (!atomic_load(&s->no_delete_objects)) {
			ret = delete_batch(s, items + at, m, fn, arg);
			if (ret != -EOPNOTSUPP)
				continue;
			pr_info("s3: %s does not implement DeleteObjects: one DELETE per object",
				s->endpoint);
			atomic_store(&s->no_delete_objects, true);
		}
		ret = delete_singly(s, items + at, m, fn, arg);
	}
	if (!ret)
		s3_clear_error();
	return ret;
}
