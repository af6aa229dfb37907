/* SPDX-License-Identifier: MIT */
/*
 * datapath/dp.h - ferry's datapath: the manual.
 *
 * One public header for the whole module (STYLE: one per module, written as
 * its manual), so it is long: two lines in three are the comments that say who
 * owns each pointer, what each errno means and which thread runs what.
 * Sections: pool, repository, snapshots, locks, maintenance, decisions,
 * changed blocks, jobs, backup records, volumes.
 *
 * The datapath moves a block volume (a block device or an image file) into a
 * content-addressed repository and back:
 *
 *   backup:  io_uring reads (O_DIRECT, registered buffers, many in flight)
 *            -> holes and all-zero chunks recorded, never stored
 *            -> workers: SHA-256 chunk id -> dedup against the repository
 *               -> zstd -> appended into packs cut into parts
 *            -> parts uploaded through s3/store.h, one index object per pack
 *            -> the snapshot manifest, written last: a backup is complete
 *               exactly when its manifest exists
 *   restore: manifest (streamed) -> read plan grouped by pack, coalesced
 *            ranged reads -> workers: decompress, verify every chunk id
 *            -> io_uring writes (O_DIRECT); zero chunks become holes
 *
 * The on-storage format is specified byte by byte in datapath/FORMAT.md.
 *
 * Objects and ownership:
 *   struct dp_pool   a process-wide memory budget shared by all jobs; a job
 *                    reserves its share when it starts and waits while other
 *                    jobs hold the rest, so RSS stays bounded however many
 *                    jobs run at once (the node agent runs several).
 *   struct dp_repo   an opened repository; borrows the s3_store.
 *   struct dp_job    one backup, restore, copy or verify, running on its own
 *                    threads; poll it with dp_job_wait()/dp_job_progress().
 *
 * Errors: functions return 0 or -errno. The errnos with a fixed meaning:
 *   -ENOENT      no such repository, snapshot, volume, source or object
 *   -EEXIST      a repository exists already (dp_repo_init)
 *   -ENOTUNIQ    a snapshot prefix or "latest" is ambiguous
 *   -EPROTONOSUPPORT  repository format version not supported
 *   -EUCLEAN     the repository is damaged (a checksum, a missing chunk)
 *   -EBADMSG     an object cannot be decoded
 *   -ENOKEY      the repository is encrypted and was not unlocked
 *   -EKEYREJECTED  a wrong password
 *   -EIO         I/O error; -ENOSPC no space; -EFBIG target too small
 *   -EBUSY       the target device is in use (mounted)
 *   -ECANCELED   the job was cancelled with dp_job_cancel()
 * Every failure comes with a one-line detail naming the object, the file or
 * the volume offset concerned: dp_last_error() for calls on the calling
 * thread; in the caller's struct dp_err for the job start functions (their
 * opts' @err) and the decisions (their @err argument); for a job
 * dp_job_error() and its result's @error, which belong to the job, not to a
 * thread.
 *
 * Threads: a dp_repo may be shared by several jobs, each job runs its own
 * threads; all functions here are thread-safe unless noted.
 */
#ifndef FERRY_DP_H
#define FERRY_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct s3_store;
struct dp_pool;
struct dp_repo;
struct dp_job;

/* Log levels: the same numbers in every ferry module. */
enum { DP_LOG_ERR = 0, DP_LOG_WARN = 1, DP_LOG_INFO = 2, DP_LOG_DEBUG = 3 };
typedef void (*dp_log_fn)(int level, const char *msg);

/* dp_set_log() - route the datapath's log lines (one line each) to @fn. */
void dp_set_log(dp_log_fn fn);

/* dp_last_error() - detail of the calling thread's last failed call, or "". */
const char *dp_last_error(void);

/*
 * struct dp_err - a call's outcome and its one-line detail, in memory the
 * caller owns, so that a caller that runs many calls on shared threads (the
 * controllers' reconcilers) never reads another call's detail. The decisions
 * fill it (their @err argument), the job start functions too (their opts'
 * @err), and a job's result carries one (dp_job_result.error). @code is the
 * -errno returned, with @msg naming what failed; 0 and "" after a success.
 */
struct dp_err {
	int code; /* 0 or -errno */
	char msg[256];
};

/* Defaults (see datapath/README.md for the measurements behind them). */
#define DP_CHUNK_SIZE_DEFAULT  (1u << 20) /* 1 MiB */
#define DP_CHUNK_SIZE_MIN      (64u << 10)
#define DP_CHUNK_SIZE_MAX      (16u << 20)
#define DP_COMPRESSION_DEFAULT 1 /* zstd level: bench/README.md "zstd level" */
#define DP_MEMORY_DEFAULT      (256ull << 20)
#define DP_MEMORY_MIN	       (24ull << 20)
#define DP_PACK_SIZE_DEFAULT   (64ull << 20)
#define DP_FORMAT_VERSION      1
#define DP_SCRYPT_N_DEFAULT    (1u << 15) /* 32 MiB and about 0.1 s per password try */
#define DP_ENCRYPTION_AES      "aes-256-gcm"

/* ------------------------------------------------------------------ pool */

/**
 * dp_pool_new() - create the process's memory budget for job buffers
 * @bytes: the budget (--memory), >= DP_MEMORY_MIN
 *
 * Return: 0; -EINVAL (too small); -ENOMEM.
 */
int dp_pool_new(uint64_t bytes, struct dp_pool **out);

/* dp_pool_free() - free the pool; every job using it must be freed first. NULL ok. */
void dp_pool_free(struct dp_pool *pool);

/* ------------------------------------------------------------ repository */

/**
 * struct dp_init_opts - settings of a new repository
 * @sz:             sizeof(struct dp_init_opts)
 * @chunk_size:     bytes per chunk, a power of two in [DP_CHUNK_SIZE_MIN,
 *                  DP_CHUNK_SIZE_MAX]; 0 for DP_CHUNK_SIZE_DEFAULT
 * @password:       the first key's password (@password_len bytes); required
 *                  unless @no_encryption
 * @no_encryption:  store everything in the clear (chunk ids are plain SHA-256)
 * @copy_keys_from: an unlocked encrypted repository whose master key (and so
 *                  chunk ids and blob encryption) the new one shares, so that
 *                  copies between them move blobs as they are; its chunk size
 *                  is used too. NULL: a new random master key.
 * @scrypt_n:       scrypt cost N of the key (a power of two; 0: DP_SCRYPT_N_DEFAULT)
 */
struct dp_init_opts {
	size_t sz;
	uint32_t chunk_size;
	const void *password;
	size_t password_len;
	bool no_encryption;
	const struct dp_repo *copy_keys_from;
	uint64_t scrypt_n;
};

/**
 * dp_repo_init() - create a repository in @st (writes its config object)
 * @st:   borrowed
 * @opts: NULL for defaults
 * @id:   if not NULL, receives the new repository id (65 bytes, hex)
 *
 * Return: 0; -EEXIST if @st holds a repository (or any config object)
 * already; -EINVAL bad options; store errors.
 */
int dp_repo_init(struct s3_store *st, const struct dp_init_opts *opts, char *id);

/**
 * dp_repo_open() - open the repository in @st
 * @st:  borrowed until dp_repo_free()
 *
 * Return: 0; -ENOENT no repository there (no config); -EPROTONOSUPPORT another
 * format version; -EBADMSG an undecodable config; store errors.
 */
int dp_repo_open(struct s3_store *st, struct dp_repo **out);

/* dp_repo_free() - NULL is a no-op. Jobs using the repository must be freed first. */
void dp_repo_free(struct dp_repo *repo);

/**
 * dp_repo_set_cache() - keep copies of index objects and manifest metadata in
 * @dir/<repository id>/ (NULL: no cache), so that a run against an object
 * store does not fetch them all again. Copies are verified like the objects.
 * Return: 0; -errno if the directory cannot be made.
 */
int dp_repo_set_cache(struct dp_repo *repo, const char *dir);

/* dp_repo_is_encrypted() - whether its objects are sealed (it then needs dp_repo_unlock()) */
bool dp_repo_is_encrypted(const struct dp_repo *repo);

/**
 * dp_repo_unlock() - unwrap the master key of an encrypted repository
 * @password: @len bytes, borrowed for the call
 *
 * Tries every key object (keys/) with @password. Every call that reads or
 * writes snapshots, indexes or packs of an encrypted repository fails with
 * -ENOKEY until this succeeded. A no-op on an unencrypted repository.
 *
 * Return: 0; -EKEYREJECTED (no key opens with this password); -EUCLEAN (no
 * key object at all); store errors.
 */
int dp_repo_unlock(struct dp_repo *repo, const void *password, size_t len);

/* struct dp_key_info - one key object of a repository (dp_key_list()) */
struct dp_key_info {
	char id[65];
	int64_t created; /* seconds since the epoch */
	char hostname[256];
	char username[64];
	bool current; /* the key that unlocked @repo */
};

/**
 * dp_key_list() - the key objects of an unlocked encrypted repository
 * @out: malloc()ed array, sorted by creation time; the caller frees it
 * Return: 0; -ENOKEY (locked); -EINVAL (not encrypted); store errors.
 */
int dp_key_list(struct dp_repo *repo, struct dp_key_info **out, size_t *n);

/**
 * dp_key_add() - wrap the master key with another password (a new key object)
 * @id: if not NULL, receives the new key's id (65 bytes)
 * @scrypt_n: 0 for DP_SCRYPT_N_DEFAULT
 * Return: 0; -ENOKEY; -EINVAL; store errors. Nothing else is rewritten.
 */
int dp_key_add(struct dp_repo *repo, const void *password, size_t len, uint64_t scrypt_n, char *id);

/**
 * dp_key_passwd() - replace the key that unlocked @repo by one for @password
 * @id:  receives the new key's id; @old: the removed key's id (65 bytes each)
 *
 * The new key object is written before the old one is deleted, so a failure
 * in between leaves both passwords working, never none.
 * Return: 0; -ENOKEY; -EINVAL; store errors.
 */
int dp_key_passwd(struct dp_repo *repo, const void *password, size_t len, uint64_t scrypt_n,
		  char *id, char *old);

/**
 * dp_key_remove() - delete a key object
 * @id: a full key id or a unique prefix of >= 8 hex digits
 * Return: 0; -ENOENT; -ENOTUNIQ; -EBUSY (it is the key that unlocked @repo,
 * or the last one: remove it from a repository opened with another key).
 */
int dp_key_remove(struct dp_repo *repo, const char *id);

/* struct dp_repo_info - a repository's config (FORMAT.md "config") */
struct dp_repo_info {
	char id[65];
	uint32_t version;
	uint32_t chunk_size;
	char hash[16];	      /* "sha256" */
	char compression[16]; /* "zstd" */
	char encryption[16];  /* "none" or DP_ENCRYPTION_AES */
	int64_t created;      /* seconds since the epoch */
};

/* dp_repo_info() - the config of an opened repository; valid until dp_repo_free(). */
const struct dp_repo_info *dp_repo_info(const struct dp_repo *repo);

/* ------------------------------------------------------------- snapshots */

struct dp_label {
	char *key;
	char *value;
};

/**
 * struct dp_snapshot - what a manifest says about a snapshot (FORMAT.md)
 * All strings are owned by the list they came from.
 */
struct dp_snapshot {
	char id[65];
	char *volume; /* the volume's name (--volume or its identity) */
	char *source; /* the path it was read from */
	char *hostname;
	char parent[65]; /* "" if none */
	uint64_t size;	 /* volume size in bytes */
	uint32_t chunk_size;
	int64_t time_start; /* microseconds since the epoch */
	int64_t time_end;
	struct dp_label *labels;
	size_t nlabels;
	/* totals of the backup that made it */
	uint64_t chunks_total, chunks_zero, chunks_new;
	uint64_t bytes_read, bytes_zero, bytes_new, bytes_stored;
	uint64_t manifest_size; /* bytes of the manifest object */
};

/**
 * dp_snapshot_list() - read the metadata of every snapshot in the repository
 * @out: an array sorted by time_end, then id; free with dp_snapshot_list_free()
 *
 * Reads only each manifest's footer. A manifest that cannot be read or
 * decoded is skipped with a warning (check reports it); @repo remembers it
 * for dp_snapshot_find().
 *
 * Return: 0; store errors.
 */
int dp_snapshot_list(struct dp_repo *repo, struct dp_snapshot **out, size_t *n);

void dp_snapshot_list_free(struct dp_snapshot *snaps, size_t n);

/**
 * dp_snapshot_find() - resolve a snapshot spec against a list
 * @repo:   the repository dp_snapshot_list() read @snaps from, or NULL
 * @spec:   a full id, a unique prefix of >= 8 hex digits, or "latest"
 * @volume: restrict to this volume (NULL: any)
 *
 * "latest" is the newest snapshot of @volume; without @volume it is refused
 * when the list holds several volumes.
 *
 * With @repo, the manifests its listing skipped count: an id that names one
 * fails with the reason it was skipped (damaged: -EUCLEAN; an I/O error: that
 * error), and "latest" fails while a manifest could not be read for another
 * reason than damage (which snapshot is the newest is not known then).
 *
 * Return: the snapshot (an element of @snaps) or NULL with dp_last_error() set
 * and *@err = -ENOENT (none), -ENOTUNIQ (ambiguous), -EINVAL (bad spec), or
 * the error of a skipped manifest.
 */
const struct dp_snapshot *dp_snapshot_find(const struct dp_repo *repo,
					   const struct dp_snapshot *snaps, size_t n,
					   const char *spec, const char *volume, int *err);

/* ----------------------------------------------------------------- locks */

/*
 * Jobs take a shared lock of their repository for as long as they run
 * (dp_backup_start() and dp_restore_start() do it themselves); forget and
 * prune take an exclusive one. See datapath/lock.c for the protocol.
 */
#define DP_LOCK_STALE	1800 /* seconds without a refresh: the holder is gone */
#define DP_LOCK_REFRESH 300

struct dp_lock;

/* struct dp_lockinfo - what a lock object says (FORMAT.md "locks/") */
struct dp_lockinfo {
	char id[65];
	int64_t time; /* written or last refreshed, seconds since the epoch */
	char hostname[256];
	int64_t pid;
	bool exclusive;
	char operation[64]; /* "backup", "prune", ... */
	bool stale;	    /* dp_lock_list(): too old, or of a dead process of this host */
};

/**
 * dp_lock_acquire() - take a shared or exclusive lock of @repo
 * @operation: what it is for, shown to whoever finds it
 * @out:       released with dp_lock_release()
 *
 * Return: 0; -EBUSY with dp_last_error() naming the conflicting holder;
 * -ENOKEY; store errors.
 */
int dp_lock_acquire(struct dp_repo *repo, bool exclusive, const char *operation,
		    struct dp_lock **out);
/* dp_lock_release() - delete the lock; NULL is a no-op */
void dp_lock_release(struct dp_lock *l);

/* dp_lock_list() - every lock of @repo; *@out is malloc()ed */
int dp_lock_list(struct dp_repo *repo, struct dp_lockinfo **out, size_t *n);

/**
 * dp_unlock() - remove stale locks (@all: every lock, also live ones)
 * @removed: how many were removed
 */
int dp_unlock(struct dp_repo *repo, bool all, size_t *removed);

/* ----------------------------------------------------------- maintenance */

/* A problem found by dp_check() (one line, naming objects, snapshots and offsets). */
typedef void (*dp_problem_fn)(void *arg, const char *msg);

/**
 * struct dp_check_opts - what dp_check() verifies
 * @sz:         sizeof(struct dp_check_opts)
 * @read_data:  download every blob and verify it (decrypt, decompress, chunk id)
 * @subset_n, @subset_of: with @read_data, only packs number n, n+m, ... (1-based
 *              n of m): spreading a full read over several runs
 * @problem:    called for each problem (NULL: logged as warnings)
 */
struct dp_check_opts {
	size_t sz;
	bool read_data;
	uint32_t subset_n, subset_of;
	dp_problem_fn problem;
	void *arg;
};

struct dp_check_report {
	uint64_t snapshots, packs, chunks;
	uint64_t packs_read, chunks_read, bytes_read;
	uint64_t problems;
	uint64_t records; /* backup records */
};

/**
 * dp_check() - verify a repository's structure, and with @read_data its data
 *
 * Structure: every manifest decodes to its end, every chunk it references is
 * in an index, every index decodes and its pack exists and is long enough.
 * Damaged chunks found by @read_data are reported with the snapshots and
 * volume offsets that refer to them. Holds a shared lock.
 *
 * Return: 0 if nothing is wrong; -EUCLEAN if problems were found (counted
 * in @r->problems and reported through @problem); other errors if the check
 * itself could not run.
 */
int dp_check(struct dp_repo *repo, const struct dp_check_opts *opts, struct dp_check_report *r);

/* struct dp_stats - what the repository holds (dp_repo_stats()) */
struct dp_stats {
	uint64_t snapshots;
	uint64_t logical_bytes;	      /* sum of the snapshots' volume sizes */
	uint64_t zero_bytes;	      /* of which zero chunks and holes */
	uint64_t referenced_bytes;    /* of which data chunks, counted per reference */
	uint64_t unique_chunks;	      /* distinct chunks referenced */
	uint64_t unique_raw_bytes;    /* their size before compression */
	uint64_t unique_stored_bytes; /* their size as stored */
	uint64_t packs, pack_bytes;   /* data objects and their total size */
	uint64_t index_chunks;	      /* index entries */
	uint64_t unreferenced_chunks, unreferenced_bytes; /* what prune can reclaim */
	uint64_t problems;
};

/* dp_repo_stats() - fill @s; dedup ratio = referenced / unique_raw, compression = unique_raw / unique_stored */
int dp_repo_stats(struct dp_repo *repo, struct dp_stats *s);

/*
 * struct dp_purge - deleting on a versioned bucket (an Object Lock bucket
 * always is): every version of a deleted object is deleted too, so that its
 * space is reclaimed; versions Object Lock keeps are counted here (the
 * repository stays consistent: what they hold is no longer referenced).
 */
struct dp_purge {
	uint64_t versions_deleted;
	uint64_t versions_protected, bytes_protected;
	int64_t protected_until; /* the latest retain-until date seen (0: none known) */
};

/**
 * dp_forget() - delete the manifests of snapshots @ids (full ids)
 * @deleted: how many existed and were deleted
 * @purge:   versions deleted and protected (NULL: not reported)
 * Their data stays until dp_prune(). Holds an exclusive lock.
 * Return: 0; -EBUSY (locked); store errors.
 */
int dp_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted,
	      struct dp_purge *purge);

#define DP_REPACK_BELOW_DEFAULT 50

/**
 * struct dp_prune_opts - @dry_run: plan and report only; @repack_below_pct: a
 * pack whose live bytes are below this share of its blobs is rewritten with
 * only its live chunks (default DP_REPACK_BELOW_DEFAULT; 100 repacks every
 * pack with any dead chunk)
 */
struct dp_prune_opts {
	size_t sz;
	bool dry_run;
	uint32_t repack_below_pct;
};

struct dp_prune_report {
	uint64_t packs, bytes_total; /* before */
	uint64_t packs_deleted;	     /* no live chunk */
	uint64_t packs_orphaned;     /* data without an index (interrupted backups) */
	uint64_t packs_repacked, bytes_repacked, packs_written;
	uint64_t chunks_live, chunks_removed;
	uint64_t bytes_freed; /* data object bytes that go (net of what is rewritten) */
	uint64_t objects_deleted;
	struct dp_purge purge; /* versioned buckets */
};

/**
 * dp_prune() - delete what no snapshot references
 *
 * Holds an exclusive lock. Refuses (-EUCLEAN, deleting nothing) if any
 * manifest or index cannot be read or a referenced chunk is in no index.
 * Return: 0; -EBUSY; -EUCLEAN; store errors.
 */
int dp_prune(struct dp_repo *repo, const struct dp_prune_opts *opts, struct dp_prune_report *r);

/* ------------------------------------------------------------- decisions */

/*
 * The decisions the command line and the controllers share, as functions
 * without I/O that report their failure in a struct dp_err the caller owns
 * (a reconciler's worker thread cannot rely on dp_last_error()).
 */

/*
 * enum dp_keep_rule - why retention keeps a record; bit (1u << rule) of
 * struct dp_retention_verdict.reasons. The counting rules (up to
 * DP_KEEP_YEARLY) keep the newest record of each of the newest N buckets
 * that hold records, in UTC; keep-last's bucket is the record itself.
 */
enum dp_keep_rule {
	DP_KEEP_LAST,	   /* one of the newest N */
	DP_KEEP_HOURLY,	   /* the newest of its hour */
	DP_KEEP_DAILY,	   /* the newest of its day */
	DP_KEEP_WEEKLY,	   /* the newest of its ISO 8601 week (Monday to Sunday; the
			      week belongs to the year of its Thursday) */
	DP_KEEP_MONTHLY,   /* the newest of its month */
	DP_KEEP_YEARLY,	   /* the newest of its year */
	DP_KEEP_UNEXPIRED, /* a policy of a TTL alone: not expired */
};
#define DP_KEEP_NCOUNTS (DP_KEEP_YEARLY + 1) /* the counting rules: dp_retention_policy.keep[] */

/* dp_keep_rule_name() - "last", "hourly", "daily", "weekly", "monthly", "yearly", "within ttl" */
const char *dp_keep_rule_name(enum dp_keep_rule rule);

/**
 * struct dp_retention_policy - what to keep of each group of records
 * @keep: N of each counting rule (index enum dp_keep_rule); 0: the rule is off
 * @ttl:  seconds; 0: none. An expiry, as Velero's: a record goes once
 *        @now >= its time + @ttl, whatever rule would keep it. With no
 *        counting rule, every record that has not expired is kept
 *        (DP_KEEP_UNEXPIRED); with some, the rules choose among those.
 * @now:  microseconds since the epoch, what @ttl is measured from
 */
struct dp_retention_policy {
	uint32_t keep[DP_KEEP_NCOUNTS];
	int64_t ttl;
	int64_t now;
};

/**
 * struct dp_retention_record - one thing a policy keeps or drops as a whole
 * @id:    borrowed; orders records of equal @time (the greater id counts as
 *         the newer), so the outcome does not depend on the order given
 * @time:  microseconds since the epoch
 * @group: the policy applies to each group apart (`ferry forget`: a volume;
 *         the Schedule controller: a Schedule); NULL is the group ""
 */
struct dp_retention_record {
	const char *id;
	int64_t time;
	const char *group;
};

/**
 * struct dp_retention_verdict - what the policy says of one record
 * @keep:    it stays
 * @expired: the TTL removes it
 * @reasons: bits (1u << enum dp_keep_rule) of every rule that keeps it; of
 *           an expired record, every counting rule that would have
 */
struct dp_retention_verdict {
	bool keep;
	bool expired;
	unsigned int reasons;
};

/**
 * dp_retention_select() - apply a retention policy to @n records
 * @recs: in any order, any mix of groups; borrowed for the call. Filters
 *        (volumes, labels) are the caller's: pass only what may go.
 * @out:  @n verdicts, @out[i] for @recs[i]
 * @err:  the reason of a failure (NULL: not wanted)
 *
 * Pure: no I/O, no clock (@p->now), no time zone (buckets are UTC).
 * Return: 0; -EINVAL (a policy without a count or a TTL, which would keep
 * everything; a negative TTL; a record without an id); -ENOMEM.
 */
int dp_retention_select(const struct dp_retention_record *recs, size_t n,
			const struct dp_retention_policy *p, struct dp_retention_verdict *out,
			struct dp_err *err);

/* The modes of a backup's parent (its --parent). */
enum dp_parent_mode {
	DP_PARENT_AUTO, /* the newest snapshot of the volume; none for its first backup */
	DP_PARENT_NONE, /* no parent: every chunk is read */
	DP_PARENT_ID,	/* the snapshot an id or a unique prefix names */
};

/**
 * dp_parent_choose() - the snapshot a new backup of @volume follows
 * @repo:   the repository @snaps was listed from (DP_PARENT_ID: an id that
 *          names a manifest the listing skipped fails with its reason); NULL
 *          if not known
 * @snaps:  dp_snapshot_list()'s @n snapshots
 * @volume: the new backup's volume name (dp_volume_identity() of its source
 *          when it has none)
 * @id:     DP_PARENT_ID: a full id, a unique prefix of >= 8 hex digits, or
 *          "latest"; otherwise unused
 * @out:    the parent, an element of @snaps; NULL for none (DP_PARENT_NONE,
 *          or DP_PARENT_AUTO before the volume's first backup)
 *
 * DP_PARENT_AUTO ignores manifests the listing could not read: at worst the
 * parent is older and more is read and stored.
 * Return: 0; -ENOENT, -ENOTUNIQ, -EINVAL (DP_PARENT_ID: no such snapshot,
 * an ambiguous prefix, a malformed id) or the error of a skipped manifest,
 * with @err naming it.
 */
int dp_parent_choose(const struct dp_repo *repo, const struct dp_snapshot *snaps, size_t n,
		     const char *volume, enum dp_parent_mode mode, const char *id,
		     const struct dp_snapshot **out, struct dp_err *err);

/* ------------------------------------------------------ changed blocks */

/*
 * A changed-block list: the byte ranges of a volume that may differ from the
 * snapshot @parent, from whatever knows them (XFS reflink extents, btrfs
 * snapshots, the CSI SnapshotMetadata service's GetMetadataDelta). A backup
 * given one reads only those ranges; the rest of its references come from the
 * parent's manifest. The file formats (text and JSON) are in FORMAT.md
 * "Changed-block lists"; a list always names its parent.
 */
struct dp_range {
	uint64_t off;
	uint64_t len;
};

struct dp_cbl {
	char parent[65]; /* the snapshot it was computed against */
	uint64_t size;	 /* the volume's size now; 0 if the producer did not say */
	struct dp_range *ranges;
	size_t n, cap;
};

/**
 * dp_cbl_parse() - read a changed-block list (text or JSON, FORMAT.md)
 * @out: filled in; free with dp_cbl_fini() (also after a failure)
 *
 * The ranges come back sorted and merged.
 * Return: 0; -EINVAL (malformed, or no parent named) with dp_last_error()
 * naming the line; -ENOMEM.
 */
int dp_cbl_parse(const char *buf, size_t len, struct dp_cbl *out);

/* dp_cbl_read_file() - dp_cbl_parse() of a file (at most 1 GiB); -ENOENT etc. */
int dp_cbl_read_file(const char *path, struct dp_cbl *out);

/* dp_cbl_add() - append a range (producers); dp_cbl_normalize() sorts and merges */
int dp_cbl_add(struct dp_cbl *l, uint64_t off, uint64_t len);
void dp_cbl_normalize(struct dp_cbl *l);

/**
 * dp_cbl_format() - the text form of @l (FORMAT.md), malloc()ed in *@out
 * @json: the JSON form instead
 * Return: 0; -EINVAL (no parent); -ENOMEM.
 */
int dp_cbl_format(const struct dp_cbl *l, bool json, char **out, size_t *len);

void dp_cbl_fini(struct dp_cbl *l);

/* ------------------------------------------------------------------ jobs */

/* struct dp_progress - a job's counters, updated as it runs */
struct dp_progress {
	uint64_t bytes_total;	/* volume size */
	uint64_t bytes_done;	/* volume bytes finished (read+hashed, or restored) */
	uint64_t bytes_read;	/* bytes read from the source or the repository */
	uint64_t bytes_zero;	/* holes and all-zero chunks */
	uint64_t bytes_new;	/* bytes newly stored (after compression) */
	uint64_t bytes_raw_new; /* volume bytes of the new chunks */
	uint64_t bytes_written; /* restore: bytes written to the target */
	uint64_t chunks_total;
	uint64_t chunks_zero;
	uint64_t chunks_new;	  /* backup: stored now; restore: fetched */
	uint64_t chunks_dedup;	  /* backup: already in the repository */
	uint64_t packs;		  /* backup: packs written */
	double seconds;		  /* since the job started */
	uint64_t bytes_unchanged; /* backup: not read, unchanged per the changed-block list */
	uint64_t bytes_reused;	  /* backup, copy: stored by an interrupted run, not sent again */
	uint64_t
		chunks_unchanged; /* apply: the same in the parent, not written (bytes_unchanged) */
};

/* struct dp_result - a finished job */
struct dp_result {
	int err;	      /* 0 or -errno */
	char snapshot_id[65]; /* backup: the new snapshot; restore: the one restored; else "" */
	char volume[256];
	char io_mode[64]; /* e.g. "io_uring+O_DIRECT", "pread (buffered)" */
	struct dp_progress progress;
	char parent[65];	  /* backup: the parent snapshot, "" if none */
	uint64_t mismatches;	  /* verify: chunks that differ from the snapshot (0: equal) */
	uint64_t first_mismatch;  /* verify: volume offset of the first */
	uint64_t copied, skipped; /* copy: snapshots copied, and found in the target */
	struct dp_err error;	  /* @err and its detail (dp_job_error()), 0 and "" on success */
};

/**
 * struct dp_backup_opts - a backup
 * @sz:          sizeof(struct dp_backup_opts)
 * @source:      block device or regular file; borrowed for dp_backup_start()
 * @volume:      the volume's name across backups; NULL: the source's stable
 *               identity (dp_volume_identity())
 * @labels:      "key=value" strings, @nlabels of them
 * @compression: zstd level (1..19, or negative fast levels); 0: default;
 *               DP_COMPRESSION_OFF stores every chunk raw
 * @threads:     worker threads; 0: one per online CPU
 * @queue_depth: reads in flight; 0: automatic
 * @memory:      bytes of the pool this job reserves; 0: all of it
 * @pack_size:   target pack size; 0: DP_PACK_SIZE_DEFAULT
 * @no_uring:    do not use io_uring (pread/pwrite)
 * @no_direct:   do not use O_DIRECT
 * @hostname:    recorded in the manifest; NULL: gethostname()
 * @parent:      the snapshot this one follows (recorded in the manifest, and
 *               the source of unchanged references with @changed); NULL: none.
 *               Borrowed for dp_backup_start().
 * @changed:     read only these ranges; needs @parent, and @changed->parent
 *               must be @parent's id (-ESTALE otherwise). Borrowed for
 *               dp_backup_start().
 * @state_dir:   where journals of unfinished uploads are kept, so that a run
 *               interrupted at any point is resumed by the next one of the same
 *               volume and repository (only what the store does not hold yet is
 *               sent); NULL: no journal. Unused for file:// repositories.
 * @err:         if not NULL, receives the outcome of dp_backup_start() (the
 *               -errno and its detail; 0 and "" when it started); owned by
 *               the caller
 */
struct dp_backup_opts {
	size_t sz;
	const char *source;
	const char *volume;
	const char *const *labels;
	size_t nlabels;
	int compression;
	unsigned int threads;
	unsigned int queue_depth;
	uint64_t memory;
	uint64_t pack_size;
	bool no_uring;
	bool no_direct;
	const char *hostname;
	const struct dp_snapshot *parent;
	const struct dp_cbl *changed;
	const char *state_dir;
	struct dp_err *err;
};

#define DP_COMPRESSION_OFF (-1000)

/**
 * dp_backup_start() - start backing up a volume
 * @repo: borrowed until dp_job_free()
 * @pool: borrowed until dp_job_free()
 * @opts: borrowed for the call
 *
 * Opens the source, then returns; the job runs on its own threads.
 *
 * Return: 0; -ENOENT/-EACCES (source), -EINVAL (options); -ENOMEM. Failures
 * while running are reported by dp_job_wait().
 */
int dp_backup_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_backup_opts *opts,
		    struct dp_job **out);

/**
 * struct dp_restore_opts - a restore, or a delta apply
 * @sz:          sizeof(struct dp_restore_opts)
 * @target:      block device or regular file (created sparse if missing);
 *               borrowed for dp_restore_start()
 * @snapshot:    borrowed for dp_restore_start()
 * @threads, @queue_depth, @memory, @no_uring, @no_direct, @err: as for backup
 * @onto:        a delta apply: the snapshot @target holds (its stamp must say
 *               so, clean, for the same target); only the chunks in which
 *               @snapshot differs from it are written. NULL: a full restore.
 *               Borrowed for dp_restore_start().
 * @stamp:       the file that keeps @target's stamp (FORMAT.md "Target
 *               stamps"); NULL: an image file's extended attribute
 *               user.ferry.stamp, and no stamp for a block device (which a
 *               later apply then refuses). Borrowed for dp_restore_start().
 */
struct dp_restore_opts {
	size_t sz;
	const char *target;
	const struct dp_snapshot *snapshot;
	unsigned int threads;
	unsigned int queue_depth;
	uint64_t memory;
	bool no_uring;
	bool no_direct;
	struct dp_err *err;
	const struct dp_snapshot *onto;
	const char *stamp;
};

/**
 * dp_restore_start() - start restoring a snapshot, or applying it as a delta
 *
 * A block device target must be at least the volume's size and not in use
 * (-EFBIG, -EBUSY); a regular file is truncated to the volume's size.
 *
 * Every restore marks the target's stamp dirty before its first write
 * (where it has a stamp: an image file, or @stamp given) and stamps it
 * clean with the snapshot once the target is synced; a restore cut short
 * leaves it dirty.
 *
 * A delta apply (@onto) writes only what differs: the chunks whose id
 * differs from @onto's at the same place, the zero chunks that were not zero
 * (holes punched, in a device too where it can; else BLKZEROOUT), the chunks past
 * @onto's size and a last chunk whose length changed; a file gets the new
 * size. Each chunk is verified against its id before it is written. Before
 * its first write the job checks the stamp: it fails with -ESTALE, the
 * target untouched, unless the stamp is clean, names @onto and the target's
 * identity is the one stamped (an image file not modified since); a dirty
 * stamp (an interrupted restore or apply) is refused the same way, and the
 * detail names the fix: a full restore. The result's @parent is @onto's id;
 * the progress counts the chunks written (@chunks_new), zeroed
 * (@chunks_zero) and left as they were (@chunks_unchanged).
 *
 * Return: 0; -ENOENT (the target's directory; an apply's missing target),
 * -EFBIG, -EBUSY, -EINVAL (an apply across chunk sizes); -ENOMEM.
 */
int dp_restore_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_restore_opts *opts,
		     struct dp_job **out);

/**
 * dp_job_wait() - wait for a job to finish
 * @timeout_ms: -1 waits for ever
 *
 * Return: 0 when the job has finished (its outcome is in dp_job_result());
 * -ETIMEDOUT if it is still running.
 */
int dp_job_wait(struct dp_job *job, int timeout_ms);

/* dp_job_cancel() - ask a job to stop; it finishes with -ECANCELED soon after. */
void dp_job_cancel(struct dp_job *job);

/* dp_job_progress() - a consistent-enough copy of a running job's counters */
void dp_job_progress(struct dp_job *job, struct dp_progress *out);

/* dp_job_result() - the outcome; valid after dp_job_wait() returned 0. */
const struct dp_result *dp_job_result(const struct dp_job *job);

/* dp_job_error() - detail of a failed job ("" if none); valid until dp_job_free(). */
const char *dp_job_error(const struct dp_job *job);

/* dp_job_free() - cancel (if running), wait and free. NULL is a no-op. */
void dp_job_free(struct dp_job *job);

/**
 * struct dp_copy_opts - a copy of snapshots between repositories
 * @snapshots:   @n snapshots of the source (oldest first copies parents first);
 *               borrowed for dp_copy_start()
 * @threads:     worker threads (default: one per CPU)
 * @memory:      bytes of the pool this job reserves (0: all of it)
 * @compression: zstd level for re-encoded chunks (0: default)
 *
 * The target must have the source's chunk size. With the same keys (a
 * target initialised with copy_keys_from, or both unencrypted) blobs move as
 * they are; otherwise each is verified, re-identified, re-compressed and
 * sealed for the target. Snapshots keep their ids. Progress: chunks_new are
 * chunks stored in the target, chunks_dedup the ones it had, bytes_read the
 * bytes fetched, bytes_new the bytes stored.
 */
struct dp_copy_opts {
	size_t sz;
	const struct dp_snapshot *snapshots;
	size_t n;
	unsigned int threads;
	uint64_t memory;
	int compression;
	const char *state_dir; /* as dp_backup_opts.state_dir */
	struct dp_err *err;    /* as dp_backup_opts.err */
};

/*
 * dp_copy_memory_min() - the least memory a copy of @chunk_size chunks takes:
 * fetched ranges and pack parts apart, each two 8 MiB parts and 8 chunks.
 */
static inline uint64_t dp_copy_memory_min(uint32_t chunk_size)
{
	return 2 * (2 * (8ull << 20) + 8ull * chunk_size);
}

/**
 * dp_copy_start() - start copying snapshots from @from to @to
 * Both repositories are borrowed until dp_job_free() and hold shared locks.
 * Return: 0; -EINVAL (chunk sizes differ; @memory, or the pool, below
 * dp_copy_memory_min()); -ENOKEY; -EBUSY; -ENOMEM.
 */
int dp_copy_start(struct dp_repo *from, struct dp_repo *to, struct dp_pool *pool,
		  const struct dp_copy_opts *opts, struct dp_job **out);

/**
 * struct dp_verify_opts - does a volume equal a snapshot? (check --source)
 * @sz:          sizeof(struct dp_verify_opts)
 * @source:      block device or regular file; borrowed for dp_verify_start()
 * @snapshot:    the snapshot to compare with; borrowed for dp_verify_start()
 * @threads, @queue_depth, @memory, @no_uring, @no_direct, @err: as for backup
 */
struct dp_verify_opts {
	size_t sz;
	const char *source;
	const struct dp_snapshot *snapshot;
	unsigned int threads;
	unsigned int queue_depth;
	uint64_t memory;
	bool no_uring;
	bool no_direct;
	struct dp_err *err;
};

/**
 * dp_verify_start() - start comparing a volume with a snapshot
 *
 * The source is read and hashed as a backup reads it and each chunk is
 * compared with the snapshot's manifest; nothing is written to the
 * repository (it holds a shared lock named "verify"). The result says how
 * many chunks differ and where the first is (dp_result.mismatches,
 * .first_mismatch; a volume of another size differs in at least one); it
 * names no snapshot (dp_result.snapshot_id is ""). A manifest that does not
 * check out fails the job (-EUCLEAN).
 *
 * Return: 0; -ENOENT/-EACCES (source, snapshot), -EINVAL, -EUCLEAN (the
 * snapshot's chunk size is not the repository's), -EBUSY, -ENOMEM.
 */
int dp_verify_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_verify_opts *opts,
		    struct dp_job **out);

/* -------------------------------------------------------- backup records */

/*
 * A backup record (FORMAT.md "Backup records"): what a cluster's Backup
 * stored, written once and last into backups/<record id>, so that a cluster
 * that has only the repository can list, describe and restore the Backup.
 * It holds the Backup's spec, its object archive and every volume's
 * snapshot.
 *
 * The object archive is a JSON-lines stream of the Backup's Kubernetes
 * objects (one object's JSON a line), cut at object boundaries into chunks
 * stored in packs like a volume's: an object unchanged since an earlier
 * backup is not stored again. Its chunks are referenced by the record alone:
 * an archive whose record is never written is removed by prune, and
 * forgetting a record frees them for the next prune.
 *
 * Writing: dp_archive_new(), dp_archive_add() per object, dp_archive_finish(),
 * then dp_record_put() with it. The archive holds a shared lock of the
 * repository from dp_archive_new() until dp_archive_free(), so no prune
 * removes its chunks before the record references them.
 */

#define DP_RECORD_MAX	     (64u << 20) /* bytes of a record object (sealed) */
#define DP_RECORD_SPEC_MAX   (1u << 20)	 /* bytes of the spec's JSON */
#define DP_ARCHIVE_LINE_MAX  (64u << 20) /* bytes of one object's JSON */
#define DP_RECORD_NAME_MAX   253
#define DP_RECORD_VOLUME_MAX 4096 /* volumes of one record */

struct dp_archive;
struct dp_record_chunks;

/**
 * struct dp_archive_opts - a new object archive
 * @sz:             sizeof(struct dp_archive_opts)
 * @allow_secrets:  take objects of kind Secret (apiVersion v1) in a repository
 *                  that is not encrypted; refused otherwise (an encrypted
 *                  repository always takes them)
 * @compression:    zstd level of its chunks (0: the default)
 * @err:            receives the outcome of dp_archive_new() (NULL: not wanted)
 */
struct dp_archive_opts {
	size_t sz;
	bool allow_secrets;
	int compression;
	struct dp_err *err;
};

/**
 * dp_archive_new() - start an object archive in @repo (borrowed until
 * dp_archive_free())
 *
 * Loads the repository's index (to store only chunks it lacks) and takes a
 * shared lock named "archive".
 * Return: 0; -ENOKEY; -EBUSY (an exclusive lock: a prune runs); store errors.
 */
int dp_archive_new(struct dp_repo *repo, const struct dp_archive_opts *opts,
		   struct dp_archive **out);

/**
 * dp_archive_add() - append one Kubernetes object
 * @obj: @len bytes of one JSON object with a string "kind" (borrowed for the
 *       call), in one line: no newline byte (write it compact); the archive
 *       adds the newline that ends its line
 *
 * Not thread-safe on one archive (one producer). Objects are stored in the
 * order added, and read back in that order.
 * Return: 0; -EINVAL (not one JSON object with a "kind", a newline in it,
 * over DP_ARCHIVE_LINE_MAX; the archive goes on without it); -EPERM (a
 * Secret in a repository that is not encrypted, without @allow_secrets; the
 * archive goes on without it); -EIO etc. (store errors: the archive is
 * failed, every later call returns the error). dp_last_error() says which.
 */
int dp_archive_add(struct dp_archive *a, const void *obj, size_t len);

/**
 * dp_archive_add_lines() - dp_archive_add() of each line of @len bytes of
 * JSON lines (a producer's stream or a part of one that ends at a line's
 * end; empty lines are skipped)
 * @line: if not NULL, receives the 1-based number of the line that failed
 * Return: 0; the first line's failure (the lines before it are in the archive).
 */
int dp_archive_add_lines(struct dp_archive *a, const char *buf, size_t len, size_t *line);

/**
 * dp_archive_finish() - write what is buffered and close its packs; the
 * archive's chunks are then stored and indexed, ready for dp_record_put().
 * No dp_archive_add() after it. Return: 0; the archive's failure.
 */
int dp_archive_finish(struct dp_archive *a);

/* struct dp_archive_stats - an archive's counters (dp_archive_stats()) */
struct dp_archive_stats {
	uint64_t objects;      /* lines */
	uint64_t secrets;      /* of them objects of kind Secret */
	uint64_t bytes;	       /* of the stream, newlines included */
	uint64_t chunks;       /* chunks of the stream */
	uint64_t chunks_new;   /* of them stored now (the others the repository had) */
	uint64_t bytes_stored; /* what the new chunks took in packs */
};
void dp_archive_stats(const struct dp_archive *a, struct dp_archive_stats *out);

/* dp_archive_free() - release its lock and memory; NULL is a no-op. */
void dp_archive_free(struct dp_archive *a);

/* One volume a record names (FORMAT.md "Backup records"). */
struct dp_record_volume {
	char *namespace; /* the PVC's namespace */
	char *pvc;	 /* the PVC's name */
	char *volume;	 /* the repository volume: k8s/<cluster id>/<namespace>/<pvc> */
	char snapshot[65];
	uint64_t size; /* the volume's size in bytes */
	/* optional (0: not said): what its backup stored anew (compressed, sealed), how long it ran */
	uint64_t bytes_stored;
	uint64_t milliseconds;
};

/**
 * struct dp_record - a backup record. From dp_record_list()/dp_record_get(),
 * every pointer is owned by the record (dp_record_free()); given to
 * dp_record_put(), every pointer is the caller's, borrowed for the call.
 * @id:        64 hex digits: dp_record_id() of (@cluster, @namespace, @name)
 * @name, @namespace: the Backup's (DNS names: [a-z0-9.-], at most 253 bytes)
 * @cluster:   the cluster's id (the kube-system namespace's UID); any string
 *             of at most 253 printable bytes
 * @phase:     how the Backup ended: "Completed" or "PartiallyFailed"
 * @spec:      the Backup's spec as compact JSON text (an object)
 * @labels:    the Backup's labels
 * @time_start, @time_end: microseconds since the epoch
 * @hostname:  the host that wrote it (dp_record_put(): NULL for gethostname())
 * @objects, @archive_bytes, @secrets: the archive's lines, bytes and Secrets
 * @warnings, @errors: the Backup's counts
 * @record_size: bytes of the record object (listing only)
 */
struct dp_record {
	char id[65];
	char *name;
	char *namespace;
	char *cluster;
	char *phase;
	char *spec;
	struct dp_label *labels;
	size_t nlabels;
	int64_t time_start, time_end;
	char *hostname;
	uint64_t objects, archive_bytes, secrets;
	uint64_t warnings, errors;
	struct dp_record_volume *volumes;
	size_t nvolumes;
	uint64_t record_size;
	struct dp_record_chunks *chunks; /* the archive's chunks: the datapath's */
};

/**
 * dp_record_id() - the record id of a Backup: SHA-256, or in an encrypted
 * repository HMAC-SHA256 with the id key, of "ferry-backup-record", @cluster,
 * @namespace and @name, each followed by a 0 byte (FORMAT.md). The same
 * Backup always has the same id, so a restarted controller finds its record.
 * @id: 65 bytes. Return: 0; -ENOKEY; -EINVAL (a name too long or empty).
 */
int dp_record_id(const struct dp_repo *repo, const char *cluster, const char *namespace,
		 const char *name, char *id);

/**
 * dp_record_put() - write the record of a finished Backup, last
 * @rec:     what it says (@rec->id, @record_size and the archive counters
 *           are ignored: the id is computed, the counters are @a's)
 * @a:       the archive, finished (NULL: no objects); borrowed
 * @id:      if not NULL, receives the record's id (65 bytes)
 *
 * Every volume's snapshot must exist in the repository. A record is written
 * once: one that exists is left as it is.
 * Return: 0; -EEXIST (there is a record of this Backup already); -ENOENT (a
 * volume's snapshot is not in the repository); -EINVAL (a field out of its
 * range, a spec that is not a JSON object, an archive not finished);
 * -ENOKEY; store errors; dp_last_error() says which.
 */
int dp_record_put(struct dp_repo *repo, const struct dp_record *rec, const struct dp_archive *a,
		  char *id);

/**
 * dp_record_list() - every record of the repository, sorted by time_end then id
 * @out: free with dp_record_list_free()
 *
 * A record that cannot be read or decoded is skipped with a warning (check
 * reports it).
 * Return: 0; -ENOKEY; store errors.
 */
int dp_record_list(struct dp_repo *repo, struct dp_record **out, size_t *n);
void dp_record_list_free(struct dp_record *recs, size_t n);

/**
 * dp_record_get() - one record
 * @spec: a full record id, a unique prefix of >= 8 hex digits, or a Backup's
 *        name (with @namespace and @cluster narrowing a name down when not
 *        NULL)
 * @out:  free with dp_record_free()
 * Return: 0; -ENOENT; -ENOTUNIQ (several records match); -EUCLEAN (it is
 * damaged); -ENOKEY; store errors.
 */
int dp_record_get(struct dp_repo *repo, const char *spec, const char *namespace,
		  const char *cluster, struct dp_record **out);
void dp_record_free(struct dp_record *rec);

/**
 * dp_record_decode() - a record object's JSON (after opening its seal) into
 * a record: the parser dp_record_list() and dp_record_get() use, for tests
 * and fuzzing
 * @id: the id of its key (64 hex digits), which the record must name
 * Return: 0; -EBADMSG (malformed, a field missing or out of range, another
 * id); -EPROTONOSUPPORT (another version); -ENOMEM.
 */
int dp_record_decode(const char *json, size_t len, const char *id, struct dp_record **out);

/*
 * Called with each object of an archive, in order: @obj is @len bytes of its
 * JSON (no newline; NUL-terminated after @len), valid during the call. A
 * non-zero return stops the reading with that value.
 */
typedef int (*dp_archive_object_fn)(void *arg, const char *obj, size_t len);

/**
 * dp_archive_read() - the objects of @rec's archive, in order
 *
 * Every chunk is verified (its id, its length) and the whole stream against
 * the record's SHA-256 and counts before the last object is handed over: a
 * caller that applies objects as they come must still treat a failure as
 * a failure. Holds a shared lock.
 * Return: 0; -EUCLEAN (damage: a missing or bad chunk, another checksum);
 * @fn's non-zero return; -ENOKEY; store errors.
 */
int dp_archive_read(struct dp_repo *repo, const struct dp_record *rec, dp_archive_object_fn fn,
		    void *arg);

/**
 * dp_record_forget() - delete the records @ids (full ids), then their logs
 * (dp_log_forget()); their archives' chunks go at the next prune. The
 * volumes' snapshots stay (forget them with dp_forget()). Holds an
 * exclusive lock.
 * @deleted: how many records existed and were deleted
 * Return: 0; -EBUSY; store errors.
 */
int dp_record_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted);

/**
 * dp_record_copy() - copy the record @rec of @from (dp_record_list(),
 * dp_record_get()) into @to, so that a cluster reading @to (its backup sync)
 * finds the Backup: its archive read from @from and written into @to (chunks
 * @to has are not stored again; other keys are no obstacle), the Backup's log
 * if it has one, then the record, last, with every field of @rec. Its id in
 * @to is @to's dp_record_id() of the same Backup: the same id with shared
 * keys. Every volume's snapshot must be in @to first (dp_copy_start()).
 * @id:     receives the record's id in @to (65 bytes), or NULL
 * @copied: false when @to had the record already (left as it is)
 * Return: 0; -ENOENT (a volume's snapshot is not in @to); -EPERM (the
 * archive holds Secrets, @from is encrypted and @to is not: nothing is
 * written); -EUCLEAN (the archive is damaged in @from); -ENOKEY; -EBUSY;
 * store errors; dp_last_error() says which.
 */
int dp_record_copy(struct dp_repo *from, struct dp_repo *to, const struct dp_record *rec, char *id,
		   bool *copied);

/* ------------------------------------------------------------------ logs */

/*
 * The log of a cluster's Backup, and of each Restore of it, kept beside its
 * record (FORMAT.md "Logs"): logs/<record id> and logs/<record id>.<restore
 * id>. A log is UTF-8 text lines as its writer composed them, stored as one
 * Zstandard frame, sealed in an encrypted repository. It is written before
 * the record (a Backup's record stays the last thing of it written), whole
 * at once; a second write of the same log replaces it (a run that died
 * between its log and its record writes it again when it ends). Forgetting a
 * record forgets its logs; dp_log_forget() forgets those of a record that was
 * never written (a Backup that failed).
 */
#define DP_LOG_MAX	(16u << 20) /* bytes of a log object (compressed, sealed) */
#define DP_LOG_TEXT_MAX (64u << 20) /* bytes of a log's text */

/**
 * dp_log_put() - write the log of a Backup or of a Restore of it
 * @record_id:    the Backup's record id (dp_record_id(): 64 lowercase hex
 *                digits); its record need not exist (yet, or ever)
 * @restore_ns, @restore_name: the Restore's namespace and name; NULL
 *                @restore_name: the Backup's own log
 * @cluster:      the Restore's cluster id (its kube-system namespace's UID);
 *                unused for the Backup's own log
 * @text:         @len bytes, borrowed for the call; no NUL byte
 *
 * Holds no lock (prune never deletes a log). An existing log of the same
 * name is replaced.
 * Return: 0; -EINVAL (not a record id, a name empty or too long, a NUL byte,
 * over DP_LOG_TEXT_MAX); -EFBIG (over DP_LOG_MAX once compressed); -ENOKEY;
 * -ENOMEM; store errors (dp_last_error() says which).
 */
int dp_log_put(struct dp_repo *repo, const char *record_id, const char *restore_ns,
	       const char *restore_name, const char *cluster, const char *text, size_t len);

/**
 * dp_log_get() - read a log back (arguments as dp_log_put()'s)
 * @text: receives the text, malloc()ed and NUL-terminated after *@len
 *        bytes; the caller frees it
 * Return: 0; -ENOENT (no such log: a Backup written before logs were, one
 * still running, or a Restore that has not ended); -EUCLEAN (it does not
 * open or decode: damaged, or of another repository); -EINVAL; -ENOKEY;
 * -ENOMEM; store errors.
 */
int dp_log_get(struct dp_repo *repo, const char *record_id, const char *restore_ns,
	       const char *restore_name, const char *cluster, char **text, size_t *len);

/**
 * dp_log_decode() - a log object's bytes (after opening its seal) into its
 * text: exactly one Zstandard frame that says its size, at most
 * DP_LOG_TEXT_MAX, with no NUL byte. The parser dp_log_get() uses; for
 * tests and fuzzing (in an unencrypted repository nothing seals the object).
 * @text: as dp_log_get()'s
 * Return: 0; -EBADMSG; -ENOMEM.
 */
int dp_log_decode(const void *obj, size_t len, char **text, size_t *tlen);

/**
 * dp_log_forget() - delete every log of the record @record_id: its
 * Backup's and its Restores' (every version, on a versioned bucket), under
 * an exclusive lock. dp_record_forget() calls it; call it for a Backup
 * whose record was never written.
 * @deleted: incremented by the logs deleted
 * Return: 0; -EINVAL (not a record id); -EBUSY; store errors.
 */
int dp_log_forget(struct dp_repo *repo, const char *record_id, size_t *deleted);

/* -------------------------------------------------------------- volumes */

/**
 * dp_volume_identity() - the stable name of a source when --volume is not given
 * @path: block device or file
 * @buf:  receives "file:<realpath>" for a regular file or a loop device (its
 *        backing file), "dev:<by-id name>" for a device with a
 *        /dev/disk/by-id link, else "dev:<kernel name>"
 *
 * Return: 0; -ENOENT; -ENAMETOOLONG.
 */
int dp_volume_identity(const char *path, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_DP_H */
