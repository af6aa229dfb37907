// SPDX-License-Identifier: MIT
/*
 * s3/multipart.c - multipart uploads of the s3:// backend, with resume:
 * CreateMultipartUpload in the background, parts sent concurrently as they
 * are queued, ListParts to resume an upload another process began,
 * CompleteMultipartUpload, abort, detach.
 *
 * The upload (struct s3up) goes through these states, under u->lock:
 *
 *   NEW --s3_upload_new()--> CREATING --the create answers--> READY
 *     \                              \--it fails-----------> FAILED
 *      \--s3_upload_resume()--------------------------------> READY
 *
 * While CREATING, queued parts wait on u->pending for the upload id; the
 * create's answer sends them (READY) or fails them (FAILED). Independently,
 * the first error of any request sticks in u->err: later parts are refused
 * (-ECANCELED) and complete aborts. complete, abort and detach wait until
 * nothing is in flight (u->inflight: the create and each queued part), then
 * free the upload.
 *
 * Each part number has a record (struct part_rec), in one of four states:
 *
 *   NONE --listed (ListParts)--> LISTED --listed again--> LISTED
 *     \                            |
 *      \--queued here--------------+--queued here--> UPLOADING
 *                                                      | \--acknowledged--> DONE
 *                                                      \--failed--> NONE
 *
 * A part is queued once per process: one already UPLOADING or DONE here is
 * refused (-EINVAL) before it reaches the machine, so DONE is final. A part
 * LISTED from an earlier run may be queued again and replaces it. ListParts
 * leaves the records of parts queued here alone (their ETags are this
 * process's). Completion names parts 1..n with the ETags of DONE and LISTED
 * records. Every transition goes through part_set() and up_set_state(),
 * which assert() that it is one of these; tests/s3/t_s3_asserts.c checks in a
 * debug build that a DONE part moved back to UPLOADING aborts.
 *
 * Threads: the caller's thread queues parts (hashing them there) and
 * completes; the loop thread runs part_done() and create_done().
 *
 * (About 800 lines: one job, an upload's life from create to complete, with
 * its two state machines; splitting resume off would split the part records
 * that both read.)
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_buf.h"
#include "s3_op.h"
#include "s3s.h"
#include "xml.h"

enum up_state { UP_NEW, UP_CREATING, UP_READY, UP_FAILED };

/* What is known of a part number: nothing, listed by the store, queued here, acknowledged. */
enum part_state { PART_NONE, PART_LISTED, PART_UPLOADING, PART_DONE };

struct part_rec {
	char etag[S3_ETAG_SIZE];
	size_t len;
	unsigned char state; /* enum part_state */
};

static_assert(sizeof(((struct s3_hreq *)0)->etag) <= S3_ETAG_SIZE,
	      "an ETag header fits a part_rec");

struct s3up;

/* One queued part: its PUT, and whom to tell. */
struct part_op {
	struct s3op op; /* first: the loop hands back &op.r */
	struct s3up *u;
	unsigned int num;
	size_t len;
	s3_done_fn done;
	void *arg;
	struct part_op *next; /* on u->pending */
};

struct s3up {
	struct s3_upload up; /* first: store.c sees only this */
	struct s3s *s;
	char *key; /* relative to the repository root */
	size_t part_size;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* inflight drops, the create answers */
	enum up_state state;
	char *upload_id;
	int err; /* first error, sticky */
	char errmsg[384];
	unsigned int inflight;	 /* the create and every queued part */
	struct part_op *pending; /* parts waiting for the upload id (CREATING) */
	struct part_rec *parts;	 /* [num - 1], under lock */
	size_t cap;
	unsigned int nparts; /* s3_upload_set_nparts(), 0: the highest known */
	struct s3op create;
};

static struct s3up *up_of(struct s3_upload *up)
{
	return s3_container_of(up, struct s3up, up);
}

/* ------------------------------------------------------------ the machines */

/* whether an upload may go from @from to @to (inline: only assert()s use it) */
static inline bool up_move_ok(enum up_state from, enum up_state to)
{
	switch (from) {
	case UP_NEW:
		return to == UP_CREATING || to == UP_READY;
	case UP_CREATING:
		return to == UP_READY || to == UP_FAILED;
	default:
		return false;
	}
}

/* Under u->lock. */
static void up_set_state(struct s3up *u, enum up_state to)
{
	assert(up_move_ok(u->state, to));
	u->state = to;
}

/* whether a part may go from @from to @to */
static inline bool part_move_ok(enum part_state from, enum part_state to)
{
	switch (from) {
	case PART_NONE:
		return to == PART_LISTED || to == PART_UPLOADING;
	case PART_LISTED:
		return to == PART_LISTED || to == PART_UPLOADING;
	case PART_UPLOADING:
		return to == PART_DONE || to == PART_NONE;
	default:
		return false; /* DONE is final */
	}
}

/* Move part @num's record to @to. Under u->lock, its record grown. */
static void part_set(struct s3up *u, unsigned int num, enum part_state to)
{
	struct part_rec *p;

	assert(num >= 1 && num <= u->cap);
	p = &u->parts[num - 1];
	assert(part_move_ok(p->state, to));
	p->state = to;
}

/* ------------------------------------------------------------ bookkeeping */

/* Under u->lock. */
static void up_set_err(struct s3up *u, int err, const char *msg)
{
	if (u->err)
		return;
	u->err = err;
	snprintf(u->errmsg, sizeof(u->errmsg), "%s", msg);
}

static void up_put_inflight(struct s3up *u)
{
	pthread_mutex_lock(&u->lock);
	assert(u->inflight > 0);
	u->inflight--;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* Room for part @num's record; new records are PART_NONE. Under u->lock. */
static int up_grow(struct s3up *u, unsigned int num)
{
	size_t old = u->cap;
	int ret = s3_grow(&u->parts, &u->cap, num, sizeof(*u->parts), S3_UPLOAD_MAX_PARTS);

	if (ret)
		return ret == -EOVERFLOW ? -EINVAL : ret;
	memset(u->parts + old, 0, (u->cap - old) * sizeof(*u->parts));
	return 0;
}

/* A part that will not be sent: its record back to NONE, @done told, the op gone. */
static void part_drop(struct s3up *u, struct part_op *po, int err, const char *msg)
{
	pthread_mutex_lock(&u->lock);
	part_set(u, po->num, PART_NONE);
	pthread_mutex_unlock(&u->lock);
	if (po->done)
		po->done(po->arg, err, msg);
	op_fini(&po->op);
	free(po);
	up_put_inflight(u);
}

/* ------------------------------------------------------------ parts */

static void part_done(struct s3_hreq *r)
{
	struct part_op *po = s3_container_of(r, struct part_op, op.r);
	struct s3up *u = po->u;
	int err = r->err;
	const char *msg = r->msg;
	char tmp[384];

	if (!err && !r->etag[0]) {
		err = -EIO;
		snprintf(tmp, sizeof(tmp), "%s part %u: no ETag in the answer", u->key, po->num);
		msg = tmp;
	}
	pthread_mutex_lock(&u->lock);
	if (err) {
		up_set_err(u, err, msg);
		part_set(u, po->num, PART_NONE);
	} else {
		struct part_rec *p = &u->parts[po->num - 1];

		memcpy(p->etag, r->etag, sizeof(r->etag));
		p->len = po->len;
		part_set(u, po->num, PART_DONE);
	}
	pthread_mutex_unlock(&u->lock);
	po->done(po->arg, err, err ? msg : "");
	op_fini(&po->op);
	free(po);
	up_put_inflight(u);
}

/* Send part @po, now that the upload id is known: its URL gains the query. */
static int part_submit(struct s3up *u, struct part_op *po)
{
	char num[16];
	struct s3_kv q[] = {{"partNumber", num}, {"uploadId", u->upload_id}};
	int ret;

	snprintf(num, sizeof(num), "%u", po->num);
	ret = op_set_query(&po->op, q, 2);
	if (ret)
		return ret;
	po->op.r.on_upload = true;
	snprintf(po->op.r.what, sizeof(po->op.r.what), "PUT s3://%s/%s%s part %u", u->s->bucket,
		 u->s->prefix, u->key, po->num);
	s3_http_submit(u->s->http, &po->op.r);
	return 0;
}

int s3s_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
		    s3_done_fn done, void *arg)
{
	struct s3up *u = up_of(up);
	struct part_op *po;
	bool now;
	int ret;

	if (len > u->part_size)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	ret = u->err ? -ECANCELED : up_grow(u, num);
	/* once per process: only a listed part of an earlier run may be queued again */
	if (!ret && u->parts[num - 1].state >= PART_UPLOADING)
		ret = -EINVAL;
	pthread_mutex_unlock(&u->lock);
	if (ret)
		return ret;
	po = calloc(1, sizeof(*po));
	if (!po)
		return -ENOMEM;
	ret = op_init(&po->op, u->s, "PUT", u->key, NULL, 0);
	if (!ret)
		ret = op_body(&po->op, buf, len); /* hashed here, on the caller's thread */
	if (ret) {
		op_fini(&po->op);
		free(po);
		return ret;
	}
	po->u = u;
	po->num = num;
	po->len = len;
	po->done = done;
	po->arg = arg;
	po->op.r.done = part_done;
	pthread_mutex_lock(&u->lock);
	if (u->err || u->parts[num - 1].state >= PART_UPLOADING) {
		ret = u->err ? -ECANCELED : -EINVAL; /* failed, or queued meanwhile */
		pthread_mutex_unlock(&u->lock);
		op_fini(&po->op);
		free(po);
		return ret;
	}
	u->inflight++;
	/* from now on this part replaces whatever the store listed for @num */
	part_set(u, num, PART_UPLOADING);
	now = u->state == UP_READY;
	if (!now) {
		assert(u->state == UP_CREATING);
		po->next = u->pending;
		u->pending = po;
	}
	pthread_mutex_unlock(&u->lock);
	if (now && part_submit(u, po)) {
		po->done = NULL; /* not queued: the caller hears it from the return */
		part_drop(u, po, -ENOMEM, "");
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------ create */

struct upload_id_ctx {
	char *id;
};

static int upload_id_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct upload_id_ctx *c = arg;

	if (strcmp(path, "InitiateMultipartUploadResult/UploadId") || !len)
		return 0;
	free(c->id);
	c->id = strdup(text);
	return c->id ? 0 : -ENOMEM;
}

/* The upload id from CreateMultipartUpload's answer; NULL with @msg set if there is none. */
static char *create_answer(struct s3up *u, const struct s3_hreq *r, char *msg, size_t len)
{
	struct upload_id_ctx c = {0};

	if (s3_xml_parse(r->resp ? r->resp : "", r->resp_len, upload_id_cb, &c)) {
		free(c.id);
		c.id = NULL;
	}
	if (!c.id)
		snprintf(msg, len, "creating the upload of %s: no UploadId in the answer", u->key);
	return c.id;
}

static void create_done(struct s3_hreq *r)
{
	struct s3up *u = s3_container_of(r, struct s3up, create.r);
	struct part_op *list, *po;
	char *id = NULL, msg[384];
	int err = r->err;

	snprintf(msg, sizeof(msg), "%s", r->msg);
	if (!err && !(id = create_answer(u, r, msg, sizeof(msg))))
		err = -EIO;
	pthread_mutex_lock(&u->lock);
	if (err) {
		up_set_state(u, UP_FAILED);
		up_set_err(u, err, msg);
	} else {
		u->upload_id = id;
		up_set_state(u, UP_READY);
	}
	list = u->pending;
	u->pending = NULL;
	pthread_cond_broadcast(&u->cond); /* s3_upload_id() waits for this */
	pthread_mutex_unlock(&u->lock);
	while ((po = list)) {
		int e = err;

		list = po->next;
		if (!e && !part_submit(u, po))
			continue;
		if (!e) {
			e = -ENOMEM;
			snprintf(msg, sizeof(msg), "%s part %u: out of memory", u->key, po->num);
			pthread_mutex_lock(&u->lock);
			up_set_err(u, e, msg);
			pthread_mutex_unlock(&u->lock);
		}
		part_drop(u, po, e, msg);
	}
	s3_hreq_fini(r);
	up_put_inflight(u);
}

static void up_free(struct s3up *u)
{
	assert(!u->inflight && !u->pending);
	op_fini(&u->create);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u->upload_id);
	free(u->parts);
	free(u->key);
	free(u);
}

/* A new upload object, not yet created nor resumed (NEW). */
static int up_alloc(struct s3_store *st, const char *key, size_t part_size, const char *verb,
		    struct s3up **out)
{
	struct s3up *u;

	*out = NULL;
	if (part_size < S3_PART_MIN)
		return s3_fail(-EINVAL, "%s of %s: parts of %zu bytes, S3 needs at least 5 MiB",
			       verb, key, part_size);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->up.st = st;
	u->s = s3s_of(st);
	u->part_size = part_size;
	u->state = UP_NEW;
	u->key = strdup(key);
	if (!u->key) {
		free(u);
		return -ENOMEM;
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	*out = u;
	return 0;
}

int s3s_upload_new(struct s3_store *st, const char *key, size_t part_size, struct s3_upload **out)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"uploads", NULL}};
	struct s3up *u;
	int ret;

	ret = up_alloc(st, key, part_size, "upload", &u);
	if (ret)
		return ret;
	ret = op_init(&u->create, s, "POST", key, q, 1);
	if (!ret)
		ret = op_new_object(&u->create, key);
	if (ret) {
		up_free(u);
		return ret;
	}
	u->create.r.control = true;
	u->create.r.expect_root = "InitiateMultipartUploadResult";
	u->create.r.done = create_done;
	snprintf(u->create.r.what, sizeof(u->create.r.what), "creating the upload of s3://%s/%s%s",
		 s->bucket, s->prefix, key);
	up_set_state(u, UP_CREATING);
	u->inflight = 1;
	s3_http_submit(s->http, &u->create.r);
	*out = &u->up;
	return 0;
}

static void up_wait_idle(struct s3up *u)
{
	pthread_mutex_lock(&u->lock);
	while (u->inflight)
		pthread_cond_wait(&u->cond, &u->lock);
	assert(!u->pending);
	pthread_mutex_unlock(&u->lock);
}

/* Wait for CreateMultipartUpload; 0 with the id known, or its error (s3_last_error() set). */
static int up_wait_created(struct s3up *u)
{
	int ret = 0;

	assert(!s3_http_is_loop(u->s->http));
	pthread_mutex_lock(&u->lock);
	while (u->state == UP_CREATING)
		pthread_cond_wait(&u->cond, &u->lock);
	if (u->state == UP_FAILED)
		ret = s3_fail(u->err ? u->err : -EIO, "%s", u->errmsg);
	pthread_mutex_unlock(&u->lock);
	return ret;
}

int s3s_upload_id(struct s3_upload *up, const char **id)
{
	struct s3up *u = up_of(up);
	int ret = up_wait_created(u);

	if (!ret)
		*id = u->upload_id;
	return ret;
}

/* ------------------------------------------------------------ ListParts */

enum { LP_NUMBER, LP_SIZE, LP_ETAG };

static const struct s3_pager_spec parts_spec = {
	.page = {.root = "ListPartsResult",
		 .entry = {"Part"},
		 .field = {[LP_NUMBER] = "PartNumber", [LP_SIZE] = "Size", [LP_ETAG] = "ETag"},
		 .top = {[PAGE_TRUNCATED] = "IsTruncated", [PAGE_NEXT] = "NextPartNumberMarker"}},
	.max_param = "max-parts",
	.marker = {"part-number-marker"},
	.part_numbers = true,
};

/* A part the store holds: counted in unless this process queued or sent its own. */
static int up_record_listed(struct s3up *u, unsigned int num, uint64_t size, const char *etag)
{
	int ret;

	pthread_mutex_lock(&u->lock);
	ret = up_grow(u, num);
	if (!ret && u->parts[num - 1].state <= PART_LISTED) {
		struct part_rec *p = &u->parts[num - 1];

		snprintf(p->etag, sizeof(p->etag), "%s", etag);
		p->len = (size_t)size;
		part_set(u, num, PART_LISTED);
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

struct parts_ctx {
	struct s3up *u;
	s3_part_fn fn; /* NULL: count them in only */
	void *arg;
};

static int part_entry(void *arg, const struct s3_xml_entry *e, const char *what)
{
	struct parts_ctx *c = arg;
	const char *etag = e->f[LP_ETAG];
	uint64_t num, size;
	int ret;

	if (!e->f[LP_NUMBER] || s3_xml_u64(e->f[LP_NUMBER], &num) || num < 1 ||
	    num > S3_UPLOAD_MAX_PARTS || !e->f[LP_SIZE] || s3_xml_u64(e->f[LP_SIZE], &size) ||
	    size > SIZE_MAX || !etag || !etag[0] || strlen(etag) >= S3_ETAG_SIZE)
		return s3_fail(-EIO, "%s: a part without a valid number, size or ETag", what);
	ret = up_record_listed(c->u, (unsigned int)num, size, etag);
	if (!ret && c->fn)
		ret = c->fn(c->arg, (unsigned int)num, size, etag);
	return ret;
}

/* ListParts, every page: count the parts in, and tell @fn (if any) of each. */
static int up_list_parts(struct s3up *u, s3_part_fn fn, void *arg)
{
	struct s3s *s = u->s;
	struct parts_ctx c = {.u = u, .fn = fn, .arg = arg};
	const struct s3_kv q[] = {{"uploadId", u->upload_id}};
	char what[160];
	const struct s3_pager p = {.spec = &parts_spec,
				   .key = u->key,
				   .q = q,
				   .nq = 1,
				   .on_upload = true,
				   .what = what,
				   .fn = part_entry,
				   .arg = &c};

	snprintf(what, sizeof(what), "listing the parts of upload %.40s of s3://%s/%s%s",
		 u->upload_id, s->bucket, s->prefix, u->key);
	return s3_pager_run(s, u->up.st->page, &p);
}

int s3s_upload_resume(struct s3_store *st, const char *key, const char *upload_id, size_t part_size,
		      struct s3_upload **out)
{
	struct s3up *u;
	int ret;

	ret = up_alloc(st, key, part_size, "resume", &u);
	if (ret)
		return ret;
	u->upload_id = strdup(upload_id);
	if (!u->upload_id) {
		up_free(u);
		return -ENOMEM;
	}
	up_set_state(u, UP_READY);
	ret = up_list_parts(u, NULL, NULL);
	if (ret) {
		up_free(u);
		return ret;
	}
	*out = &u->up;
	return 0;
}

int s3s_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg)
{
	struct s3up *u = up_of(up);
	int ret = up_wait_created(u);

	return ret ? ret : up_list_parts(u, fn, arg);
}

int s3s_upload_part_etag(struct s3_upload *up, unsigned int num, char *etag)
{
	struct s3up *u = up_of(up);
	int ret = -ENOENT;

	pthread_mutex_lock(&u->lock);
	if (num <= u->cap &&
	    (u->parts[num - 1].state == PART_DONE || u->parts[num - 1].state == PART_LISTED)) {
		memcpy(etag, u->parts[num - 1].etag, S3_ETAG_SIZE);
		ret = 0;
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

int s3s_upload_set_nparts(struct s3_upload *up, unsigned int n)
{
	struct s3up *u = up_of(up);

	pthread_mutex_lock(&u->lock);
	u->nparts = n;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

/* ------------------------------------------------------------ the end */

/*
 * AbortMultipartUpload of @upload_id on @key (relative to the repository, or
 * the bucket); on failure @msg says why (the calling thread's error is not
 * touched, so that an abort after a failure leaves that failure's detail).
 */
static int abort_upload(struct s3s *s, const char *key, const char *upload_id, char *msg,
			size_t len)
{
	struct s3_kv q[] = {{"uploadId", upload_id}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "DELETE", key, q, 1);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		snprintf(op.r.what, sizeof(op.r.what), "aborting the upload of s3://%s/%s%s",
			 s->bucket, s->prefix, key);
		ret = s3_http_run(s->http, &op.r);
		snprintf(msg, len, "%s", op.r.msg);
	} else {
		snprintf(msg, len, "aborting the upload of %s: %s", key, strerror(-ret));
	}
	op_fini(&op);
	return ret;
}

int s3s_abort_upload(struct s3_store *st, const char *key, const char *upload_id)
{
	char msg[384];
	int ret = abort_upload(s3s_of(st), key, upload_id, msg, sizeof(msg));

	return ret ? s3_fail(ret, "%s", msg) : 0;
}

/* After a lost answer to Complete, a retry finds no upload: did the first one land? */
static bool up_landed(struct s3up *u, uint64_t size)
{
	struct s3op op;
	bool ok = false;

	if (op_init(&op, u->s, "HEAD", u->key, NULL, 0) == 0) {
		op.r.control = true;
		ok = s3_http_run(u->s->http, &op.r) == 0 && op.r.has_length &&
		     op.r.content_length == size;
	}
	op_fini(&op);
	return ok;
}

/* the first (or the last) part known after part @after (sent here, or listed), 0 if none */
static unsigned int up_known_after(const struct s3up *u, unsigned int after, bool last)
{
	unsigned int n = 0;

	for (size_t i = after; i < u->cap && (last || !n); i++)
		if (u->parts[i].state != PART_NONE)
			n = (unsigned int)i + 1;
	return n;
}

/* Parts 1..@n as CompleteMultipartUpload names them; their total size in *@size. */
static int complete_body(struct s3up *u, unsigned int n, struct s3_sbuf *b, uint64_t *size)
{
	char num[16];

	*size = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (i >= u->cap || u->parts[i].state == PART_NONE)
			return s3_fail(-EINVAL, "upload of %s: part %u is missing (parts 1..%u)",
				       u->key, i + 1, n);
		if (i + 1 < n && u->parts[i].len != u->part_size)
			return s3_fail(-EINVAL, "upload of %s: part %u has %zu bytes, not %zu",
				       u->key, i + 1, u->parts[i].len, u->part_size);
		*size += u->parts[i].len;
	}
	if (!n)
		return s3_fail(-EINVAL, "upload of %s: no parts", u->key);
	s3_xml_begin(b, "CompleteMultipartUpload");
	for (unsigned int i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%u", i + 1);
		s3_xml_open(b, "Part");
		s3_xml_element(b, "PartNumber", num);
		s3_xml_element(b, "ETag", u->parts[i].etag);
		s3_xml_close(b, "Part");
	}
	s3_xml_close(b, "CompleteMultipartUpload");
	return b->err;
}

int s3s_upload_complete(struct s3_upload *up)
{
	struct s3up *u = up_of(up);
	struct s3_sbuf b = {0};
	struct s3_kv q[1];
	struct s3op op;
	unsigned int n;
	uint64_t size = 0;
	int ret;

	memset(&op, 0, sizeof(op));
	up_wait_idle(u);
	if (u->err) {
		ret = s3_fail(u->err, "%s", u->errmsg);
		goto out_abort;
	}
	assert(u->state == UP_READY);
	for (size_t i = 0; i < u->cap; i++)
		assert(u->parts[i].state != PART_UPLOADING); /* nothing in flight */
	/* the parts: 1..nparts, else 1..the highest known (sent here or listed) */
	n = u->nparts ? u->nparts : up_known_after(u, 0, true);
	ret = complete_body(u, n, &b, &size);
	if (ret)
		goto out_abort;
	q[0] = (struct s3_kv){"uploadId", u->upload_id};
	ret = op_init(&op, u->s, "POST", u->key, q, 1);
	if (!ret)
		ret = op_body(&op, b.p, b.len);
	if (!ret)
		ret = op_hdr(&op, "Content-Type", "application/xml");
	if (ret)
		goto out_abort;
	op.r.control = true;
	op.r.check_200_error = true;
	op.r.expect_root = "CompleteMultipartUploadResult";
	op.r.on_upload = true;
	snprintf(op.r.what, sizeof(op.r.what), "completing the upload of s3://%s/%s%s",
		 u->s->bucket, u->s->prefix, u->key);
	ret = s3_http_run(u->s->http, &op.r);
	if (ret == -ENOENT && op.r.attempts > 1 && up_landed(u, size))
		ret = 0;
	if (ret == -EREMOTEIO && !strcmp(op.r.s3err.code, "InvalidPart") &&
	    up_known_after(u, n, false)) {
		/* S3 drops parts a completion leaves out; Ceph RGW refuses (16.2) */
		ret = s3_fail(
			ret,
			"%s: the store will not leave out part %u and later ones, of an earlier run beyond the end (part %u): start the upload over",
			op.r.what, up_known_after(u, n, false), n);
		goto out_abort;
	}
	if (ret) {
		s3_fail(ret, "%s", op.r.msg);
		goto out_abort;
	}
	goto out;
out_abort:
	if (u->upload_id) {
		char msg[384];

		if (abort_upload(u->s, u->key, u->upload_id, msg, sizeof(msg)))
			pr_debug("s3: %s", msg);
	}
out:
	s3_sb_free(&b);
	op_fini(&op);
	up_free(u);
	return ret;
}

void s3s_upload_abort(struct s3_upload *up)
{
	struct s3up *u = up_of(up);

	up_wait_idle(u);
	if (u->upload_id) {
		char msg[384];

		if (abort_upload(u->s, u->key, u->upload_id, msg, sizeof(msg)))
			pr_debug("s3: %s", msg);
	}
	up_free(u);
}

void s3s_upload_detach(struct s3_upload *up)
{
	struct s3up *u = up_of(up);

	up_wait_idle(u);
	pr_debug("s3: leaving upload %s of s3://%s/%s%s for a later resume",
		 u->upload_id ? u->upload_id : "(none)", u->s->bucket, u->s->prefix, u->key);
	up_free(u);
}

#ifdef FERRY_UNIT_TESTS
int s3s_upload_test_part_state(struct s3_upload *up, unsigned int num, const char *state)
{
	static const char *const names[] = {[PART_NONE] = "none",
					    [PART_LISTED] = "listed",
					    [PART_UPLOADING] = "uploading",
					    [PART_DONE] = "done"};
	struct s3up *u = up_of(up);
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(state, names[i]))
			continue;
		pthread_mutex_lock(&u->lock);
		ret = up_grow(u, num);
		if (!ret)
			part_set(u, num, (enum part_state)i);
		pthread_mutex_unlock(&u->lock);
	}
	return ret;
}
#endif
