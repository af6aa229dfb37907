/* SPDX-License-Identifier: MIT */
/*
 * k8s/k8s.h - ferry's Kubernetes API client: the manual.
 *
 * Uses none of ferry's other modules (libcurl, cJSON, OpenSSL and libyaml
 * only), and no cJSON or CURL type crosses this header. A typical controller:
 *
 *   struct k8s_client *c;
 *   struct k8s_err err;
 *
 *   k8s_client_open(NULL, NULL, &c, &err);          kubeconfig or in-cluster
 *   k8s_informer_new(c, &k8s_pods, &iopts, &inf, &err);  list + watch + cache;
 *                                                   handlers k8s_wq_add() keys
 *   k8s_informer_wait_synced(inf, 30000);
 *   for (;;) {                                      each worker thread:
 *           k8s_wq_get(wq, &key);
 *           obj = k8s_informer_get(inf, key);       a copy of the cached object
 *           ret = reconcile(obj);                   k8s_get/_patch/_apply/...
 *           ret ? k8s_wq_add_rate_limited(wq, key) : k8s_wq_forget(wq, key);
 *           k8s_wq_done(wq, key);
 *   }
 *
 * Errors are 0 or -errno, and every call that talks to the API server fills
 * a caller-owned struct k8s_err (never a thread-local) with the detail. The
 * errnos, from the one table in errmap.c (README.md lists it whole):
 *   -EINVAL        a bad argument; a kubeconfig that does not parse or lacks
 *                  what it names (context, cluster, user); 400 BadRequest;
 *                  422 Invalid (err.msg lists the causes)
 *   -ENOENT        404 NotFound; a file the configuration names is missing
 *   -EEXIST        409 AlreadyExists (create)
 *   -EAGAIN        409 Conflict: the object changed since it was read (update
 *                  with a stale resourceVersion, a failed JSON patch "test"):
 *                  read it again and re-apply (k8s_update_retry() does);
 *                  also 429/5xx that outlasted the retries
 *   -EBUSY         server-side apply conflict: another field manager owns a
 *                  field (err.msg names it); apply with force only if ferry
 *                  owns the object
 *   -ESTALE        410 Gone/Expired: the resourceVersion or continue token is
 *                  too old; list again (informers and k8s_list() do)
 *   -EACCES        401: the credentials were refused (after one refresh:
 *                  token file re-read, exec plugin re-run); an exec plugin
 *                  that fails
 *   -EPERM         403 Forbidden: RBAC denies the verb on the resource
 *   -EOPNOTSUPP    405, 415 (strategic merge on a custom resource)
 *   -EFBIG         413, or an answer larger than the client accepts
 *   -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH, -ECONNRESET   the network
 *                  (err.msg names the server and the timeout)
 *   -EPROTO        TLS: the server's certificate is not signed by the CA
 *                  the configuration gives (err.msg names the CA file)
 *   -ENOLCK        a write refused because the leader lease it is fenced
 *                  with (k8s_lease_fence()) was not renewed in time
 *   -ECANCELED     the client or the informer is closing
 *   -EDEADLK       a blocking call on the client's own I/O thread (an
 *                  informer handler): refused in release builds, an
 *                  assertion in debug ones
 *   -ENOMEM        out of memory
 * err.exit is the CLI exit class of the failure (enum k8s_exit: the numbers
 * of ferry's exit-code table), err.reason the Status reason ("NotFound") or
 * the transport's ("ConnectionRefused"), err.http the status (0: none came).
 *
 * Retries inside the client: 429 (waiting out Retry-After), 500/502/503/504
 * and dropped connections of reads, with capped exponential backoff and
 * jitter within the call's deadline; a refused or timed-out connect at most
 * 3 times; 401 once after refreshing the credentials (token file, plugin). Never retried: 400, 403, 404,
 * 409, 410, 422. Requests pass a client-side rate limit first (client-go's
 * 5 qps, burst 10; k8s_client_opts).
 *
 * Threads: a client may be used from any number of threads at once. One
 * thread of its own drives all its HTTP requests and watches (one libcurl
 * multi handle, kept-alive connections, HTTP/2 multiplexing where the
 * server offers it). The blocking calls must not be made on that thread,
 * so never from an informer handler. Informer handlers run on that thread:
 * they must be quick (enqueue a key) and must not block. A work queue and a
 * lease have their own locks and may be used from any thread.
 *
 * Secrets (tokens, client keys, exec plugin output) are never logged and
 * are wiped (OPENSSL_cleanse) when freed. TLS is verified unless the
 * kubeconfig says insecure-skip-tls-verify, which is warned about loudly.
 */
#ifndef FERRY_K8S_H
#define FERRY_K8S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ logging */

/* Log levels, the same numbers in every ferry module. */
enum {
	K8S_LOG_ERR = 0,
	K8S_LOG_WARN = 1,
	K8S_LOG_INFO = 2,
	K8S_LOG_DEBUG = 3,
};

/* Log sink: @msg is one line without a trailing newline. */
typedef void (*k8s_log_fn)(int level, const char *msg);

/**
 * k8s_set_log() - route the module's log lines to @fn (NULL: discard them)
 *
 * Call before opening clients. The module logs only warnings a user must see
 * (insecure-skip-tls-verify, a leader that lost its lease) and debug lines;
 * failures are returned, not logged. No line ever holds a secret.
 */
void k8s_set_log(k8s_log_fn fn);

/* ------------------------------------------------------------ errors */

/* The CLI exit class of a failure: the numbers of ferry's exit-code table. */
enum k8s_exit {
	K8S_EXIT_OK = 0,
	K8S_EXIT_FAILURE = 1,	/* anything else */
	K8S_EXIT_USAGE = 2,	/* bad configuration or request: fix the input */
	K8S_EXIT_NOT_FOUND = 3, /* no such object (or file) */
	K8S_EXIT_REFUSED = 6,	/* exists already, changed meanwhile, owned by another */
	K8S_EXIT_ACCESS = 8,	/* credentials refused, RBAC denies, TLS not trusted */
	K8S_EXIT_NETWORK = 9,	/* the API server cannot be reached or stays busy */
};

/**
 * struct k8s_err - what went wrong, for a person and for a condition
 * @code:   the call's return value (0 or -errno)
 * @http:   the HTTP status of the last answer, 0 if none came
 * @exit:   enum k8s_exit
 * @reason: the Status reason ("NotFound", "Conflict", "Expired") or, with
 *          no answer, the transport's ("ConnectionRefused", "Timeout",
 *          "TLSUntrusted"), "" when none
 * @msg:    one line naming what was asked, of which server (or file), and
 *          the fix; never a secret
 *
 * Owned by the caller; calls clear it on entry. Detail for logs and status
 * conditions: decide on @code, never on the text.
 */
struct k8s_err {
	int code;
	long http;
	int exit;
	char reason[64];
	char msg[256];
};

/**
 * k8s_err_set() - fill @err with a failure of the caller's own (a
 * reconciler's, whose @err goes into a condition): cleared, then @code,
 * @reason (NULL or "": none) and the message; @http and @exit stay 0 (no answer,
 * not a command's exit class)
 *
 * Return: @code.
 */
int k8s_err_set(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------ objects
 *
 * An API object (or any JSON value within one) is a struct k8s_obj. Roots
 * come from k8s_obj_parse(), k8s_obj_new*(), k8s_obj_dup() and the calls
 * that return objects; the caller owns a root and frees it with
 * k8s_obj_free(). k8s_obj_at() and the iteration calls return values inside
 * a root: borrowed, valid until that root is changed or freed, never freed
 * on their own.
 *
 * Paths are JSON Pointers (RFC 6901), the syntax JSON patch uses:
 * "/spec/selector/matchLabels", "/spec/containers/0/image"; "~1" stands for
 * '/' and "~0" for '~' in a key ("/metadata/labels/app.kubernetes.io~1name");
 * "" is the value itself. k8s_obj_key() takes one literal key instead.
 * Numbers are doubles inside: integers are exact up to 2^53.
 */
struct k8s_obj;

/**
 * k8s_ptr_join() - the path @base + "/" + @key in @out, '~' and '/' of the
 * literal key @key escaped ("/metadata/labels" + "app.kubernetes.io/name")
 * Return: 0; -ENAMETOOLONG (@out too small: it is then "").
 */
int k8s_ptr_join(char *out, size_t len, const char *base, const char *key);

enum k8s_type {
	K8S_T_ABSENT = 0,
	K8S_T_NULL,
	K8S_T_BOOL,
	K8S_T_NUMBER,
	K8S_T_STRING,
	K8S_T_ARRAY,
	K8S_T_OBJECT,
};

/**
 * k8s_obj_parse() - a JSON document as an object tree
 * @json: @len bytes, borrowed
 * @out:  the root, freed with k8s_obj_free()
 *
 * Return: 0; -EINVAL (not JSON, or nested deeper than 1000); -ENOMEM.
 */
int k8s_obj_parse(const char *json, size_t len, struct k8s_obj **out);

/**
 * k8s_obj_parse_yaml() - a YAML document (one; a manifest, a sample) as a tree
 *
 * Plain scalars true/false, null/~ and numbers become JSON's; the rest are
 * strings. Anchors and aliases are expanded; a document may hold at most
 * 1 000 000 values, aliases counted as expanded.
 * Return: as k8s_obj_parse(); -EINVAL names the line in @err->msg.
 */
int k8s_obj_parse_yaml(const char *yaml, size_t len, struct k8s_obj **out, struct k8s_err *err);

/* k8s_obj_new() - an empty JSON object {}; k8s_obj_new_array() - []. 0 or -ENOMEM. */
int k8s_obj_new(struct k8s_obj **out);
int k8s_obj_new_array(struct k8s_obj **out);

struct k8s_resource;

/**
 * k8s_obj_new_kind() - {apiVersion, kind, metadata: {name, namespace}} of @r
 * @ns:   NULL for cluster-scoped kinds
 * @name: NULL to set none (generateName, or a name set later)
 */
int k8s_obj_new_kind(const struct k8s_resource *r, const char *ns, const char *name,
		     struct k8s_obj **out);

/* k8s_obj_dup() - a deep copy of @o (a root of its own), NULL without memory */
struct k8s_obj *k8s_obj_dup(const struct k8s_obj *o);

/* k8s_obj_free() - free a root; NULL is a no-op. Never a borrowed value. */
void k8s_obj_free(struct k8s_obj *o);

/**
 * k8s_obj_json() - @o as compact JSON, malloc()ed (free()), NULL without memory
 */
char *k8s_obj_json(const struct k8s_obj *o);

/**
 * k8s_obj_yaml() - @o as a YAML document (block style, as `kubectl -o yaml`
 * prints), malloc()ed (free()), NULL without memory. Strings that a reader
 * would take for another type ("true", "0123", "", a timestamp) are
 * quoted, so k8s_obj_parse_yaml() reads back the same tree. A number that
 * is not finite (YAML's 1e999 makes one) is null, as k8s_obj_json() has it.
 * NULL also for a string that is not UTF-8 (libyaml refuses it).
 */
char *k8s_obj_yaml(const struct k8s_obj *o);

/* k8s_obj_equal() - whether two values are the same JSON (key order ignored) */
bool k8s_obj_equal(const struct k8s_obj *a, const struct k8s_obj *b);

/* --- reading (all take NULL @o and return "absent") */

/* k8s_obj_at() - the value at @path, borrowed; NULL if absent or @path is bad */
const struct k8s_obj *k8s_obj_at(const struct k8s_obj *o, const char *path);
/* k8s_obj_key() - member @key of an object, borrowed; NULL if absent */
const struct k8s_obj *k8s_obj_key(const struct k8s_obj *o, const char *key);
/* k8s_obj_type() - the type of the value at @path (K8S_T_ABSENT if none) */
enum k8s_type k8s_obj_type(const struct k8s_obj *o, const char *path);

/* k8s_obj_str() - the string at @path, borrowed; NULL if absent or not a string */
const char *k8s_obj_str(const struct k8s_obj *o, const char *path);
/**
 * k8s_obj_int() - the integer at @path
 * Return: 0; -ENOENT (absent or null); -EINVAL (not a number, not integral,
 * or beyond ±2^53).
 */
int k8s_obj_int(const struct k8s_obj *o, const char *path, int64_t *out);
/* k8s_obj_bool() - as k8s_obj_int() for true/false */
int k8s_obj_bool(const struct k8s_obj *o, const char *path, bool *out);
/* k8s_obj_num() - as k8s_obj_int() for any number */
int k8s_obj_num(const struct k8s_obj *o, const char *path, double *out);

/**
 * k8s_obj_len() - members of the object or elements of the array at @path
 * Return: the count; 0 for anything else, or absent.
 */
size_t k8s_obj_len(const struct k8s_obj *o, const char *path);

/*
 * Iteration over an array's elements or an object's members, borrowed:
 *
 *   for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(o, "/spec/ports"));
 *        c; c = k8s_obj_next(c))
 *           port = k8s_obj_int(c, "/port", &p);
 *
 * k8s_obj_name() is a member's key (NULL for array elements).
 */
const struct k8s_obj *k8s_obj_first(const struct k8s_obj *o);
const struct k8s_obj *k8s_obj_next(const struct k8s_obj *o);
const char *k8s_obj_name(const struct k8s_obj *member);

/* --- writing: @o must be a root or inside one the caller owns
 *
 * Setters create the objects on the way ("/spec/selector/app" on {} makes
 * {"spec":{"selector":{"app":…}}}) and replace what is there. A last
 * component "-" appends to an array ("/spec/containers/-"). Arrays are never
 * created on the way, and an index must exist (or be "-").
 * Return: 0; -EINVAL (bad path, a step through a non-container, an index out
 * of range); -ENOMEM. On failure @o is unchanged.
 */
int k8s_obj_set_str(struct k8s_obj *o, const char *path, const char *v);
int k8s_obj_set_int(struct k8s_obj *o, const char *path, int64_t v);
int k8s_obj_set_num(struct k8s_obj *o, const char *path, double v);
int k8s_obj_set_bool(struct k8s_obj *o, const char *path, bool v);
/* null: in a merge patch, "delete this field" */
int k8s_obj_set_null(struct k8s_obj *o, const char *path);
/* an empty object / array at @path */
int k8s_obj_set_empty(struct k8s_obj *o, const char *path, enum k8s_type type);
/**
 * k8s_obj_set() - put @v at @path
 * @v: a root, transferred on success (the caller still owns it on error)
 */
int k8s_obj_set(struct k8s_obj *o, const char *path, struct k8s_obj *v);
/* k8s_obj_set_copy() - put a deep copy of @v (borrowed) at @path */
int k8s_obj_set_copy(struct k8s_obj *o, const char *path, const struct k8s_obj *v);
/* k8s_obj_set_json() - parse @json (borrowed) and put it at @path */
int k8s_obj_set_json(struct k8s_obj *o, const char *path, const char *json);
/**
 * k8s_obj_remove() - remove the value at @path
 * Return: 0; -ENOENT (nothing there); -EINVAL (bad path).
 */
int k8s_obj_remove(struct k8s_obj *o, const char *path);

/* --- metadata (literal keys: no escaping of '/' in label keys) */

const char *k8s_obj_get_name(const struct k8s_obj *o);
const char *k8s_obj_get_ns(const struct k8s_obj *o);
const char *k8s_obj_get_uid(const struct k8s_obj *o);
const char *k8s_obj_get_rv(const struct k8s_obj *o);
/* the label or annotation @key, borrowed; NULL if absent */
const char *k8s_obj_label(const struct k8s_obj *o, const char *key);
const char *k8s_obj_annotation(const struct k8s_obj *o, const char *key);
/* set (@v NULL: remove) a label or an annotation; 0, -EINVAL, -ENOMEM */
int k8s_obj_set_label(struct k8s_obj *o, const char *key, const char *v);
int k8s_obj_set_annotation(struct k8s_obj *o, const char *key, const char *v);
/**
 * k8s_obj_set_owner() - add @owner as a controller ownerReference of @o
 * (apiVersion, kind, name, uid, controller: true, blockOwnerDeletion: true)
 *
 * Owner references never cross namespaces: a real API server deletes such
 * a dependent at once. Return: 0; -EINVAL (@owner lacks uid/name/kind, or
 * lives in another namespace than @o); -ENOMEM.
 */
int k8s_obj_set_owner(struct k8s_obj *o, const struct k8s_obj *owner);

/* Big enough for "namespace/name" of any object. */
#define K8S_KEY_SIZE 320

/**
 * k8s_obj_key_of() - the cache key of @o: "namespace/name", or "name" for
 * cluster-scoped objects (client-go's MetaNamespaceKeyFunc)
 * Return: 0; -EINVAL (no name, or too long).
 */
int k8s_obj_key_of(const struct k8s_obj *o, char key[K8S_KEY_SIZE]);

/**
 * k8s_obj_managers() - the field managers that own the field at @path
 * @path: a JSON Pointer into the object ("/spec/replicas")
 * @fn:   called once per manager owning it (from metadata.managedFields,
 *        fieldsV1), with its name and operation ("Apply" or "Update");
 *        return 0 to go on, anything else to stop with that value
 *
 * How ferry finds out that an HPA, a GitOps tool or kubectl owns a field it
 * means to write (DESIGN.md "Ownership"). A field is owned by a manager that
 * owns it or any of its parents' entries "." (the whole value).
 * Return: 0; the value @fn stopped with.
 */
typedef int (*k8s_manager_fn)(void *arg, const char *manager, const char *operation);
int k8s_obj_managers(const struct k8s_obj *o, const char *path, k8s_manager_fn fn, void *arg);

/* ------------------------------------------------------------ values */

/**
 * k8s_quantity_parse() - a resource.Quantity ("100m", "1.5Gi", "2e3", "1k")
 * @milli: the value × 1000, rounded up (CPU in millicores)
 *
 * Decimal SI (m k M G T P E), binary (Ki Mi Gi Ti Pi Ei) and exponents.
 * Return: 0; -EINVAL (not a quantity); -ERANGE (beyond int64 in milli units).
 */
int k8s_quantity_parse(const char *s, int64_t *milli);
/* k8s_quantity_value() - the value rounded up to an integer (bytes); as above */
int k8s_quantity_value(const char *s, int64_t *value);

/* "2006-01-02T15:04:05.000000Z" and the NUL */
#define K8S_TIME_SIZE 32

/**
 * k8s_time_parse() - RFC 3339 ("…Z", "…+02:00", fractions) to ns since the epoch
 * Return: 0; -EINVAL (not RFC 3339, or outside 1678-2262, what int64 ns hold).
 */
int k8s_time_parse(const char *s, int64_t *ns);
/**
 * k8s_time_format() - ns since the epoch as RFC 3339 in UTC
 * @micro: true for metav1.MicroTime (6 decimals, Leases, Events), false for
 *         metav1.Time (whole seconds)
 */
void k8s_time_format(int64_t ns, bool micro, char buf[K8S_TIME_SIZE]);
/* k8s_now_ns() - CLOCK_REALTIME in ns (what timestamps are written with) */
int64_t k8s_now_ns(void);

/*
 * Label selectors, the string form lists take ("app=web,tier!=cache,
 * env in (prod,stage),!legacy"), parsed to test objects locally (the
 * informer's cache) with the API server's semantics.
 */
struct k8s_selector;

/**
 * k8s_selector_parse() - parse @s ("" or NULL selects everything)
 * Return: 0; -EINVAL (syntax; @err->msg says where); -ENOMEM.
 */
int k8s_selector_parse(const char *s, struct k8s_selector **out, struct k8s_err *err);
/* k8s_selector_match() - whether @labels (a labels map, or NULL) is selected */
bool k8s_selector_match(const struct k8s_selector *sel, const struct k8s_obj *labels);
void k8s_selector_free(struct k8s_selector *sel);

/**
 * k8s_selector_string() - a metav1.LabelSelector ({matchLabels,
 * matchExpressions}) or a plain labels map (a Service's spec.selector) in
 * the string form lists take
 * @sel: borrowed; NULL or {} selects everything ("")
 * @out: malloc()ed, the caller frees
 *
 * Return: 0; -EINVAL (an unknown operator, values missing for In/NotIn);
 * -ENOMEM.
 */
int k8s_selector_string(const struct k8s_obj *sel, char **out);

/* ------------------------------------------------------------ configuration */

struct k8s_config;

/**
 * struct k8s_config_opts - where the connection settings come from
 * @sz:         sizeof(struct k8s_config_opts), for growth (libbpf style)
 * @kubeconfig: --kubeconfig: this file only. NULL: the files KUBECONFIG
 *              lists (':'-separated, merged: the first file that names a
 *              cluster, user or context wins, and the first current-context
 *              set), else ~/.kube/config if it exists, else in-cluster
 * @context:    --context (default: current-context)
 * @ns:         -n: the namespace, over the context's
 * @in_cluster: the service account only, even if a kubeconfig exists
 * @sa_dir:     the service account's files (default
 *              /var/run/secrets/kubernetes.io/serviceaccount)
 * @data, @data_len: a kubeconfig held in memory (a Secret's key), read
 *              instead of any file; it must be self-contained: a user's
 *              exec plugin, auth-provider, tokenFile, client-certificate or
 *              client-key and a cluster's certificate-authority (files and
 *              programs of the reader's machine) are refused (-EINVAL,
 *              reason NotSelfContained, naming the inline field to use)
 * @data_name:  what @data is, for messages ("Secret ferry-system/src key
 *              kubeconfig")
 *
 * In-cluster: KUBERNETES_SERVICE_HOST (an IPv6 address is bracketed) and
 * KUBERNETES_SERVICE_PORT, @sa_dir/token (re-read every minute and after a
 * 401: bound tokens expire in an hour), ca.crt, namespace.
 *
 * A kubeconfig's user may give a token, a tokenFile (re-read as in-cluster),
 * a client certificate and key (files or -data), username/password, or an
 * exec plugin (client.authentication.k8s.io/v1 or v1beta1: run when first
 * needed, with KUBERNETES_EXEC_INFO, its env and args; its credential is
 * kept until its expirationTimestamp and it is run again after a 401).
 * Relative paths are resolved against the directory of the file that named
 * them. interactiveMode Always and auth-provider are refused (ferry runs
 * unattended). certificate-authority(-data), tls-server-name and proxy-url
 * of the cluster are honoured; insecure-skip-tls-verify only with a warning.
 */
struct k8s_config_opts {
	size_t sz;
	const char *kubeconfig;
	const char *context;
	const char *ns;
	bool in_cluster;
	const char *sa_dir;
	const char *data;
	size_t data_len;
	const char *data_name;
};

/**
 * k8s_config_load() - resolve the settings the options point at
 * @opts: NULL for defaults; borrowed
 * @out:  freed with k8s_config_free() (or handed to k8s_client_new())
 * @err:  on failure, one line naming the file (and line) or the variable and
 *        the fix: "kubeconfig /x/config: context 'prod' not found (contexts:
 *        dev, kbox): use --context"
 *
 * Reads files; never runs an exec plugin and never touches the network.
 * Return: 0; -ENOENT (no kubeconfig and not in a cluster; a file it names is
 * missing); -EINVAL (does not parse; a context, cluster or user missing; no
 * server; a refused setting); -EACCES (a file cannot be read); -ENOMEM.
 */
int k8s_config_load(const struct k8s_config_opts *opts, struct k8s_config **out,
		    struct k8s_err *err);

/* k8s_config_free() - NULL is a no-op; secrets are wiped */
void k8s_config_free(struct k8s_config *cfg);

/* The resolved namespace (-n, the context's, in-cluster's, else "default"). */
const char *k8s_config_ns(const struct k8s_config *cfg);
/* The server URL, for messages ("https://10.0.0.1:443"). */
const char *k8s_config_server(const struct k8s_config *cfg);
/* What the settings came from: "kubeconfig /root/.kube/config, context kbox", "in-cluster". */
const char *k8s_config_source(const struct k8s_config *cfg);

/* ------------------------------------------------------------ the client */

struct k8s_client;

/**
 * struct k8s_client_opts - zero means "default"
 * @sz:                 sizeof(struct k8s_client_opts)
 * @qps, @burst:        client-side rate limit of requests (watches included,
 *                      as client-go counts them): 5 qps, burst 10; @qps < 0
 *                      disables it
 * @timeout_ms:         deadline of one call, retries included (60 s); a
 *                      watch has none (its timeoutSeconds ends it)
 * @connect_timeout_ms: one connection attempt (10 s)
 * @max_inflight:       requests at once, watches not counted (32)
 * @user_agent:         "ferry/<version>" by default
 * @http1:              never HTTP/2 (default: HTTP/2 where TLS ALPN offers it)
 */
struct k8s_client_opts {
	size_t sz;
	double qps;
	unsigned int burst;
	unsigned int timeout_ms;
	unsigned int connect_timeout_ms;
	unsigned int max_inflight;
	const char *user_agent;
	bool http1;
};

/**
 * k8s_client_new() - a client over @cfg; starts its I/O thread
 * @cfg:  transferred on success (freed with the client); on error the
 *        caller still owns it
 * @opts: NULL for defaults; borrowed
 *
 * Touches no network: the first request reports an unreachable server.
 * Return: 0; -ENOMEM; -EIO (curl could not start).
 */
int k8s_client_new(struct k8s_config *cfg, const struct k8s_client_opts *opts,
		   struct k8s_client **out, struct k8s_err *err);

/* k8s_client_open() - k8s_config_load() + k8s_client_new(); errors of both */
int k8s_client_open(const struct k8s_config_opts *copts, const struct k8s_client_opts *opts,
		    struct k8s_client **out, struct k8s_err *err);

/**
 * k8s_client_free() - stop the I/O thread and free; NULL is a no-op
 *
 * Informers and leases using @c must be freed first; blocking calls still
 * running on other threads return -ECANCELED.
 */
void k8s_client_free(struct k8s_client *c);

/* The configuration the client runs with (borrowed, for k8s_config_ns() etc.). */
const struct k8s_config *k8s_client_config(const struct k8s_client *c);

/* Counters, for tests and metrics. */
struct k8s_client_stats {
	uint64_t requests;     /* attempts sent, retries and watches included */
	uint64_t retries;      /* attempts after the first */
	uint64_t http2;	       /* answers that came over HTTP/2 */
	uint64_t throttled_ms; /* time requests waited for the rate limit */
	uint64_t reauth;       /* credentials refreshed after a 401 */
	uint64_t connections;  /* connections opened */
};
void k8s_client_stats(const struct k8s_client *c, struct k8s_client_stats *st);

/* ------------------------------------------------------------ resources
 *
 * What a URL names: /api/v1/namespaces/NS/pods/NAME, /apis/GROUP/VERSION/…
 * The kinds ferry touches are defined by k8s/ (one file per kind); a custom
 * resource is described by the caller:
 *
 *   static const struct k8s_resource backups =
 *           K8S_RESOURCE("ferry.io", "v1alpha1", "backups", "Backup", true);
 */
struct k8s_resource {
	const char *group;    /* "" for the core group */
	const char *version;  /* "v1" */
	const char *resource; /* plural, lower case: "pods" */
	const char *kind;     /* "Pod" */
	bool namespaced;
};

#define K8S_RESOURCE(g, v, res, k, nsd)                                                            \
	{                                                                                          \
		.group = (g), .version = (v), .resource = (res), .kind = (k), .namespaced = (nsd)  \
	}

extern const struct k8s_resource k8s_pods, k8s_nodes, k8s_namespaces, k8s_services,
	k8s_endpointslices, k8s_configmaps, k8s_secrets, k8s_serviceaccounts, k8s_pvcs, k8s_pvs,
	k8s_deployments, k8s_statefulsets, k8s_leases, k8s_events, k8s_volumesnapshots,
	k8s_volumesnapshotcontents, k8s_volumesnapshotclasses, k8s_csinodes, k8s_tokenreviews;

/* ------------------------------------------------------------ calls */

/**
 * struct k8s_call - per-call parameters; NULL or zeroes for none
 * @label_selector, @field_selector: list, watch, informers
 *                  ("spec.nodeName=node-1" is what an agent watches)
 * @resource_version: get/list: "" a consistent read, "0" any cached state
 * @limit:          list page size (500, as kubectl); pages follow "continue"
 * @dry_run:        writes: dryRun=All (validated and answered, not stored)
 * @field_manager:  writes: fieldManager (server-side apply needs one)
 * @force:          server-side apply: take over fields others own
 * @propagation:    delete: "Background", "Foreground" or "Orphan"
 * @pre_uid, @pre_rv: delete preconditions (uid, resourceVersion)
 * @subresource:    "status", "scale" (or NULL: the object itself)
 * @timeout_ms:     this call's deadline, retries included (0: the client's)
 *
 * Compiled with the caller, so not sized: k8s/ is a static library of ferry.
 */
struct k8s_call {
	const char *label_selector;
	const char *field_selector;
	const char *resource_version;
	unsigned int limit;
	bool dry_run;
	const char *field_manager;
	bool force;
	const char *propagation;
	const char *pre_uid;
	const char *pre_rv;
	const char *subresource;
	unsigned int timeout_ms;
};

/*
 * The blocking calls. All of them:
 *   @c:    the client; never called on its I/O thread (informer handlers)
 *   @r:    borrowed
 *   @ns:   the namespace of a namespaced kind; NULL: the configuration's
 *          (k8s_config_ns()); ignored for cluster-scoped kinds. k8s_list()
 *          and informers take "" for all namespaces
 *   @call: NULL or borrowed
 *   @out:  where given and not NULL, the object the server answered with,
 *          a root the caller frees
 *   @err:  filled in; on success err->code is 0
 * and return 0 or -errno as the table at the top says.
 */

/* k8s_get() - GET one object (or its subresource: call->subresource) */
int k8s_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	    const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err);

/*
 * The result of a list: the items of every page, and the resourceVersion to
 * watch from. Items are borrowed from the list unless taken.
 */
struct k8s_items;
size_t k8s_items_len(const struct k8s_items *l);
const struct k8s_obj *k8s_items_at(const struct k8s_items *l, size_t i);
/* k8s_items_take() - item @i as a root of the caller's; its slot becomes NULL */
struct k8s_obj *k8s_items_take(struct k8s_items *l, size_t i);
/* the list's metadata.resourceVersion */
const char *k8s_items_rv(const struct k8s_items *l);
void k8s_items_free(struct k8s_items *l);

/**
 * k8s_list() - every object that matches, all pages
 *
 * Pages of call->limit follow metadata.continue; all share the first page's
 * resourceVersion. A continue token that has expired (410) starts the list
 * over once, without it. Return: 0 and *@out; errors above.
 */
int k8s_list(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	     const struct k8s_call *call, struct k8s_items **out, struct k8s_err *err);

/**
 * k8s_create() - POST @obj (borrowed) into @ns
 * Return: 0; -EEXIST (409 AlreadyExists); -EINVAL (422, causes in err.msg).
 */
int k8s_create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	       const struct k8s_obj *obj, const struct k8s_call *call, struct k8s_obj **out,
	       struct k8s_err *err);

/**
 * k8s_update() - PUT @obj (borrowed) over the object of its metadata.name
 *
 * With metadata.resourceVersion set (as read), the server refuses a stale
 * write: -EAGAIN (409 Conflict). Without it the write is unconditional.
 * call->subresource "status" writes the status only.
 */
int k8s_update(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	       const struct k8s_obj *obj, const struct k8s_call *call, struct k8s_obj **out,
	       struct k8s_err *err);

/*
 * k8s_mutate_fn - change @obj (as read just now) in place
 * Return: 0 to write it; K8S_UNCHANGED to write nothing (the call returns 0
 * and *@out is the object read); -errno to stop, returned by the call.
 */
#define K8S_UNCHANGED 1
typedef int (*k8s_mutate_fn)(void *arg, struct k8s_obj *obj);

/**
 * k8s_update_retry() - read, change, write; again while the write conflicts
 * @fn:  runs on this thread once per attempt (at most 8: client-go's
 *       RetryOnConflict runs 5), each time on a fresh copy just read
 *
 * The optimistic-concurrency loop: GET, @fn, PUT with the resourceVersion
 * read; a 409 Conflict (someone wrote in between) reads again after a short
 * jittered wait. call->subresource "status" reads the object and writes
 * /status. Return: 0; -EAGAIN (still conflicting after the attempts);
 * what @fn returned; errors above.
 */
int k8s_update_retry(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		     const char *name, const struct k8s_call *call, k8s_mutate_fn fn, void *arg,
		     struct k8s_obj **out, struct k8s_err *err);

enum k8s_patch {
	K8S_PATCH_MERGE,     /* application/merge-patch+json (RFC 7386): null deletes */
	K8S_PATCH_JSON,	     /* application/json-patch+json (RFC 6902): an array of ops */
	K8S_PATCH_APPLY,     /* application/apply-patch+yaml: server-side apply */
	K8S_PATCH_STRATEGIC, /* application/strategic-merge-patch+json: built-in kinds only */
};

/**
 * k8s_patch() - PATCH the object @name with @patch (borrowed)
 *
 * K8S_PATCH_JSON: a failed "test" op is -EAGAIN (read again, as a 409).
 * K8S_PATCH_APPLY: call->field_manager is required (-EINVAL without); a
 * field another manager owns is -EBUSY naming it, unless call->force.
 * K8S_PATCH_STRATEGIC on a custom resource: -EOPNOTSUPP (415).
 */
int k8s_patch(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	      enum k8s_patch type, const struct k8s_obj *patch, const struct k8s_call *call,
	      struct k8s_obj **out, struct k8s_err *err);

/**
 * k8s_apply() - server-side apply of @obj (its apiVersion, kind and name)
 * @manager: the field manager, "ferry-<capability>" by DESIGN.md
 * @force:   take over fields other managers own (only for objects ferry owns)
 *
 * k8s_patch(K8S_PATCH_APPLY) with @obj's own name. Return: as k8s_patch().
 */
int k8s_apply(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	      const struct k8s_obj *obj, const char *manager, bool force,
	      const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err);

/**
 * k8s_jsonpatch_add() - append one RFC 6902 operation to @ops (an array root)
 * @op:    "add", "remove", "replace", "test", "move" or "copy"
 * @path:  a JSON Pointer; @from for move/copy (else NULL)
 * @value: borrowed (copied); NULL for remove/move/copy
 *
 * A compare-and-swap is a "test" of the resourceVersion or of the old value
 * before a "replace". Return: 0; -EINVAL; -ENOMEM.
 */
int k8s_jsonpatch_add(struct k8s_obj *ops, const char *op, const char *path, const char *from,
		      const struct k8s_obj *value);

/**
 * k8s_delete() - DELETE the object @name
 *
 * call->propagation and call->pre_uid/pre_rv go into the DeleteOptions body
 * (a precondition that fails is -EAGAIN, 409). An object with finalizers is
 * only marked (deletionTimestamp) and stays until they are removed.
 * Return: 0 (accepted); -ENOENT (not there); errors above.
 */
int k8s_delete(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	       const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err);

/**
 * k8s_request() - any other request: discovery, /version, an aggregated API
 * @method: "GET", "POST", …; @path: "/version" (borrowed)
 * @body:   NULL or borrowed, sent as application/json
 * @out:    the JSON answer (may be NULL)
 */
int k8s_request(struct k8s_client *c, const char *method, const char *path,
		const struct k8s_obj *body, struct k8s_obj **out, struct k8s_err *err);

/* ------------------------------------------------------------ informers
 *
 * An informer keeps a local copy of every object of one resource (in one
 * namespace or all, optionally filtered by selectors) current, as client-go's
 * reflector and indexer do:
 *   1. LIST (paged), the cache becomes the list; handlers see adds, updates
 *      (resourceVersion changed) and deletes against the previous cache;
 *   2. WATCH from the list's resourceVersion with allowWatchBookmarks and a
 *      timeoutSeconds drawn from [5, 10] minutes; events update the cache and
 *      call the handlers; bookmarks only move the resourceVersion on;
 *   3. when the watch ends (timeout, a dropped connection, a server that
 *      restarted), WATCH again from the last resourceVersion seen, after a
 *      jittered backoff that grows while watches keep failing (0.8 s to 30 s)
 *      and resets after one that lasted;
 *   4. a 410 (on the request, or as an ERROR event with a Status of code 410)
 *      means that resourceVersion is compacted away: one LIST, back to 1.
 * An object that stops matching a selector arrives as DELETED.
 */
struct k8s_informer;

/*
 * Handlers, each optional, run on the client's I/O thread, in event order,
 * for the objects as cached (borrowed for the call): be quick, do not block,
 * call no blocking k8s_ function. Enqueue k8s_obj_key_of() in a work queue.
 * @del gets the last state known (after a relist: as last seen).
 */
struct k8s_handlers {
	void (*add)(void *arg, const struct k8s_obj *obj);
	void (*update)(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur);
	void (*del)(void *arg, const struct k8s_obj *last);
};

/**
 * struct k8s_informer_opts - zero means "default"
 * @sz:        sizeof(struct k8s_informer_opts)
 * @ns:        NULL or "": all namespaces
 * @label_selector, @field_selector: server-side filters
 * @page_size: list pages (500)
 * @handlers:  NULL or borrowed until k8s_informer_free(); @arg is theirs
 * @keep_managed_fields: keep metadata.managedFields in the cache. By default
 *             they are dropped (as controller-runtime's
 *             TransformStripManagedFields does): they are often the largest
 *             part of an object. Read an object with k8s_get() to see who
 *             owns what (k8s_obj_managers()).
 */
struct k8s_informer_opts {
	size_t sz;
	const char *ns;
	const char *label_selector;
	const char *field_selector;
	unsigned int page_size;
	const struct k8s_handlers *handlers;
	void *arg;
	bool keep_managed_fields;
};

/**
 * k8s_informer_new() - start an informer of @r
 * @r:    borrowed until k8s_informer_free()
 * Return: 0 (it lists in the background); -EINVAL; -ENOMEM. Failures of
 * its requests are retried for as long as it runs (k8s_informer_stats()).
 */
int k8s_informer_new(struct k8s_client *c, const struct k8s_resource *r,
		     const struct k8s_informer_opts *opts, struct k8s_informer **out,
		     struct k8s_err *err);

/**
 * k8s_informer_free() - stop and free; NULL is a no-op
 *
 * After it returns no handler runs. Not from a handler.
 */
void k8s_informer_free(struct k8s_informer *inf);

/**
 * k8s_informer_wait_synced() - wait until the first list is in the cache
 * @timeout_ms: 0 to only look
 * Return: 0; -ETIMEDOUT, with k8s_informer_stats() last_err saying why.
 */
int k8s_informer_wait_synced(struct k8s_informer *inf, unsigned int timeout_ms);

/**
 * k8s_informer_get() - a copy of the cached object of @key ("ns/name")
 * Return: a root the caller frees; NULL if not cached (or no memory).
 */
struct k8s_obj *k8s_informer_get(struct k8s_informer *inf, const char *key);

/*
 * k8s_informer_each() - call @fn for each cached object of @ns (NULL: all)
 * that @sel selects (NULL: all), under the cache's read lock: @obj is
 * borrowed for the call, @fn must not call the informer or block. Order is
 * unspecified. Return 0 from @fn to go on, anything else to stop with it.
 */
typedef int (*k8s_each_fn)(void *arg, const struct k8s_obj *obj);
int k8s_informer_each(struct k8s_informer *inf, const char *ns, const struct k8s_selector *sel,
		      k8s_each_fn fn, void *arg);

/* k8s_informer_len() - objects in the cache */
size_t k8s_informer_len(struct k8s_informer *inf);

struct k8s_informer_stats {
	uint64_t lists;	    /* LISTs completed (1 + relists) */
	uint64_t watches;   /* WATCH requests started */
	uint64_t events;    /* ADDED/MODIFIED/DELETED applied */
	uint64_t bookmarks; /* BOOKMARKs seen */
	uint64_t expired;   /* 410s (request or ERROR event) */
	uint64_t failures;  /* LISTs and WATCHes that failed */
	char rv[64];	    /* the last resourceVersion seen */
	struct k8s_err last_err;
};
void k8s_informer_stats(struct k8s_informer *inf, struct k8s_informer_stats *st);

/* ------------------------------------------------------------ work queue
 *
 * client-go's rate-limited work queue of keys ("ns/name"):
 *   - a key is at most once in the queue (adds while queued are merged);
 *   - a key is handed to one worker at a time: added while a worker holds
 *     it, it is queued again only when that worker calls k8s_wq_done();
 *   - k8s_wq_add_rate_limited() waits the larger of a per-key exponential
 *     backoff (base · 2^failures: 5 ms … 1000 s) and an overall token bucket
 *     (10 qps, burst 100), until k8s_wq_forget() resets the key;
 *   - k8s_wq_add_after() waits a fixed time (a periodic re-check).
 * All calls are thread-safe; no thread of its own (waiting workers move
 * delayed keys when they are due).
 */
struct k8s_wq;

/* zero means client-go's default */
struct k8s_wq_opts {
	size_t sz;
	unsigned int base_delay_ms; /* 5 */
	unsigned int max_delay_ms;  /* 1 000 000 */
	double qps;		    /* 10 */
	unsigned int burst;	    /* 100 */
};

int k8s_wq_new(const struct k8s_wq_opts *opts, struct k8s_wq **out);
/* k8s_wq_free() - NULL is a no-op; no worker may still be inside the queue */
void k8s_wq_free(struct k8s_wq *wq);

/* k8s_wq_add() - queue @key (copied) now; -ENOMEM, -ESHUTDOWN, else 0 */
int k8s_wq_add(struct k8s_wq *wq, const char *key);
/* k8s_wq_add_after() - queue @key after @delay_ms (an earlier pending time wins) */
int k8s_wq_add_after(struct k8s_wq *wq, const char *key, unsigned int delay_ms);
/* k8s_wq_add_rate_limited() - queue @key after its backoff; counts a failure */
int k8s_wq_add_rate_limited(struct k8s_wq *wq, const char *key);
/* k8s_wq_forget() - clear @key's failure count (after a success) */
void k8s_wq_forget(struct k8s_wq *wq, const char *key);
/* k8s_wq_requeues() - failures counted for @key */
unsigned int k8s_wq_requeues(struct k8s_wq *wq, const char *key);

/**
 * k8s_wq_get() - wait for the next key
 * @key:        set to the key, borrowed until k8s_wq_done(@wq, @key)
 * @timeout_ms: -1 to wait for ever
 *
 * Return: 0; -ETIMEDOUT; -ESHUTDOWN (k8s_wq_shutdown(), and the queue is
 * empty of keys ready now).
 */
int k8s_wq_get(struct k8s_wq *wq, const char **key, int timeout_ms);
/* k8s_wq_done() - the worker is finished with @key (from k8s_wq_get()) */
void k8s_wq_done(struct k8s_wq *wq, const char *key);
/* k8s_wq_shutdown() - refuse new keys; waiting workers return -ESHUTDOWN */
void k8s_wq_shutdown(struct k8s_wq *wq);
/* k8s_wq_len() - keys ready now (delayed ones not counted) */
size_t k8s_wq_len(struct k8s_wq *wq);

/**
 * k8s_wq_backoff_ms() - the per-key delay after @failures failures:
 * min(@base_ms · 2^@failures, @max_ms), client-go's
 * ItemExponentialFailureRateLimiter (pure; for tests and explanations)
 */
uint64_t k8s_wq_backoff_ms(unsigned int base_ms, unsigned int max_ms, unsigned int failures);

/* ------------------------------------------------------------ leader election
 *
 * client-go's leaderelection on a coordination.k8s.io/v1 Lease, defaults
 * 15 s / 10 s / 2 s (leaseDuration > renewDeadline > 1.2 · retryPeriod):
 *   - a candidate reads the Lease every retry period (+ up to 20 % jitter,
 *     and again at the moment another's lease runs out); it takes it (PUT
 *     with the resourceVersion read: a 409 means another won) when it is
 *     free, or when leaseDurationSeconds have passed on the candidate's
 *     clock since it last saw the record change;
 *   - the leader renews every retry period; when no renewal succeeded for
 *     renew_deadline it stops leading at once: k8s_lease_is_leader() turns
 *     false on the clock alone (even while a request hangs), @stopped runs
 *     saying why, writes fenced with k8s_lease_fence() fail with -ENOLCK,
 *     and the lease never leads again (a controller exits and restarts, as
 *     client-go's do);
 *   - k8s_lease_free() of a leader releases the Lease (holderIdentity
 *     cleared), so a standby takes over within one retry period.
 * renewTime and acquireTime are MicroTime; leaseTransitions counts changes
 * of holder.
 */
struct k8s_lease;

/**
 * struct k8s_lease_opts - @ns, @name, @identity required; zero times default
 * @identity:      this candidate (pod name + a random suffix)
 * @lease_ms:      leaseDurationSeconds × 1000 (15 000)
 * @renew_ms:      renew deadline (10 000)
 * @retry_ms:      retry period (2 000)
 * @started:       runs on the lease's thread when this candidate leads
 * @stopped:       runs exactly once on the lease's thread if and only if
 *                 @started ran, when it stops leading; @why is a line
 * @new_leader:    runs when another identity is seen holding it (may be NULL)
 * @failed:        runs after a request of the lease failed for another reason
 *                 than a lost race (a 409: another candidate wrote first):
 *                 403, 401, the network, a 5xx that outlasted the retries...
 *                 @err is borrowed for the call (may be NULL). The lease goes
 *                 on trying; an owner that cannot go on (RBAC refuses) stops
 *                 it.
 */
struct k8s_lease_opts {
	size_t sz;
	const char *ns;
	const char *name;
	const char *identity;
	unsigned int lease_ms;
	unsigned int renew_ms;
	unsigned int retry_ms;
	void (*started)(void *arg);
	void (*stopped)(void *arg, const char *why);
	void (*new_leader)(void *arg, const char *identity);
	void (*failed)(void *arg, const struct k8s_err *err);
	void *arg;
};

/**
 * k8s_lease_start() - run for leadership on a thread of its own
 * @opts: borrowed (strings copied)
 * Return: 0; -EINVAL (missing names, or the durations out of order); -ENOMEM.
 */
int k8s_lease_start(struct k8s_client *c, const struct k8s_lease_opts *opts, struct k8s_lease **out,
		    struct k8s_err *err);

/* k8s_lease_is_leader() - leading now, and renewed within the deadline */
bool k8s_lease_is_leader(const struct k8s_lease *l);

/**
 * k8s_lease_fence() - refuse @c's writes unless this lease leads
 *
 * Every create, update, patch and delete of @c (the lease's own excepted)
 * checks k8s_lease_is_leader() before each attempt, and fails with -ENOLCK
 * if not; reads are not fenced. Call before starting work; the lease must
 * outlive the fence (k8s_lease_free() lifts it).
 */
void k8s_lease_fence(struct k8s_lease *l, struct k8s_client *c);

/* k8s_lease_free() - stop (releasing the Lease if leading); NULL is a no-op */
void k8s_lease_free(struct k8s_lease *l);

/* ------------------------------------------------------------ conditions
 *
 * metav1.Condition in an object's status.conditions: {type, status,
 * observedGeneration, lastTransitionTime, reason, message}, one per type.
 * How a reconciler's outcome reaches `kubectl describe` and Argo CD.
 */
struct k8s_condition {
	const char *type;	     /* "Ready" (CamelCase) */
	const char *status;	     /* "True", "False" or "Unknown" */
	const char *reason;	     /* CamelCase: [A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])? */
	const char *message;	     /* for people; may be "" */
	int64_t observed_generation; /* metadata.generation the outcome is about */
	int64_t transition_ns;	     /* k8s_condition_get(): lastTransitionTime */
};

/**
 * k8s_condition_set() - put condition @c->type into @obj's status.conditions
 * @obj:    an object root (its status is created when missing)
 * @c:      borrowed; @c->transition_ns is ignored
 * @now_ns: the lastTransitionTime written when the status changes or the
 *          condition is new; an unchanged status keeps the old time
 *
 * A message longer than 32 KiB is cut (the API server's limit).
 * Return: 0 (changed); K8S_UNCHANGED (the same type, status, reason,
 * message and observedGeneration are there already: nothing to write);
 * -EINVAL (no type, a status other than True/False/Unknown, a reason that
 * is not CamelCase); -ENOMEM. On failure @obj is unchanged.
 */
int k8s_condition_set(struct k8s_obj *obj, const struct k8s_condition *c, int64_t now_ns);

/**
 * k8s_condition_get() - the condition @type of @obj, as borrowed strings
 * Return: 0; -ENOENT (no such condition).
 */
int k8s_condition_get(const struct k8s_obj *obj, const char *type, struct k8s_condition *out);

/* k8s_condition_reason_valid() - whether @reason is a condition reason the API takes */
bool k8s_condition_reason_valid(const char *reason);

/* ------------------------------------------------------------ reconcilers
 *
 * What a capability of the controller implements (control/cluster/,
 * migrate/, bluegreen/, autoscale/, ...), declared here, below every
 * capability, so that a capability plugs into the controller runtime
 * (control/operator/) without including it: as client-go declares the
 * informers and queues that controller-runtime's Reconcilers are built on.
 * k8s/ only declares it; the runtime implements it. For each reconciler the
 * runtime:
 *   - runs one informer per watch (shared between reconcilers that watch
 *     the same resource with the same selectors and scope), started when
 *     the process becomes the leader;
 *   - maps every event of watches[i] to keys of the primary resource
 *     (watches[0]) and adds them to the reconciler's own rate-limited work
 *     queue (k8s_wq: client-go's defaults);
 *   - runs @workers threads that take a key, copy the primary from its
 *     cache and call @reconcile. An error queues the key again after its
 *     backoff (5 ms doubling to 1000 s); a success forgets its failures;
 *     res.requeue_after_ms (or @resync_ms) queues it again later;
 *   - writes the outcome into the primary's status.conditions as condition
 *     @condition (True, res.reason; or False, err.reason, err.msg), only
 *     when it changed, through the status subresource;
 *   - counts, times and exposes it on the controller's /metrics.
 * Every write of req->client is fenced by the leader lease: once the
 * process stops leading, writes fail with -ENOLCK and the process exits.
 */

/* How an event of a watched resource names keys of the primary. */
enum k8s_watch_map {
	K8S_MAP_SELF = 0, /* the object's own key: the primary itself */
	K8S_MAP_OWNER,	  /* the owner its controller ownerReference names, if that is of
			     the primary's kind (namespace/name; owners never cross namespaces) */
	K8S_MAP_FN,	  /* k8s_watch.map_fn names them */
};

/* k8s_key_fn - queue @key ("namespace/name", or "name"; copied) for the primary */
typedef void (*k8s_key_fn)(void *q, const char *key);

/**
 * struct k8s_watch - one resource a reconciler watches
 * @resource:       borrowed for the program's life (a static)
 * @own_ns:         only the controller's own namespace (ferry-system: its
 *                  temporary objects); else every namespace
 * @label_selector, @field_selector: server-side filters (NULL: none)
 * @map:            how its events name keys of the primary
 * @map_fn:         K8S_MAP_FN: call @add(@q, key) for each primary key that
 *                  @obj concerns. Runs on the client's I/O thread: quick,
 *                  no blocking call; @obj is borrowed for the call
 */
struct k8s_watch {
	const struct k8s_resource *resource;
	bool own_ns;
	const char *label_selector, *field_selector;
	enum k8s_watch_map map;
	void (*map_fn)(const struct k8s_obj *obj, k8s_key_fn add, void *q);
};

/**
 * struct k8s_reconcile_req - one call of a reconciler, a plain struct
 * @key:      "namespace/name" of the primary ("name" if cluster-scoped)
 * @ns:       its namespace ("" if cluster-scoped); @name: its name
 * @obj:      a copy of the primary as cached, the reconciler's to change
 *            (freed after the call); NULL when it is gone (deleted)
 * @client:   fenced by the leader lease (-ENOLCK once it is lost)
 * @caches:   @caches[i] is the informer of watches[i] (k8s_informer_get(),
 *            k8s_informer_each(): read only)
 * @own_ns:   the controller's namespace (its Lease, ferry-system)
 * @identity: the leader's identity (an Event's reportingInstance)
 * @field_manager: "ferry-<name>", for server-side apply (DESIGN.md "Ownership")
 * @state:    what @setup made
 * @failures: how often this key failed since its last success
 */
struct k8s_reconcile_req {
	const char *key;
	const char *ns, *name;
	struct k8s_obj *obj;
	struct k8s_client *client;
	struct k8s_informer *const *caches;
	const char *own_ns;
	const char *identity;
	const char *field_manager;
	void *state;
	unsigned int failures;
};

/**
 * struct k8s_reconcile_res - what a successful call asks for (zeroed before it)
 * @requeue_after_ms: reconcile the key again after this long (a poll of
 *                    something no watch reports); 0: only on events
 * @reason, @message: the True condition's reason (NULL: "Reconciled") and
 *                    message (NULL: ""); static, or inside req->obj or the
 *                    state: the runtime reads them after the call returns
 * @failed:           the object's work ended in a failure that retrying does
 *                    not mend (a Backup whose Repository does not exist): the
 *                    condition is False with @reason and @message, and the key
 *                    is not retried (a returned error is, with backoff)
 */
struct k8s_reconcile_res {
	unsigned int requeue_after_ms;
	const char *reason;
	const char *message;
	bool failed;
};

/**
 * struct k8s_reconciler - a reconciler, as a capability declares it
 * @sz:        sizeof(struct k8s_reconciler)
 * @name:      short, lower case ("backup"): the metrics' reconciler label,
 *             log lines, the field manager "ferry-<name>"
 * @watches:   watches[0] is the primary (its map is K8S_MAP_SELF); the
 *             rest are secondary resources mapped to primary keys
 * @nwatches:  at least 1
 * @workers:   keys reconciled at once (0: 1); one key is never held by
 *             two workers
 * @resync_ms: reconcile every key again this long after its last success
 *             (0: never)
 * @condition: the condition type the runtime writes into the primary's
 *             status.conditions ("Ready"); NULL: none (a primary without
 *             a status subresource)
 * @setup:     NULL, or called once when the process starts leading, before
 *             any reconcile; *@state goes into every request. Return 0 or
 *             -errno (the controller then stops, with @err's line)
 * @teardown:  NULL, or called with that state after the last reconcile
 * @reconcile: bring the world to what req->obj asks for. Runs on a worker
 *             thread, may block (k8s_get, k8s_apply, ...), must print
 *             nothing and take no argv. Return 0 or -errno with @err filled
 *             (its reason and msg go into the condition); -ENOLCK and
 *             -ECANCELED (leadership lost, shutting down) are not retried
 */
struct k8s_reconciler {
	size_t sz;
	const char *name;
	const struct k8s_watch *watches;
	size_t nwatches;
	unsigned int workers;
	unsigned int resync_ms;
	const char *condition;
	int (*setup)(struct k8s_client *c, const char *own_ns, void **state, struct k8s_err *err);
	void (*teardown)(void *state);
	int (*reconcile)(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			 struct k8s_err *err);
};

/*
 * struct k8s_statemap - a reconciler's memory between passes: one state per
 * key (req->key), made on the key's first pass and dropped when its object
 * is gone (req->obj NULL), all of them freed at teardown. The runtime hands
 * a key to one worker at a time, so a state is used by one thread at a time;
 * the map itself is shared by the workers and locked inside.
 *
 *   setup:     k8s_statemap_new(my_state_new, my_state_free, &c->states)
 *   reconcile: if (!req->obj) { k8s_statemap_drop(c->states, req->key); return 0; }
 *              ret = k8s_statemap_at(c->states, req->key, &st);
 *   teardown:  k8s_statemap_free(c->states)
 */
struct k8s_statemap;

/* k8s_state_new_fn - a key's new state into *@state; 0 or -errno (-ENOMEM) */
typedef int (*k8s_state_new_fn)(void **state);
/* k8s_state_free_fn - free a state k8s_state_new_fn made */
typedef void (*k8s_state_free_fn)(void *state);

/**
 * k8s_statemap_new() - an empty map
 * @new_fn:  makes a key's state; runs under the map's lock (it must not call
 *           the map)
 * @free_fn: frees one, outside the lock
 * @out:     freed with k8s_statemap_free()
 *
 * Return: 0; -EINVAL (@new_fn or @free_fn NULL); -ENOMEM.
 */
int k8s_statemap_new(k8s_state_new_fn new_fn, k8s_state_free_fn free_fn, struct k8s_statemap **out);

/**
 * k8s_statemap_at() - the state of @key, made by new_fn if it has none
 * @key:   copied
 * @state: borrowed until k8s_statemap_drop() of @key or k8s_statemap_free()
 *
 * Return: 0; -ENOMEM; the -errno of new_fn (nothing is kept for @key then).
 */
int k8s_statemap_at(struct k8s_statemap *m, const char *key, void **state);

/* k8s_statemap_drop() - free @key's state, if it has one (free_fn) */
void k8s_statemap_drop(struct k8s_statemap *m, const char *key);

/* k8s_statemap_len() - how many keys have a state */
size_t k8s_statemap_len(struct k8s_statemap *m);

/* k8s_statemap_free() - free every state (free_fn) and the map; NULL is a no-op */
void k8s_statemap_free(struct k8s_statemap *m);

/* ------------------------------------------------------------ kinds
 *
 * Views: the fields ferry reads, as borrowed pointers into @o (valid while
 * @o lives unchanged). Each view call returns 0, or -EINVAL when @o is not
 * an object with metadata.name. Absent strings are NULL, absent numbers 0.
 */
struct k8s_meta {
	const char *name, *ns, *uid, *rv, *generate_name;
	int64_t generation;
	int64_t created_ns; /* creationTimestamp, 0 if absent */
	int64_t deleted_ns; /* deletionTimestamp: being deleted (0: not) */
	const struct k8s_obj *labels, *annotations, *owners, *finalizers;
	const struct k8s_obj *controller; /* the ownerReference with controller: true */
};
int k8s_meta_view(const struct k8s_obj *o, struct k8s_meta *m);

/* pods (kind_pod.c): the agent's and the autoscaler's fields */
struct k8s_pod {
	struct k8s_meta meta;
	const char *node_name, *phase, *pod_ip, *host_ip, *qos_class, *service_account;
	bool ready;			/* condition Ready is True */
	int64_t started_ns;		/* status.startTime */
	int64_t ready_ns;		/* lastTransitionTime of Ready (when ready) */
	int64_t cpu_request_m;		/* sum of containers' requests.cpu, millicores */
	int64_t cpu_limit_m;		/* sum of limits.cpu (0: a container has none) */
	int64_t mem_request, mem_limit; /* bytes, as above */
	unsigned int ncontainers, nready, restarts;
};
int k8s_pod_view(const struct k8s_obj *o, struct k8s_pod *p);

/*
 * Node labels in a pod spec rewritten (kind_pod.c), as a restore into another
 * cluster does with its nodeLabelMapping:
 *
 * k8s_label_map_fn - the label @key=@value (@value NULL: the key alone, as an
 * Exists expression, a spread constraint's topologyKey or a toleration names
 * it) mapped: 1 (*@pv the new value: @nv, or @value when only the key
 * changed; @nk the new key), 0 unchanged, -1 dropped
 *
 * k8s_podspec_map_node_labels() - @podspec (a JSON pointer into @obj: "/spec",
 * "/spec/template/spec") through @fn: its nodeSelector; its node affinity's
 * required terms and preferences (In and NotIn values each mapped as
 * labels, the key changed with them when every value maps to one key;
 * Exists, DoesNotExist, Gt and Lt by the key; an expression whose values all
 * went is dropped, a term left empty is removed, and a required affinity
 * left without terms goes); topologySpreadConstraints' topologyKey;
 * tolerations' key (and value). Return: 0; -ENOMEM.
 */
#define K8S_LABEL_KEY_MAX   317 /* a DNS subdomain prefix (253), '/', a name (63) */
#define K8S_LABEL_VALUE_MAX 63
typedef int (*k8s_label_map_fn)(const void *arg, const char *key, const char *value, char *nk,
				size_t nk_len, char *nv, size_t nv_len, const char **pv);
int k8s_podspec_map_node_labels(struct k8s_obj *obj, const char *podspec, k8s_label_map_fn fn,
				const void *arg);

/* nodes (kind_node.c) */
struct k8s_node {
	struct k8s_meta meta;
	bool ready, unschedulable;
	const char *internal_ip, *zone; /* topology.kubernetes.io/zone */
	int64_t alloc_cpu_m, alloc_mem, alloc_pods;
};
int k8s_node_view(const struct k8s_obj *o, struct k8s_node *n);
/*
 * The scheduler's predicates, for placing a pod of pod spec @spec (a Pod's
 * spec, a template's) without a scheduler:
 *   k8s_node_schedulable()   Ready True and not cordoned (spec.unschedulable)
 *   k8s_node_matches()       @spec's nodeSelector, and its required node
 *                            affinity: nodeSelectorTerms ORed, each term's
 *                            matchExpressions (In, NotIn, Exists,
 *                            DoesNotExist, Gt, Lt on labels) and matchFields
 *                            (metadata.name) ANDed; an empty term matches
 *                            nothing, as the scheduler's
 *   k8s_node_tolerates()     every NoSchedule and NoExecute taint of @node
 *                            tolerated by @spec's tolerations (key, operator
 *                            Equal or Exists, value, effect); @spec NULL: none
 *   k8s_node_in_topologies() a StorageClass's allowedTopologies: none, or
 *                            one entry whose every expression @node's
 *                            labels hold
 */
bool k8s_node_schedulable(const struct k8s_obj *node);
bool k8s_node_matches(const struct k8s_obj *spec, const struct k8s_obj *node);
bool k8s_node_tolerates(const struct k8s_obj *spec, const struct k8s_obj *node);
bool k8s_node_in_topologies(const struct k8s_obj *storageclass, const struct k8s_obj *node);

/* namespaces (kind_namespace.c); the cluster id is kube-system's uid */
struct k8s_namespace {
	struct k8s_meta meta;
	const char *phase; /* Active, Terminating */
};
int k8s_namespace_view(const struct k8s_obj *o, struct k8s_namespace *n);

/* services (kind_service.c) */
struct k8s_service {
	struct k8s_meta meta;
	const char *type, *cluster_ip, *session_affinity, *internal_traffic_policy;
	const struct k8s_obj *selector, *ports; /* a labels map; an array */
};
int k8s_service_view(const struct k8s_obj *o, struct k8s_service *s);
/**
 * k8s_service_node_port_chosen() - whether @port is a nodePort the Service's
 * author chose: named in kubectl's last-applied-configuration (what Velero's
 * restore keeps; the rest are the API server's picks, made anew on a restore)
 * @port: a spec.ports[].nodePort; -1: spec.healthCheckNodePort
 */
bool k8s_service_node_port_chosen(const struct k8s_obj *svc, int64_t port);
/**
 * k8s_service_apply_selector() - set a Service's spec.selector by
 * server-side apply as @manager: the blue/green switch in one patch
 * @selector: a labels map, borrowed
 * Return: as k8s_apply() (-EBUSY: another manager owns the selector).
 */
int k8s_service_apply_selector(struct k8s_client *c, const char *ns, const char *name,
			       const struct k8s_obj *selector, const char *manager, bool force,
			       const struct k8s_call *call, struct k8s_err *err);

/* endpointslices (kind_endpointslice.c) */
struct k8s_endpointslice {
	struct k8s_meta meta;
	const char *service;	  /* label kubernetes.io/service-name */
	const char *address_type; /* IPv4, IPv6, FQDN */
	const struct k8s_obj *endpoints, *ports;
};
int k8s_endpointslice_view(const struct k8s_obj *o, struct k8s_endpointslice *s);
struct k8s_endpoint {
	const char *address;		  /* the first */
	bool ready, serving, terminating; /* nil ready/serving count as true */
	const char *node_name, *zone, *pod, *pod_uid;
};
/* k8s_endpoint_view() - one element of k8s_endpointslice.endpoints; 0, -EINVAL */
int k8s_endpoint_view(const struct k8s_obj *e, struct k8s_endpoint *v);

/* configmaps and secrets (kind_configmap.c) */
/* k8s_configmap_get() - data[@key], borrowed; NULL if absent */
const char *k8s_configmap_get(const struct k8s_obj *cm, const char *key);
/**
 * k8s_secret_get() - data[@key] decoded (base64), malloc()ed with a NUL after
 * @len bytes; free it with k8s_secret_free()
 * Return: 0; -ENOENT; -EINVAL (not base64); -ENOMEM.
 */
int k8s_secret_get(const struct k8s_obj *secret, const char *key, char **out, size_t *len);
/**
 * k8s_base64_decode() - @s, a `format: byte` value (a caBundle, a Secret's
 * data), decoded, malloc()ed with a NUL after @len bytes
 * Return: 0; -EINVAL (not base64); -ENOMEM.
 */
int k8s_base64_decode(const char *s, char **out, size_t *len);
/* k8s_secret_set() - data[@key] = base64(@buf, @len) */
int k8s_secret_set(struct k8s_obj *secret, const char *key, const void *buf, size_t len);
/* k8s_secret_free() - wipe and free what k8s_secret_get() returned; NULL ok */
void k8s_secret_free(char *buf, size_t len);

/* persistentvolumeclaims (kind_pvc.c) */
struct k8s_pvc {
	struct k8s_meta meta;
	const char *storage_class, *volume_name, *volume_mode, *phase;
	const char *selected_node;	       /* volume.kubernetes.io/selected-node */
	const struct k8s_obj *access_modes;    /* array of strings */
	const struct k8s_obj *data_source_ref; /* {apiGroup, kind, name} or NULL */
	int64_t request, capacity;	       /* bytes */
};
int k8s_pvc_view(const struct k8s_obj *o, struct k8s_pvc *p);

/* persistentvolumes (kind_pv.c) */
struct k8s_pv {
	struct k8s_meta meta;
	const char *storage_class, *volume_mode, *phase, *reclaim_policy;
	const char *claim_ns, *claim_name;	/* spec.claimRef */
	const char *csi_driver, *volume_handle; /* spec.csi */
	const struct k8s_obj *node_affinity;
	int64_t capacity;
};
int k8s_pv_view(const struct k8s_obj *o, struct k8s_pv *p);

/* deployments and statefulsets (kind_workload.c) */
struct k8s_workload {
	struct k8s_meta meta;
	int64_t replicas; /* spec.replicas (1 if unset, as the server defaults) */
	int64_t ready, available, updated, current; /* status.*Replicas */
	int64_t observed_generation;
	const struct k8s_obj *selector; /* spec.selector, a LabelSelector */
	const struct k8s_obj *template; /* spec.template */
	const char *service_name;	/* StatefulSet spec.serviceName */
};
int k8s_workload_view(const struct k8s_obj *o, struct k8s_workload *w);

/* the scale subresource, autoscaling/v1 Scale (kind_scale.c) */
struct k8s_scale {
	int64_t replicas;	 /* spec.replicas */
	int64_t status_replicas; /* status.replicas */
	const char *selector;	 /* status.selector: the string form HPAs need */
	const char *rv;
};
int k8s_scale_view(const struct k8s_obj *o, struct k8s_scale *s);
/**
 * k8s_scale_get() - GET …/@name/scale of @r (a Deployment, a StatefulSet, a
 * custom resource with the scale subresource)
 * @out: the Scale object, whose view k8s_scale_view() gives
 */
int k8s_scale_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		  const char *name, struct k8s_obj **out, struct k8s_err *err);
/**
 * k8s_scale_apply() - set spec.replicas through …/scale by server-side
 * apply as @manager (the autoscaler's write)
 * Return: as k8s_apply(); -EBUSY names the manager that owns the replicas.
 */
int k8s_scale_apply(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		    const char *name, int64_t replicas, const char *manager, bool force,
		    const struct k8s_call *call, struct k8s_err *err);

/* volumesnapshots, contents, classes (kind_snapshot.c) */
struct k8s_volumesnapshot {
	struct k8s_meta meta;
	const char *pvc, *content_name, *class_name; /* spec.source, spec.volumeSnapshotClassName */
	const char *bound_content;		     /* status.boundVolumeSnapshotContentName */
	bool ready;				     /* status.readyToUse */
	int64_t restore_size;			     /* bytes */
	const char *error;			     /* status.error.message */
};
int k8s_volumesnapshot_view(const struct k8s_obj *o, struct k8s_volumesnapshot *v);
struct k8s_snapshotcontent {
	struct k8s_meta meta;
	const char *driver, *deletion_policy, *class_name;
	const char *volume_handle, *snapshot_handle; /* spec.source.* (one is set) */
	const char *vs_ns, *vs_name;		     /* spec.volumeSnapshotRef */
	const char *status_handle;		     /* status.snapshotHandle */
	bool ready;
	int64_t restore_size;
};
int k8s_snapshotcontent_view(const struct k8s_obj *o, struct k8s_snapshotcontent *v);
struct k8s_snapshotclass {
	struct k8s_meta meta;
	const char *driver, *deletion_policy;
	bool is_default; /* snapshot.storage.kubernetes.io/is-default-class */
};
int k8s_snapshotclass_view(const struct k8s_obj *o, struct k8s_snapshotclass *v);

/**
 * k8s_csinode_allocatable() - spec.drivers[name=@driver].allocatable.count
 * Return: 0 and *@count; -ENOENT (no such driver, or no count: unlimited).
 */
int k8s_csinode_allocatable(const struct k8s_obj *csinode, const char *driver, int64_t *count);

/* leases (lease.c): the view of a coordination.k8s.io/v1 Lease */
struct k8s_lease_view {
	struct k8s_meta meta;
	const char *holder;
	int64_t duration_s, transitions;
	int64_t acquire_ns, renew_ns; /* MicroTime, 0 if absent */
};
int k8s_lease_view(const struct k8s_obj *o, struct k8s_lease_view *v);

/* events (events.c): events.k8s.io/v1 */
/**
 * struct k8s_event - one event about @regarding
 * @regarding: the object (borrowed): its apiVersion, kind, ns, name, uid
 * @type:      "Normal" or "Warning"
 * @reason:    CamelCase, short ("SnapshotReady")
 * @action:    what was done ("Snapshot")
 * @note:      a line for people (≤ 1 KiB: longer is cut)
 * @controller, @instance: reportingController ("ferry.io/controller") and
 *             reportingInstance (the pod)
 */
struct k8s_event {
	const struct k8s_obj *regarding;
	const char *type, *reason, *action, *note;
	const char *controller, *instance;
};
/**
 * k8s_event_emit() - create the Event in @regarding's namespace (or
 * "default"), named <name>.<hex time> as client-go names them
 * Return: 0; errors above. Callers usually ignore failures (best effort).
 */
int k8s_event_emit(struct k8s_client *c, const struct k8s_event *ev, struct k8s_err *err);

/* tokenreviews and tokenrequests (kind_token.c) */
struct k8s_token_review {
	bool authenticated;
	char user[256]; /* status.user.username */
	char uid[64];
	char error[256]; /* status.error */
};
/**
 * k8s_token_review() - ask the API server whose token @token is
 * @token:     borrowed; never logged
 * @audiences: NULL-terminated, or NULL for the server's
 * Return: 0 (and @out says whether it is authenticated); errors above.
 */
int k8s_token_review(struct k8s_client *c, const char *token, const char *const *audiences,
		     struct k8s_token_review *out, struct k8s_err *err);
/**
 * k8s_token_request() - a token of service account @sa in @ns
 * @audience:   NULL for the API server's
 * @seconds:    expirationSeconds (the server may shorten it; ≥ 600)
 * @token:      malloc()ed; wipe and free with k8s_secret_free(tok, strlen(tok))
 * @expires_ns: status.expirationTimestamp
 */
int k8s_token_request(struct k8s_client *c, const char *ns, const char *sa, const char *audience,
		      int64_t seconds, char **token, int64_t *expires_ns, struct k8s_err *err);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_K8S_H */
