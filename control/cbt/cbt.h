/* SPDX-License-Identifier: MIT */
/*
 * control/cbt/cbt.h - changed-block tracking: the producers of changed-block
 * lists (FORMAT.md "Changed-block lists") behind `ferry changed-blocks`;
 * a library (control/cbt/meson.build). Design notes and measurements: control/cbt/CBT.md.
 *
 * A producer turns whatever knows what changed into a struct dp_cbl:
 *
 *   xfs     two reflinked image files; FIEMAP of both (cbt_xfs.c)
 *   btrfs   the image file in two snapshots; the subvolume trees' file
 *           extent items, or FIEMAP without CAP_SYS_ADMIN (cbt_btrfs.c)
 *   csi     two VolumeSnapshots; the CSI SnapshotMetadata service's
 *           GetMetadataDelta (KEP-3314) over gRPC, whose (offset, length)
 *           tuples go into dp_cbl_add() as they arrive (cbt_csi.c, on
 *           cbt_grpc.c and cbt_pb.c)
 *
 * The file-based producers share one engine: each file's extent map is read
 * as a stream of struct cbt_extent in logical order (struct cbt_source, in
 * batches, so memory does not grow with the file's extent count), and
 * cbt_diff() walks the two streams side by side. A byte range is unchanged
 * only where both files provably read the same bytes: both map it to the
 * same physical block, or both read it as zeros (a hole, an unwritten or
 * preallocated extent). Anything the map cannot vouch for (delayed
 * allocation, inline or compressed data FIEMAP cannot locate) is a change.
 * Whether an extent is *shared* is never asked: after a newer reflink every
 * extent is shared again, changed or not.
 */
#ifndef FERRY_CBT_H
#define FERRY_CBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_cbl;

/* struct cbt_err - the one-line detail of a producer's failure */
struct cbt_err {
	char msg[512];
};

/* cbt_fail() - format @e->msg, return @err (a -errno) */
int cbt_fail(struct cbt_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What reading a logical range of a file gives. */
enum cbt_kind {
	CBT_DATA,   /* the bytes at (@space, @phys) */
	CBT_ZERO,   /* zeros: an unwritten (XFS) or preallocated (btrfs) extent, a hole item */
	CBT_OPAQUE, /* not locatable (delalloc, inline, FIEMAP of encoded data): a change */
};

/**
 * struct cbt_extent - one mapped range of a file; gaps between extents are holes
 * @logical: file offset in bytes
 * @len:     bytes, > 0
 * @space:   the address space of @phys: 0 the filesystem's block addresses;
 *           otherwise an identity that names one extent (btrfs: a compressed
 *           extent's disk address, @phys then the offset into its data)
 * @phys:    where @logical lies in @space; @logical + i lies at @phys + i
 * @kind:    what the range reads as; @space and @phys mean something only
 *           for CBT_DATA
 */
struct cbt_extent {
	uint64_t logical;
	uint64_t len;
	uint64_t space;
	uint64_t phys;
	enum cbt_kind kind;
};

/*
 * struct cbt_source - a file's extents in ascending logical order.
 * @next: store the next extent in *@e; return 1, 0 at the end, or -errno
 *        (detail in @err). Extents may overlap what was returned before
 *        (FIEMAP restarts mid-extent); cbt_diff() clips them.
 * @err:  filled in by @next on failure
 */
struct cbt_source {
	int (*next)(struct cbt_source *src, struct cbt_extent *e);
	struct cbt_err err;
};

/* struct cbt_stats - what a diff saw; for --verbose and CBT.md */
struct cbt_stats {
	uint64_t extents_old, extents_new; /* extents read from each side */
	uint64_t calls;			   /* ioctls made (both sides) */
	uint64_t bytes_changed;		   /* sum of the list's ranges */
};

/**
 * cbt_diff() - the ranges of NEW that may differ from OLD
 * @old, @new:          extent streams, read to @old_size / @new_size at most
 * @old_size, @new_size: the files' sizes in bytes
 * @out:                ranges are appended (adjacent ones coalesced); the
 *                      caller set its parent and frees it
 * @stats:              extents_* and bytes_changed are added to; may be NULL
 * @e:                  detail of a failure
 *
 * Everything from @old_size to @new_size is a change (the volume grew).
 * Return: 0; a source's -errno (detail copied to @e); -ENOMEM; -EINVAL.
 */
int cbt_diff(struct cbt_source *old, struct cbt_source *new, uint64_t old_size, uint64_t new_size,
	     struct dp_cbl *out, struct cbt_stats *stats, struct cbt_err *e);

/* -------------------------------------------------------------- FIEMAP */

struct fiemap;

/*
 * struct cbt_fiemap - a cbt_source over FS_IOC_FIEMAP, CBT_FIEMAP_BATCH
 * extents per ioctl. The first call passes FIEMAP_FLAG_SYNC, so dirty pages
 * are written back (and delayed allocations resolved) before the map is read.
 */
struct cbt_fiemap {
	struct cbt_source src;
	int fd;		  /* borrowed */
	const char *name; /* borrowed; for messages */
	uint64_t start;	  /* fm_start of the next ioctl */
	bool last, synced;
	struct fiemap *fm;
	unsigned int i, n; /* position in, and size of, the current batch */
	uint64_t calls;
};

#define CBT_FIEMAP_BATCH 512u

/* cbt_fiemap_init() - a source over open file @fd (borrowed). 0 or -ENOMEM. */
int cbt_fiemap_init(struct cbt_fiemap *f, int fd, const char *name);
void cbt_fiemap_fini(struct cbt_fiemap *f);

/*
 * cbt_fiemap_extent() - what one fiemap_extent means (FIEMAP_EXTENT_* flags
 * in @flags). Unwritten is CBT_ZERO; unknown, delalloc, inline, tail,
 * unaligned, encoded and encrypted data are CBT_OPAQUE: for those FIEMAP's
 * physical address does not name the bytes (btrfs reports a compressed
 * extent's start for every piece of it).
 */
void cbt_fiemap_extent(uint64_t logical, uint64_t physical, uint64_t length, uint32_t flags,
		       struct cbt_extent *out);

/* --------------------------------------------------------------- btrfs */

/*
 * cbt_btrfs_item() - a btrfs_file_extent_item (@len bytes at @p, little
 * endian, as BTRFS_IOC_TREE_SEARCH returns it) keyed at file offset @off
 * Return: 1 and *@out filled; 0 nothing to report (an empty item); -EBADMSG
 * (truncated, an unknown type).
 */
int cbt_btrfs_item(uint64_t off, const void *p, size_t len, struct cbt_extent *out);

/*
 * cbt_btrfs_parse() - walk a BTRFS_IOC_TREE_SEARCH(_V2) result buffer
 * @buf, @len:  the buffer; @nr: the number of items the kernel says it holds
 * @ino:        only EXTENT_DATA items of this inode are taken
 * @out, @max:  room for the extents; *@n receives how many were stored
 * @last_key:   the offset of the last item's key (where the next search
 *              starts, plus one); untouched if there was no item
 *
 * Survives any input: a header or item running past @len is -EBADMSG.
 * Return: 0; -EBADMSG; -ENOSPC (more than @max extents).
 */
int cbt_btrfs_parse(const void *buf, size_t len, uint32_t nr, uint64_t ino, struct cbt_extent *out,
		    size_t max, size_t *n, uint64_t *last_key);

/* ---------------------------------------------- protobuf wire format (cbt_pb.c)
 *
 * Just what the SnapshotMetadata messages need: varints (int32, int64, enum)
 * and length-delimited fields (string, bytes, embedded messages). Written
 * from the wire-format rules, without generated code.
 */

/* struct cbt_pb - an encoder's growing buffer; @err sticks after a failed put */
struct cbt_pb {
	uint8_t *p;
	size_t len, cap;
	int err;
};

/* cbt_pb_varint() - field @num as a varint; proto3 leaves out a zero @v */
void cbt_pb_varint(struct cbt_pb *b, uint32_t num, uint64_t v);
/* cbt_pb_bytes() - field @num, length-delimited (@len bytes at @p, borrowed); "" left out */
void cbt_pb_bytes(struct cbt_pb *b, uint32_t num, const void *p, size_t len);
/* cbt_pb_wipe() - wipe (the buffer may hold a token) and free; the struct is zeroed */
void cbt_pb_wipe(struct cbt_pb *b);

/* One decoded field: @wire 0 (@v), 1 and 5 (@v), 2 (@p, @len). */
struct cbt_pb_field {
	uint32_t num;
	unsigned int wire;
	uint64_t v;
	const uint8_t *p;
	size_t len;
};

/*
 * cbt_pb_next() - the field at *@pos of @buf (@len bytes); *@pos moves past it
 * Return: 1 (a field in *@f); 0 (the end); -EBADMSG with @e set: a varint
 * truncated or longer than 10 bytes, field number 0, wire type 3, 4, 6 or 7
 * (groups are not proto3), a length or fixed field past the end.
 */
int cbt_pb_next(const uint8_t *buf, size_t len, size_t *pos, struct cbt_pb_field *f,
		struct cbt_err *e);

/* --------------------------------------------------------- gRPC (cbt_grpc.c)
 *
 * A unary request answered by a stream of messages, over libcurl's HTTP/2
 * with TLS (gRPC's PROTOCOL-HTTP2.md): POST /<service>/<method>,
 * content-type application/grpc, te: trailers; each message in both
 * directions is a 5-byte prefix (flag 0: not compressed; the length, big
 * endian) and the protobuf bytes. The status is grpc-status and grpc-message
 * (percent-encoded) in the trailers, or in the headers of an answer without
 * a body ("trailers-only"). Messages are handed over as they arrive; memory is
 * one message at most, and a message above the call's limit is refused.
 */

/* The gRPC status codes (grpc/include/grpc/impl/codegen/status.h). */
enum cbt_grpc_code {
	CBT_GRPC_OK = 0,
	CBT_GRPC_CANCELLED = 1,
	CBT_GRPC_UNKNOWN = 2,
	CBT_GRPC_INVALID_ARGUMENT = 3,
	CBT_GRPC_DEADLINE_EXCEEDED = 4,
	CBT_GRPC_NOT_FOUND = 5,
	CBT_GRPC_ALREADY_EXISTS = 6,
	CBT_GRPC_PERMISSION_DENIED = 7,
	CBT_GRPC_RESOURCE_EXHAUSTED = 8,
	CBT_GRPC_FAILED_PRECONDITION = 9,
	CBT_GRPC_ABORTED = 10,
	CBT_GRPC_OUT_OF_RANGE = 11,
	CBT_GRPC_UNIMPLEMENTED = 12,
	CBT_GRPC_INTERNAL = 13,
	CBT_GRPC_UNAVAILABLE = 14,
	CBT_GRPC_DATA_LOSS = 15,
	CBT_GRPC_UNAUTHENTICATED = 16,
};

/*
 * cbt_grpc_errno() - the one translation of a gRPC status: its -errno and
 * name ("PERMISSION_DENIED"); 0 for OK. UNAUTHENTICATED -EACCES,
 * PERMISSION_DENIED -EPERM, NOT_FOUND -ENOENT, INVALID_ARGUMENT -EINVAL,
 * UNAVAILABLE -EAGAIN, DEADLINE_EXCEEDED -ETIMEDOUT, ...; a code not in
 * the table is UNKNOWN's -EIO. @name may be NULL.
 */
int cbt_grpc_errno(int code, const char **name);

/* Called with each message (@len bytes, borrowed for the call); 0 or -errno with @e set. */
typedef int (*cbt_grpc_msg_fn)(void *arg, const uint8_t *msg, size_t len, struct cbt_err *e);

/*
 * struct cbt_grpc_frames - the length-prefixed message decoder, fed with the
 * body as it comes (any cut). @max: the largest message taken.
 */
struct cbt_grpc_frames {
	size_t max;
	uint8_t hdr[5];
	size_t hdr_n;
	uint8_t *msg;
	size_t msg_len, have, cap;
	uint64_t messages;
};

/*
 * cbt_grpc_feed() - @len body bytes into @f; each whole message goes to @fn
 * Return: 0; @fn's error; -EBADMSG (a compressed message: none was asked
 * for), -EMSGSIZE (above @f->max), -ENOMEM; @e set.
 */
int cbt_grpc_feed(struct cbt_grpc_frames *f, const void *data, size_t len, cbt_grpc_msg_fn fn,
		  void *arg, struct cbt_err *e);
/* cbt_grpc_frames_fini() - free the message buffer; the counters stay */
void cbt_grpc_frames_fini(struct cbt_grpc_frames *f);

/*
 * cbt_grpc_pct_decode() - grpc-message's percent-encoding undone into @out
 * (@size bytes, always NUL-terminated, cut to fit); a bad escape is kept as is.
 */
void cbt_grpc_pct_decode(const char *in, size_t len, char *out, size_t size);

/**
 * struct cbt_grpc_call - one call
 * @url:      https://HOST:PORT/<package.Service>/<Method>
 * @ca, @ca_len: the PEM bundle the server's certificate must chain to
 *            (borrowed); the host must match the certificate (IP SANs too)
 * @req, @req_len: the request message, without its prefix (borrowed; it
 *            may hold a secret: the copy made here is wiped)
 * @max_msg:  the largest response message taken (0: CBT_GRPC_MAX_MSG)
 * @timeout_ms, @connect_timeout_ms: the call's deadline (also sent as
 *            grpc-timeout) and the connect's; 0: 60 s and 10 s
 * @fn, @arg: each response message, on the calling thread
 */
struct cbt_grpc_call {
	const char *url;
	const void *ca;
	size_t ca_len;
	const void *req;
	size_t req_len;
	size_t max_msg;
	unsigned int timeout_ms, connect_timeout_ms;
	cbt_grpc_msg_fn fn;
	void *arg;
};

#define CBT_GRPC_MAX_MSG (4u << 20)

/**
 * struct cbt_grpc_result - how a call ended
 * @status:    the grpc-status, -1 if none came
 * @http:      the HTTP status, 0 if no answer
 * @messages:  response messages handed to @fn
 * @broken:    the stream broke (the transport failed, or it ended without a
 *             status) or the status is UNAVAILABLE: a caller that can resume
 *             may call again
 */
struct cbt_grpc_result {
	int status;
	long http;
	uint64_t messages;
	bool broken;
};

/*
 * cbt_grpc_call() - make the call, blocking; messages go to @c->fn as they arrive
 * Return: 0 (grpc-status OK); the status's cbt_grpc_errno(); @fn's error;
 * -EKEYREJECTED (the server's certificate is not trusted by @c->ca, or it
 * names another host); -EPROTO (the TLS handshake failed); -EINVAL (not
 * https://, a CA bundle curl cannot read); -ECONNREFUSED, -EHOSTUNREACH,
 * -ETIMEDOUT (the connect or the deadline); -ECONNRESET (the stream broke);
 * -EPROTONOSUPPORT (the server did not answer over HTTP/2, or not with
 * application/grpc); -EBADMSG, -EMSGSIZE (framing); -ENOMEM; -EIO.
 * @e->msg names the server and, for a status, its name and grpc-message.
 */
int cbt_grpc_call(const struct cbt_grpc_call *c, struct cbt_grpc_result *r, struct cbt_err *e);

/* ---------------------------------- CSI SnapshotMetadata (cbt_csi.c, KEP-3314)
 *
 * GetMetadataDelta (the ranges changed between a base snapshot, by its
 * handle, and a target VolumeSnapshot) and GetMetadataAllocated (the ranges
 * of a VolumeSnapshot that hold data) of the service that
 * external-snapshot-metadata fronts; messages as in its proto/schema.proto.
 */

struct k8s_client;

/* BlockMetadataType */
enum cbt_csi_type { CBT_CSI_UNKNOWN = 0, CBT_CSI_FIXED_LENGTH = 1, CBT_CSI_VARIABLE_LENGTH = 2 };

/*
 * struct cbt_csi_stream - the validating reader of a response stream; it
 * spans the calls of one list (a resumed call continues it).
 * @out:       ranges are dp_cbl_add()ed, its size set to volume_capacity_bytes
 * @start:     the current call's starting_offset
 * @last:      the end of the current call's last tuple (0 before the first);
 *             set @start and zero @last before each call
 * @end:       the end of the last tuple taken (where a resumed call starts)
 * @type, @capacity, @block: of the first message; the rest must agree
 *             (@block: a FIXED_LENGTH stream's tuple size)
 * @tuples, @bytes, @messages: counters
 */
struct cbt_csi_stream {
	struct dp_cbl *out;
	uint64_t start, last, end;
	int type;
	uint64_t capacity, block;
	uint64_t tuples, bytes, messages;
};

/*
 * cbt_csi_response() - one Get*Response message into @s
 *
 * Unknown fields are skipped. Refused (-EBADMSG, @e says which tuple): bad
 * wire format, a known field of the wrong wire type, a negative or missing
 * value, an unknown block_metadata_type, a type or capacity that differs
 * from the first message's, an empty tuple, a tuple that ends at or before
 * @s->start, that starts before the previous one ended or ends past the
 * capacity, a FIXED_LENGTH tuple of another size than the first. A tuple
 * that starts before @s->end (a resumed call starts in the block holding
 * its starting_offset) is cut there. Return: 0; -EBADMSG; -ENOMEM.
 */
int cbt_csi_response(struct cbt_csi_stream *s, const uint8_t *msg, size_t len, struct cbt_err *e);

/*
 * struct cbt_csi_req - the request message's fields; @base NULL makes it a
 * GetMetadataAllocatedRequest of @target, else a GetMetadataDeltaRequest.
 */
struct cbt_csi_req {
	const char *token, *ns, *base, *target;
	uint64_t start;
	uint32_t max_results;
};

/* cbt_csi_request() - the request message into @b (wipe it with cbt_pb_wipe()); 0 or -ENOMEM */
int cbt_csi_request(const struct cbt_csi_req *r, struct cbt_pb *b);

/**
 * struct cbt_csi_opts - what cbt_csi_delta() is asked; zero means "default"
 * @sz:          sizeof(struct cbt_csi_opts)
 * @client:      borrowed; NULL: a client is opened from @kubeconfig and
 *               @context (k8s_config_load()'s rules) for the call
 * @ns:          the VolumeSnapshots' namespace; NULL: the configuration's
 * @base:        a VolumeSnapshot in @ns (its bound content's
 *               status.snapshotHandle is the base_snapshot_id), or
 *               "handle:<id>"; NULL with @allocated
 * @target:      the VolumeSnapshot in @ns
 * @allocated:   GetMetadataAllocated of @target (what holds data) instead
 * @sa:          "NS/NAME" of the service account whose token (TokenRequest,
 *               bound to the audience, 10 minutes) is the security_token;
 *               NULL: "ferry-system/ferry-agent"
 * @token:       a token for the audience made elsewhere (borrowed): no
 *               TokenRequest
 * @driver:      the CSI driver; NULL: spec.driver of @target's content
 * @address, @audience, @ca, @ca_len: the service; each NULL one comes from
 *               the SnapshotMetadataService named after the driver
 *               (spec.address, spec.audience, spec.caCert)
 * @max_results: tuples per message asked for (0: the server's choice)
 * @resumes:     calls made again after the stream broke (0: 3)
 * @timeout_ms:  one call's deadline (0: 10 minutes)
 */
struct cbt_csi_opts {
	size_t sz;
	struct k8s_client *client;
	const char *kubeconfig, *context;
	const char *ns;
	const char *base, *target;
	bool allocated;
	const char *sa;
	const char *token;
	const char *driver, *address, *audience;
	const char *ca;
	size_t ca_len;
	uint32_t max_results;
	unsigned int resumes;
	unsigned int timeout_ms;
};

/* struct cbt_csi_info - what the producer used and saw (the strings are copies) */
struct cbt_csi_info {
	char driver[128], address[256], base_id[512];
	int type;	 /* enum cbt_csi_type; 0 if no message came */
	uint64_t block;	 /* FIXED_LENGTH's block size */
	uint64_t calls;	 /* gRPC calls, resumed ones included */
	uint64_t tuples; /* tuples taken (after cutting resumed overlaps) */
	uint64_t bytes;	 /* their sum */
};

/**
 * cbt_csi_delta() - fill @out with the ranges of @o->target that changed since
 * @o->base (or that hold data, @o->allocated), as the driver's service says
 * @out:  ranges appended, size set to volume_capacity_bytes (left as it was
 *        when no message came: no range changed); @out->parent is the
 *        caller's. Freed by the caller also after a failure.
 * @info: may be NULL
 *
 * Blocking; any thread but @o->client's I/O thread. The token is never
 * logged and is wiped after use. A stream that breaks (the connection
 * drops, UNAVAILABLE, no status at the end) is called again from the end of
 * the last tuple taken, up to @o->resumes times (backing off 0.2 s doubling).
 * Return: 0; -EINVAL (bad options: @base missing or "handle:" empty, @sa
 * not NS/NAME, INVALID_ARGUMENT); -ENOENT (a VolumeSnapshot, its content or
 * the SnapshotMetadataService not found; NOT_FOUND); -EBUSY (a
 * VolumeSnapshot not ready); the API's errors (k8s.h); cbt_grpc_call()'s
 * and cbt_csi_response()'s. @e says which.
 */
int cbt_csi_delta(const struct cbt_csi_opts *o, struct dp_cbl *out, struct cbt_csi_info *info,
		  struct cbt_err *e);

/* ----------------------------------------------------------- producers */

/* Where the btrfs producer reads its extents from (--method). */
enum cbt_method { CBT_METHOD_AUTO, CBT_METHOD_TREE, CBT_METHOD_FIEMAP };

/**
 * struct cbt_request - what a producer is asked for
 * @old, @new:  OLD and NEW as given (paths for xfs and btrfs; csi: the
 *              base and target, cbt_csi_opts' @base and @target)
 * @file:       btrfs: the image's path inside OLD and NEW when they are
 *              subvolumes (directories); NULL when they are the files
 * @method:     btrfs: CBT_METHOD_*
 * @old_size:   set by the producer: OLD's size (checked against the parent)
 * @method_used: set by the producer: "fiemap", "btrfs-tree", ...
 * @csi:        csi: the rest of cbt_csi_opts (@base and @target are taken
 *              from @old and @new)
 * @stats:      set by the producer
 */
struct cbt_request {
	const char *old, *new;
	const char *file;
	enum cbt_method method;
	const struct cbt_csi_opts *csi;
	uint64_t old_size;
	const char *method_used;
	struct cbt_stats stats;
};

/*
 * A producer: fill @out's ranges and size (NEW's size now); @out->parent is
 * left to the caller. Return 0 or -errno with @e set; errnos with a fixed
 * meaning: -EMEDIUMTYPE (not this producer's filesystem), -EXDEV (OLD and NEW
 * on different filesystems), -EOPNOTSUPP (no FIEMAP / tree search), -ESTALE
 * (NEW or OLD changed while they were compared), -EINVAL (not regular files,
 * the same file twice).
 */
typedef int (*cbt_produce_fn)(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);

int cbt_xfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);
int cbt_btrfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);
/* csi: cbt_csi_delta(); @old_size stays 0 (unknown); stats: calls, tuples as extents_new */
int cbt_csi_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);

/*
 * Helpers of the file producers (cbt.c): open @path read-only as a regular
 * file; compare two fstat()s to see whether a file changed meanwhile.
 */
struct stat;
int cbt_open_file(const char *path, const char *what, int *fd, struct stat *st, struct cbt_err *e);
bool cbt_stat_changed(const struct stat *a, const struct stat *b);

#endif /* FERRY_CBT_H */
