// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_csi.c - the CSI SnapshotMetadata producer (KEP-3314):
 * find the snapshots, the driver's SnapshotMetadataService and a token for
 * its audience through the API, call GetMetadataDelta (or
 * GetMetadataAllocated) over gRPC, and take the streamed (offset, size)
 * tuples into a struct dp_cbl, checking each one. A stream that breaks is
 * called again from the end of the last tuple taken.
 *
 * Field numbers (kubernetes-csi/external-snapshot-metadata proto/schema.proto):
 *   GetMetadataAllocatedRequest {security_token 1, namespace 2, snapshot_name 3,
 *                                starting_offset 4, max_results 5}
 *   GetMetadataDeltaRequest     {security_token 1, namespace 2, base_snapshot_id 3,
 *                                target_snapshot_name 4, starting_offset 5, max_results 6}
 *   Get*Response                {block_metadata_type 1, volume_capacity_bytes 2,
 *                                block_metadata 3 (repeated BlockMetadata)}
 *   BlockMetadata               {byte_offset 1, size_bytes 2}
 * The sidecar authenticates security_token with a TokenReview for the
 * service's audience and authorizes `get volumesnapshots` in the namespace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cbt.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"

#define CSI_SERVICE	  "snapshotmetadata.SnapshotMetadata"
#define CSI_DEFAULT_SA	  "ferry-system/ferry-agent"
#define CSI_TOKEN_SECONDS 600

static const struct k8s_resource csi_sms_res =
	K8S_RESOURCE("cbt.storage.k8s.io", "v1beta1", "snapshotmetadataservices",
		     "SnapshotMetadataService", false);

static const char *const csi_types[] = {"UNKNOWN", "FIXED_LENGTH", "VARIABLE_LENGTH"};

/* ------------------------------------------------------------ messages */

int cbt_csi_request(const struct cbt_csi_req *r, struct cbt_pb *b)
{
	const char *tok = r->token ? r->token : "", *ns = r->ns ? r->ns : "";
	bool delta = r->base != NULL;

	cbt_pb_bytes(b, 1, tok, strlen(tok));
	cbt_pb_bytes(b, 2, ns, strlen(ns));
	if (delta)
		cbt_pb_bytes(b, 3, r->base, strlen(r->base));
	cbt_pb_bytes(b, delta ? 4 : 3, r->target, strlen(r->target));
	cbt_pb_varint(b, delta ? 5 : 4, r->start);
	cbt_pb_varint(b, delta ? 6 : 5, r->max_results);
	return b->err;
}

/* a varint field that must be an int64 >= 0 */
static int csi_int(const struct cbt_pb_field *f, const char *what, uint64_t *v, struct cbt_err *e)
{
	if (f->wire != 0)
		return cbt_fail(e, -EBADMSG, "SnapshotMetadata: %s has wire type %u, not a varint",
				what, f->wire);
	if (f->v > INT64_MAX)
		return cbt_fail(e, -EBADMSG, "SnapshotMetadata: %s is negative (%lld)", what,
				(long long)f->v);
	*v = f->v;
	return 0;
}

static int csi_tuple(struct cbt_csi_stream *s, const uint8_t *p, size_t len, struct cbt_err *e)
{
	uint64_t off = 0, size = 0, end, n = s->tuples + 1;
	struct cbt_pb_field f;
	size_t pos = 0;
	int ret;

	while ((ret = cbt_pb_next(p, len, &pos, &f, e)) > 0) {
		if (f.num == 1)
			ret = csi_int(&f, "byte_offset", &off, e);
		else if (f.num == 2)
			ret = csi_int(&f, "size_bytes", &size, e);
		if (ret < 0)
			return ret;
	}
	if (ret < 0)
		return ret;
	if (!size)
		return cbt_fail(e, -EBADMSG, "SnapshotMetadata: tuple %llu at %llu has no size",
				(unsigned long long)n, (unsigned long long)off);
	if (size > INT64_MAX - off || off + size > s->capacity)
		return cbt_fail(
			e, -EBADMSG,
			"SnapshotMetadata: tuple %llu (%llu, %llu) ends past the volume's capacity %llu",
			(unsigned long long)n, (unsigned long long)off, (unsigned long long)size,
			(unsigned long long)s->capacity);
	end = off + size;
	if (s->type == CBT_CSI_FIXED_LENGTH) {
		if (!s->block)
			s->block = size;
		if (size != s->block)
			return cbt_fail(
				e, -EBADMSG,
				"SnapshotMetadata: FIXED_LENGTH tuple %llu at %llu has %llu bytes, the first had %llu",
				(unsigned long long)n, (unsigned long long)off,
				(unsigned long long)size, (unsigned long long)s->block);
	}
	if (end <= s->start)
		return cbt_fail(
			e, -EBADMSG,
			"SnapshotMetadata: tuple %llu (%llu, %llu) ends at or before starting_offset %llu",
			(unsigned long long)n, (unsigned long long)off, (unsigned long long)size,
			(unsigned long long)s->start);
	if (off < s->last)
		return cbt_fail(
			e, -EBADMSG,
			"SnapshotMetadata: tuple %llu (%llu, %llu) starts before the previous one ended (%llu): not strictly increasing",
			(unsigned long long)n, (unsigned long long)off, (unsigned long long)size,
			(unsigned long long)s->last);
	s->last = end;
	/* a resumed call starts in the block that holds its starting_offset */
	if (off < s->end)
		off = s->end;
	if (end <= off)
		return 0;
	ret = dp_cbl_add(s->out, off, end - off);
	if (ret)
		return cbt_fail(e, ret, "out of memory");
	s->end = end;
	s->tuples++;
	s->bytes += end - off;
	return 0;
}

int cbt_csi_response(struct cbt_csi_stream *s, const uint8_t *msg, size_t len, struct cbt_err *e)
{
	uint64_t type = 0, cap = 0;
	struct cbt_pb_field f;
	size_t pos = 0;
	int ret;

	/* the scalars first: fields may come in any order */
	while ((ret = cbt_pb_next(msg, len, &pos, &f, e)) > 0) {
		if (f.num == 1)
			ret = csi_int(&f, "block_metadata_type", &type, e);
		else if (f.num == 2)
			ret = csi_int(&f, "volume_capacity_bytes", &cap, e);
		else if (f.num == 3 && f.wire != 2)
			ret = cbt_fail(
				e, -EBADMSG,
				"SnapshotMetadata: block_metadata has wire type %u, not a message",
				f.wire);
		if (ret < 0)
			return ret;
	}
	if (ret < 0)
		return ret;
	s->messages++;
	if (type != CBT_CSI_FIXED_LENGTH && type != CBT_CSI_VARIABLE_LENGTH)
		return cbt_fail(e, -EBADMSG,
				"SnapshotMetadata: message %llu: block_metadata_type %llu",
				(unsigned long long)s->messages, (unsigned long long)type);
	if (!cap)
		return cbt_fail(e, -EBADMSG,
				"SnapshotMetadata: message %llu: no volume_capacity_bytes",
				(unsigned long long)s->messages);
	if (s->type && ((uint64_t)s->type != type || s->capacity != cap))
		return cbt_fail(
			e, -EBADMSG,
			"SnapshotMetadata: message %llu: %s of %llu bytes, after %s of %llu bytes",
			(unsigned long long)s->messages, csi_types[type], (unsigned long long)cap,
			csi_types[s->type], (unsigned long long)s->capacity);
	s->type = (int)type;
	s->capacity = cap;
	s->out->size = cap;
	pos = 0;
	while ((ret = cbt_pb_next(msg, len, &pos, &f, e)) > 0) {
		if (f.num != 3)
			continue;
		ret = csi_tuple(s, f.p, f.len, e);
		if (ret)
			return ret;
	}
	return ret;
}

/* ------------------------------------------------------ the cluster's side */

/* a VolumeSnapshot's bound content: its driver and status.snapshotHandle */
static int csi_snapshot(struct k8s_client *c, const char *ns, const char *name, char *driver,
			size_t driver_sz, char *handle, size_t handle_sz, struct cbt_err *e)
{
	struct k8s_obj *vs = NULL, *vsc = NULL;
	struct k8s_volumesnapshot v;
	struct k8s_snapshotcontent cv;
	struct k8s_err ke;
	int ret;

	ret = k8s_get(c, &k8s_volumesnapshots, ns, name, NULL, &vs, &ke);
	if (ret) {
		cbt_fail(e, ret, "volumesnapshot %s/%s: %s", ns, name, ke.msg);
		goto out;
	}
	ret = k8s_volumesnapshot_view(vs, &v);
	if (!ret && (!v.ready || !v.bound_content || !v.bound_content[0])) {
		ret = cbt_fail(e, -EBUSY, "volumesnapshot %s/%s is not ready to use%s%s", ns, name,
			       v.error ? ": " : "", v.error ? v.error : "");
		goto out;
	}
	if (!ret)
		ret = k8s_get(c, &k8s_volumesnapshotcontents, NULL, v.bound_content, NULL, &vsc,
			      &ke);
	if (ret) {
		cbt_fail(e, ret, "volumesnapshot %s/%s: its content %s: %s", ns, name,
			 v.bound_content, ke.msg);
		goto out;
	}
	ret = k8s_snapshotcontent_view(vsc, &cv);
	if (!ret && (!cv.status_handle || !cv.driver)) {
		ret = cbt_fail(
			e, -EBUSY,
			"volumesnapshot %s/%s: content %s has no status.snapshotHandle or spec.driver",
			ns, name, v.bound_content);
		goto out;
	}
	if (ret) {
		cbt_fail(e, ret, "volumesnapshot %s/%s: unreadable content", ns, name);
		goto out;
	}
	if (driver)
		snprintf(driver, driver_sz, "%s", cv.driver);
	if (handle && (size_t)snprintf(handle, handle_sz, "%s", cv.status_handle) >= handle_sz)
		ret = cbt_fail(e, -ENAMETOOLONG, "volumesnapshot %s/%s: snapshot handle too long",
			       ns, name);
out:
	k8s_obj_free(vs);
	k8s_obj_free(vsc);
	return ret;
}

/* base64 (spec.caCert) into a malloc()ed buffer */
static int csi_unbase64(const char *in, uint8_t **out, size_t *len)
{
	size_t n = strlen(in);
	int got;

	*out = malloc(n / 4 * 3 + 4);
	if (!*out)
		return -ENOMEM;
	got = n % 4 ? -1 : EVP_DecodeBlock(*out, (const unsigned char *)in, (int)n);
	if (got < 0) {
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	/* EVP_DecodeBlock() counts the padding as bytes */
	for (size_t i = n; i > 0 && in[i - 1] == '='; i--)
		got--;
	*len = (size_t)got;
	return 0;
}

/* What one list needs from the cluster; freed with csi_env_fini(). */
struct csi_env {
	struct k8s_client *client, *own;
	const char *ns;
	char driver[128], base_id[512], address[256], audience[256];
	uint8_t *ca; /* the CA's PEM; @ca_own when decoded here */
	size_t ca_len;
	bool ca_own;
	char *token; /* @token_own when made here */
	bool token_own;
};

static void csi_env_fini(struct csi_env *x)
{
	if (x->token_own && x->token)
		k8s_secret_free(x->token, strlen(x->token));
	if (x->ca_own)
		free(x->ca);
	k8s_client_free(x->own);
}

/* the SnapshotMetadataService of @x->driver: what the options leave open */
static int csi_service(struct csi_env *x, const struct cbt_csi_opts *o, struct cbt_err *e)
{
	struct k8s_obj *sms = NULL;
	const char *addr, *aud, *ca;
	struct k8s_err ke;
	int ret;

	ret = k8s_get(x->client, &csi_sms_res, NULL, x->driver, NULL, &sms, &ke);
	if (ret) {
		cbt_fail(
			e, ret,
			"snapshotmetadataservice %s (cbt.storage.k8s.io/v1beta1, named after the CSI driver): %s",
			x->driver, ke.msg);
		goto out;
	}
	addr = k8s_obj_str(sms, "/spec/address");
	aud = k8s_obj_str(sms, "/spec/audience");
	ca = k8s_obj_str(sms, "/spec/caCert");
	if ((!o->address && !addr) || (!o->audience && !aud) || (!o->ca && !ca)) {
		ret = cbt_fail(
			e, -EINVAL,
			"snapshotmetadataservice %s lacks spec.address, spec.audience or spec.caCert",
			x->driver);
		goto out;
	}
	if (!o->address)
		snprintf(x->address, sizeof(x->address), "%s", addr);
	if (!o->audience)
		snprintf(x->audience, sizeof(x->audience), "%s", aud);
	if (!o->ca) {
		ret = csi_unbase64(ca, &x->ca, &x->ca_len);
		if (ret) {
			cbt_fail(e, ret, "snapshotmetadataservice %s: spec.caCert is not base64",
				 x->driver);
			goto out;
		}
		x->ca_own = true;
	}
out:
	k8s_obj_free(sms);
	return ret;
}

static int csi_env_init(struct csi_env *x, const struct cbt_csi_opts *o, struct cbt_err *e)
{
	struct k8s_config_opts co = {
		.sz = sizeof(co), .kubeconfig = o->kubeconfig, .context = o->context};
	char sa_ns[254], *slash;
	struct k8s_err ke;
	int64_t expires;
	int ret;

	if (o->address)
		snprintf(x->address, sizeof(x->address), "%s", o->address);
	if (o->audience)
		snprintf(x->audience, sizeof(x->audience), "%s", o->audience);
	if (o->ca) {
		x->ca = (uint8_t *)o->ca;
		x->ca_len = o->ca_len;
	}
	if (o->driver)
		snprintf(x->driver, sizeof(x->driver), "%s", o->driver);
	if (!o->allocated && !strncmp(o->base, "handle:", 7))
		snprintf(x->base_id, sizeof(x->base_id), "%s", o->base + 7);
	x->client = o->client;
	if (!x->client) {
		ret = k8s_client_open(&co, NULL, &x->own, &ke);
		if (ret)
			return cbt_fail(e, ret, "the cluster's configuration: %s", ke.msg);
		x->client = x->own;
	}
	x->ns = o->ns ? o->ns : k8s_config_ns(k8s_client_config(x->client));
	/* the target first: it must exist whatever else is given */
	ret = csi_snapshot(x->client, x->ns, o->target, x->driver[0] ? NULL : x->driver,
			   sizeof(x->driver), NULL, 0, e);
	if (ret)
		return ret;
	if (!o->allocated && !x->base_id[0]) {
		ret = csi_snapshot(x->client, x->ns, o->base, NULL, 0, x->base_id,
				   sizeof(x->base_id), e);
		if (ret)
			return ret;
	}
	if (!o->address || !o->audience || !o->ca) {
		ret = csi_service(x, o, e);
		if (ret)
			return ret;
	}
	if (o->token) {
		x->token = (char *)o->token;
		return 0;
	}
	slash = strchr(o->sa, '/');
	if (!slash || slash == o->sa || !slash[1] || (size_t)(slash - o->sa) >= sizeof(sa_ns))
		return cbt_fail(e, -EINVAL, "service account '%s': give NAMESPACE/NAME", o->sa);
	memcpy(sa_ns, o->sa, (size_t)(slash - o->sa));
	sa_ns[slash - o->sa] = '\0';
	ret = k8s_token_request(x->client, sa_ns, slash + 1, x->audience, CSI_TOKEN_SECONDS,
				&x->token, &expires, &ke);
	if (ret)
		return cbt_fail(e, ret, "a token of service account %s for audience %s: %s", o->sa,
				x->audience, ke.msg);
	x->token_own = true;
	return 0;
}

/* ------------------------------------------------------------ the calls */

static int csi_on_msg(void *arg, const uint8_t *msg, size_t len, struct cbt_err *e)
{
	return cbt_csi_response(arg, msg, len, e);
}

static void csi_sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int cbt_csi_delta(const struct cbt_csi_opts *o, struct dp_cbl *out, struct cbt_csi_info *info,
		  struct cbt_err *e)
{
	struct cbt_csi_opts d = {.sz = sizeof(d)};
	struct cbt_csi_stream s = {.out = out};
	struct csi_env x = {.ca = NULL};
	struct cbt_grpc_result res;
	unsigned int resumes;
	char url[512];
	int ret;

	memcpy(&d, o, o->sz < sizeof(d) ? o->sz : sizeof(d));
	if (!d.sa)
		d.sa = CSI_DEFAULT_SA;
	resumes = d.resumes ? d.resumes : 3;
	if (!d.target || !d.target[0])
		return cbt_fail(e, -EINVAL, "no target VolumeSnapshot");
	if (!d.allocated && (!d.base || !d.base[0] || !strcmp(d.base, "handle:")))
		return cbt_fail(e, -EINVAL, "no base snapshot (a VolumeSnapshot or handle:<id>)");
	if ((d.ca && !d.ca_len) || (d.address && !d.address[0]))
		return cbt_fail(e, -EINVAL, "an empty CA bundle or address");
	ret = csi_env_init(&x, &d, e);
	if (ret)
		goto out;
	if ((size_t)snprintf(url, sizeof(url), "https://%s/" CSI_SERVICE "/%s", x.address,
			     d.allocated ? "GetMetadataAllocated" : "GetMetadataDelta") >=
	    sizeof(url)) {
		ret = cbt_fail(e, -EINVAL, "address %s too long", x.address);
		goto out;
	}
	for (unsigned int attempt = 0;; attempt++) {
		struct cbt_csi_req rq = {.token = x.token,
					 .ns = x.ns,
					 .base = d.allocated ? NULL : x.base_id,
					 .target = d.target,
					 .start = s.end,
					 .max_results = d.max_results};
		struct cbt_pb req = {.p = NULL};
		struct cbt_grpc_call call = {.url = url,
					     .ca = x.ca,
					     .ca_len = x.ca_len,
					     .timeout_ms = d.timeout_ms ? d.timeout_ms : 600000,
					     .fn = csi_on_msg,
					     .arg = &s};

		s.start = s.end;
		s.last = 0;
		ret = cbt_csi_request(&rq, &req);
		if (ret) {
			cbt_pb_wipe(&req);
			cbt_fail(e, ret, "out of memory");
			goto out;
		}
		call.req = req.p;
		call.req_len = req.len;
		ret = cbt_grpc_call(&call, &res, e);
		cbt_pb_wipe(&req);
		if (info)
			info->calls++;
		if (!ret || !res.broken || attempt >= resumes)
			break;
		csi_sleep_ms(200u << attempt);
	}
	if ((ret == -EACCES || ret == -EPERM) && x.token_own) {
		char msg[sizeof(e->msg)];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		if (ret == -EACCES)
			cbt_fail(
				e, ret,
				"%s (the token is service account %s's for audience %s: is that the service's audience?)",
				msg, d.sa, x.audience);
		else
			cbt_fail(
				e, ret,
				"%s (grant service account %s 'get' on volumesnapshots.snapshot.storage.k8s.io in %s)",
				msg, d.sa, x.ns);
	}
out:
	if (info) {
		snprintf(info->driver, sizeof(info->driver), "%s", x.driver);
		snprintf(info->address, sizeof(info->address), "%s", x.address);
		snprintf(info->base_id, sizeof(info->base_id), "%s", x.base_id);
		info->type = s.type;
		info->block = s.block;
		info->tuples = s.tuples;
		info->bytes = s.bytes;
	}
	csi_env_fini(&x);
	return ret;
}

int cbt_csi_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e)
{
	struct cbt_csi_opts o = {.sz = sizeof(o)};
	struct cbt_csi_info info = {.calls = 0};
	int ret;

	if (req->csi)
		memcpy(&o, req->csi, req->csi->sz < sizeof(o) ? req->csi->sz : sizeof(o));
	o.base = req->old;
	o.target = req->new;
	req->method_used = o.allocated ? "GetMetadataAllocated" : "GetMetadataDelta";
	ret = cbt_csi_delta(&o, out, &info, e);
	req->stats.calls = info.calls;
	req->stats.extents_new = info.tuples;
	req->stats.bytes_changed = info.bytes;
	return ret;
}
