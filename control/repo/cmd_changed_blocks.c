// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_changed_blocks.c - ferry changed-blocks: write the list of
 * ranges that changed between two images (FORMAT.md "Changed-block
 * lists"), bound to the parent snapshot made from the older one, for
 * `ferry backup --changed-blocks`. The producers are in control/cbt/cbt_*.c:
 * two files compared (xfs, btrfs), or a CSI driver's SnapshotMetadata
 * service asked about two VolumeSnapshots (csi).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "control/cbt/cbt.h"
#include "datapath/dp.h"

struct cbt_producer {
	const char *name;
	cbt_produce_fn produce;
	const char *summary;
	bool btrfs_opts; /* takes --file and --method */
	bool csi_opts;	 /* takes the cluster's options; OLD's size is not known */
};

static const struct cbt_producer cbt_producers[] = {
	{"xfs", cbt_xfs_produce, "OLD and NEW are reflinked image files on XFS (FIEMAP)", false,
	 false},
	{"btrfs", cbt_btrfs_produce,
	 "OLD and NEW are the image in two btrfs snapshots (file extent items)", true, false},
	{"csi", cbt_csi_produce,
	 "BASE and TARGET are VolumeSnapshots; the CSI driver's SnapshotMetadata service", false,
	 true},
};

static void changed_blocks_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry changed-blocks xfs OLD NEW --parent SNAPSHOT [-o FILE] [--json]\n"
		"       ferry changed-blocks btrfs OLD_SNAP NEW_SNAP [--file PATH] --parent SNAPSHOT\n"
		"                            [--method auto|tree|fiemap] [-o FILE] [--json]\n"
		"       ferry changed-blocks csi BASE TARGET -n NAMESPACE --parent SNAPSHOT\n"
		"                            [--service-account NS/NAME] [--driver D] [--address HOST:PORT]\n"
		"                            [--ca FILE] [--audience A] [-o FILE] [--json]\n"
		"       ferry changed-blocks csi --allocated TARGET -n NAMESPACE --parent SNAPSHOT [...]\n\n"
		"List the byte ranges of NEW that may differ from OLD, for 'ferry backup\n"
		"--changed-blocks FILE NEW'. OLD must hold exactly what the parent snapshot was made\n"
		"from; the list names that snapshot, and a backup with another parent refuses it.\n"
		"NEW should not change until it is backed up: a reflink copy or a read-only snapshot.\n\n"
		"Producers:\n");
	for (size_t i = 0; i < sizeof(cbt_producers) / sizeof(cbt_producers[0]); i++)
		fprintf(f, "  %-6s %s\n", cbt_producers[i].name, cbt_producers[i].summary);
	fprintf(f,
		"\nxfs: OLD is a reflink copy (cp --reflink=always) of the volume's image taken when the\n"
		"parent was made, NEW a later reflink copy (or the live file, if nothing writes it). A\n"
		"range is unchanged where both map it to the same blocks, or both read it as zeros.\n"
		"btrfs: OLD_SNAP and NEW_SNAP are the image file in two snapshots, or the snapshots\n"
		"(subvolumes) themselves with --file naming the image inside them.\n"
		"csi: TARGET is a VolumeSnapshot, BASE a VolumeSnapshot of the same volume taken before\n"
		"it (its content's status.snapshotHandle is asked about) or handle:<id>; the CSI driver's\n"
		"SnapshotMetadata service (KEP-3314) answers GetMetadataDelta over gRPC. The parent\n"
		"snapshot is a backup of BASE's volume as BASE holds it.\n\n"
		"  --parent SNAPSHOT       the snapshot made from OLD (required): a 64-digit id; with a\n"
		"                          repository (--repo, $FERRY_REPO) also a unique prefix of at\n"
		"                          least 8 digits or 'latest', and it is checked to exist and\n"
		"                          (xfs, btrfs) to have OLD's size\n"
		"  --volume NAME           the volume whose 'latest' --parent means\n"
		"  -o, --output FILE       write the list to FILE (atomically) and a summary to stdout;\n"
		"                          default: the list on stdout\n"
		"  --json                  the JSON form of the list (and of the summary)\n"
		"  --file PATH             btrfs: the image's path inside OLD_SNAP and NEW_SNAP\n"
		"  --method M              btrfs: tree (file extent items; needs CAP_SYS_ADMIN), fiemap\n"
		"                          (compressed extents always count as changed), auto (tree,\n"
		"                          else fiemap; the default)\n"
		"  -n, --namespace NS      csi: the VolumeSnapshots' namespace (default: the kubeconfig's)\n"
		"  --kubeconfig FILE, --context NAME  csi: the cluster (default: $KUBECONFIG, in-cluster)\n"
		"  --service-account NS/NAME  csi: whose token (TokenRequest for the service's audience)\n"
		"                          is sent; it needs 'get volumesnapshots' in NS (default:\n"
		"                          ferry-system/ferry-agent)\n"
		"  --driver D              csi: the CSI driver (default: the target content's spec.driver)\n"
		"  --address HOST:PORT, --ca FILE, --audience A\n"
		"                          csi: the service (default: the SnapshotMetadataService named\n"
		"                          after the driver: spec.address, spec.caCert, spec.audience)\n"
		"  --allocated             csi: the ranges of TARGET that hold data (GetMetadataAllocated)\n"
		"  --max-results N         csi: tuples per message asked for (default: the server's)\n"
		"  -h, --help              this text\n\n"
		"Repository options (only to resolve and check --parent): --repo URL, --password-file,\n"
		"--password-command and the S3 options, as 'ferry backup --help' describes them.\n");
}

static bool cbt_is_full_id(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		      (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

/*
 * --parent: a full id as given, or resolved (and checked) in the repository
 * when there is one. *@size is the parent's size, 0 if not known. 0 or -errno, printed.
 */
static int cbt_parent(struct ctl_common *c, const char *spec, const char *volume, char *id,
		      uint64_t *size)
{
	const struct dp_snapshot *s;
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	size_t n = 0;
	int ret, err = 0;

	*size = 0;
	if (!c->repo) {
		if (!cbt_is_full_id(spec))
			return ctl_usage_error(
				"changed-blocks",
				"--parent takes a 64-digit snapshot id without a repository; give --repo to resolve '%s'",
				spec);
		for (int i = 0; i < 64; i++)
			id[i] = (char)(spec[i] >= 'A' && spec[i] <= 'F' ? spec[i] - 'A' + 'a'
									: spec[i]);
		id[64] = '\0';
		return 0;
	}
	ret = ctl_repo_open(c, "changed-blocks", &st, &repo);
	if (ret)
		return ret;
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	s = dp_snapshot_find(repo, snaps, n, spec, volume, &err);
	if (!s) {
		ret = ctl_fail(err, NULL, "--parent: %s", dp_last_error());
		goto out;
	}
	memcpy(id, s->id, 65);
	*size = s->size;
	ret = 0;
out:
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}

static int cbt_write_all(int fd, const char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(fd, buf + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		done += (size_t)w;
	}
	return 0;
}

/*
 * Write the list (and a final newline, which the JSON form lacks) to @path
 * through a temporary file and a rename, so that no reader ever sees part of
 * a list; or to stdout.
 */
static int cbt_write_list(const char *path, const char *buf, size_t len)
{
	bool nl = !len || buf[len - 1] != '\n';
	char tmp[4096];
	int fd, ret;

	if (!path) {
		fflush(stdout);
		ret = cbt_write_all(STDOUT_FILENO, buf, len);
		if (!ret && nl)
			ret = cbt_write_all(STDOUT_FILENO, "\n", 1);
		if (ret)
			return ctl_fail(-EIO, NULL, "writing the list to stdout: %s",
					strerror(-ret));
		return 0;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return ctl_usage_error("changed-blocks", "-o: path too long");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return ctl_fail(-errno, NULL, "cannot create %s: %s", tmp, strerror(errno));
	ret = cbt_write_all(fd, buf, len);
	if (!ret && nl)
		ret = cbt_write_all(fd, "\n", 1);
	if (!ret && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ctl_fail(ret == -ENOSPC ? ret : -EIO, NULL, "writing %s: %s", path,
				strerror(-ret));
	}
	return 0;
}

/* --ca FILE: a PEM bundle, at most 1 MiB. 0 or -errno, printed. */
static int cbt_read_ca(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "re");
	size_t cap = 1 << 20;
	char *buf;
	int ret = 0;

	if (!f)
		return ctl_fail(-errno, NULL, "--ca %s: %s", path, strerror(errno));
	buf = malloc(cap + 1);
	if (!buf) {
		fclose(f);
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	}
	*len = fread(buf, 1, cap + 1, f);
	if (ferror(f))
		ret = ctl_fail(-EIO, NULL, "--ca %s: read error", path);
	else if (*len > cap)
		ret = ctl_fail(-EFBIG, NULL, "--ca %s: larger than 1 MiB", path);
	else if (!*len)
		ret = ctl_usage_error("changed-blocks", "--ca %s is empty", path);
	fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	return 0;
}

static void cbt_summary(const struct cbt_producer *p, const struct cbt_request *req,
			const struct dp_cbl *l, const char *path, bool json, double secs)
{
	const struct cbt_stats *s = &req->stats;
	cJSON *o;
	char *txt;

	if (!json) {
		printf("changed-blocks %s (%s): %zu ranges, %.1f MB of %.1f MB changed (%.2f %%) since parent %.16s; list in %s (%.3f s)\n",
		       p->name, req->method_used, l->n, (double)s->bytes_changed / 1e6,
		       (double)l->size / 1e6,
		       l->size ? 100.0 * (double)s->bytes_changed / (double)l->size : 0.0,
		       l->parent, path, secs);
		return;
	}
	o = cJSON_CreateObject();
	if (!o)
		return;
	cJSON_AddStringToObject(o, "verb", "changed-blocks");
	cJSON_AddStringToObject(o, "producer", p->name);
	cJSON_AddStringToObject(o, "method", req->method_used);
	cJSON_AddStringToObject(o, "parent", l->parent);
	cJSON_AddStringToObject(o, "output", path);
	cJSON_AddNumberToObject(o, "size", (double)l->size);
	cJSON_AddNumberToObject(o, "ranges", (double)l->n);
	cJSON_AddNumberToObject(o, "bytes_changed", (double)s->bytes_changed);
	cJSON_AddNumberToObject(o, "extents_old", (double)s->extents_old);
	cJSON_AddNumberToObject(o, "extents_new", (double)s->extents_new);
	cJSON_AddNumberToObject(o, "calls", (double)s->calls);
	cJSON_AddNumberToObject(o, "seconds", secs);
	txt = cJSON_PrintUnformatted(o);
	if (txt)
		puts(txt);
	cJSON_free(txt);
	cJSON_Delete(o);
}

/*
 * The producers' errnos as the command reports them: a wrong filesystem or
 * argument is a usage error (-EINVAL), no FIEMAP an I/O error (-EIO), a
 * service that does not speak gRPC a protocol error (-EPROTO).
 */
static int cbt_errno(int err)
{
	switch (err) {
	case -EMEDIUMTYPE:
	case -EXDEV:
	case -ENAMETOOLONG:
		return -EINVAL;
	case -EOPNOTSUPP:
	case -ENOTTY:
		return -EIO;
	case -EPROTONOSUPPORT:
		return -EPROTO;
	default:
		return err;
	}
}

static double cbt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The command line of changed-blocks. */
struct cbt_args {
	const struct cbt_producer *prod;
	struct cbt_request req;
	struct cbt_csi_opts csi;
	const char *ca_file;
	bool csi_given; /* a csi option was given */
	const char *parent, *volume, *output;
	bool help;
};

static int cbt_args_parse(int argc, char **argv, struct ctl_common *c, struct cbt_args *a)
{
	enum {
		OPT_PARENT = CTL_OPT_VERB_BASE,
		OPT_VOLUME,
		OPT_FILE,
		OPT_METHOD,
		OPT_KUBECONFIG,
		OPT_CONTEXT,
		OPT_SA,
		OPT_DRIVER,
		OPT_ADDRESS,
		OPT_CA,
		OPT_AUDIENCE,
		OPT_ALLOCATED,
		OPT_MAX_RESULTS,
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"parent", required_argument, NULL, OPT_PARENT},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"file", required_argument, NULL, OPT_FILE},
		{"method", required_argument, NULL, OPT_METHOD},
		{"namespace", required_argument, NULL, 'n'},
		{"kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
		{"context", required_argument, NULL, OPT_CONTEXT},
		{"service-account", required_argument, NULL, OPT_SA},
		{"driver", required_argument, NULL, OPT_DRIVER},
		{"address", required_argument, NULL, OPT_ADDRESS},
		{"ca", required_argument, NULL, OPT_CA},
		{"audience", required_argument, NULL, OPT_AUDIENCE},
		{"allocated", no_argument, NULL, OPT_ALLOCATED},
		{"max-results", required_argument, NULL, OPT_MAX_RESULTS},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cbt_csi_opts *k = &a->csi;
	unsigned long n;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "hn:" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (opt == 'n' || (opt >= OPT_KUBECONFIG && opt <= OPT_MAX_RESULTS))
			a->csi_given = true;
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case 'o': /* -o/--output is the list's file here, not a format */
			a->output = strcmp(optarg, "-") ? optarg : NULL;
			break;
		case OPT_PARENT:
			a->parent = optarg;
			break;
		case OPT_VOLUME:
			a->volume = optarg;
			break;
		case OPT_FILE:
			a->req.file = optarg;
			break;
		case OPT_METHOD:
			if (!strcmp(optarg, "auto"))
				a->req.method = CBT_METHOD_AUTO;
			else if (!strcmp(optarg, "tree"))
				a->req.method = CBT_METHOD_TREE;
			else if (!strcmp(optarg, "fiemap"))
				a->req.method = CBT_METHOD_FIEMAP;
			else
				return ctl_usage_error(
					"changed-blocks",
					"--method takes auto, tree or fiemap, not '%s'", optarg);
			break;
		case 'n':
			k->ns = optarg;
			break;
		case OPT_KUBECONFIG:
			k->kubeconfig = optarg;
			break;
		case OPT_CONTEXT:
			k->context = optarg;
			break;
		case OPT_SA:
			k->sa = optarg;
			break;
		case OPT_DRIVER:
			k->driver = optarg;
			break;
		case OPT_ADDRESS:
			k->address = optarg;
			break;
		case OPT_CA:
			a->ca_file = optarg;
			break;
		case OPT_AUDIENCE:
			k->audience = optarg;
			break;
		case OPT_ALLOCATED:
			k->allocated = true;
			break;
		case OPT_MAX_RESULTS:
			ret = ctl_parse_uint("changed-blocks", "max-results", optarg, 1, 1000000,
					     &n);
			if (ret)
				return ret;
			k->max_results = (uint32_t)n;
			break;
		default:
			ret = ctl_common_opt(c, "changed-blocks", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind >= argc)
		return ctl_usage_error("changed-blocks", "no producer given (xfs, btrfs or csi)");
	for (size_t i = 0; i < sizeof(cbt_producers) / sizeof(cbt_producers[0]); i++)
		if (!strcmp(argv[optind], cbt_producers[i].name))
			a->prod = &cbt_producers[i];
	if (!a->prod)
		return ctl_usage_error("changed-blocks",
				       "unknown producer '%s' (xfs, btrfs or csi)", argv[optind]);
	if (a->csi.allocated) {
		if (argc - optind != 2)
			return ctl_usage_error("changed-blocks",
					       "csi --allocated takes TARGET only");
		a->req.new = argv[optind + 1];
	} else {
		if (argc - optind != 3)
			return ctl_usage_error("changed-blocks", "%s takes %s", a->prod->name,
					       a->prod->csi_opts ? "BASE and TARGET"
								 : "OLD and NEW");
		a->req.old = argv[optind + 1];
		a->req.new = argv[optind + 2];
	}
	if (!a->parent)
		return ctl_usage_error(
			"changed-blocks",
			"--parent is required: a list must name the snapshot it was computed against");
	if (!a->prod->btrfs_opts && (a->req.file || a->req.method != CBT_METHOD_AUTO))
		return ctl_usage_error("changed-blocks",
				       "--file and --method are options of the btrfs producer");
	if (!a->prod->csi_opts && a->csi_given)
		return ctl_usage_error(
			"changed-blocks",
			"-n and the cluster's and service's options are the csi producer's");
	a->csi.sz = sizeof(a->csi);
	a->req.csi = &a->csi;
	return 0;
}

int ctl_cmd_changed_blocks(int argc, char **argv)
{
	struct cbt_args a = {.req = {.method = CBT_METHOD_AUTO}};
	struct cbt_request *req = &a.req;
	struct dp_cbl list = {.n = 0};
	struct cbt_err err = {.msg = ""};
	struct ctl_common c;
	uint64_t parent_size;
	char *text = NULL, *ca = NULL;
	size_t len = 0, ca_len = 0;
	double t0;
	int ret;

	ctl_common_init(&c);
	ret = cbt_args_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			changed_blocks_usage(stdout);
		return ret;
	}
	ret = cbt_parent(&c, a.parent, a.volume, list.parent, &parent_size);
	if (ret)
		goto out;
	if (a.ca_file) {
		ret = cbt_read_ca(a.ca_file, &ca, &ca_len);
		if (ret)
			goto out;
		a.csi.ca = ca;
		a.csi.ca_len = ca_len;
	}
	t0 = cbt_now();
	ret = a.prod->produce(req, &list, &err);
	if (ret) {
		ret = ctl_fail(cbt_errno(ret), NULL, "changed-blocks %s: %s", a.prod->name,
			       err.msg);
		goto out;
	}
	if (parent_size && !a.prod->csi_opts && parent_size != req->old_size) {
		ret = ctl_fail(
			-ESTALE, NULL,
			"parent %.16s is a snapshot of %llu bytes, but OLD %s has %llu: OLD is not what the parent was made from",
			list.parent, (unsigned long long)parent_size, req->old,
			(unsigned long long)req->old_size);
		goto out;
	}
	dp_cbl_normalize(&list);
	ret = dp_cbl_format(&list, c.json, &text, &len);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = cbt_write_list(a.output, text, len);
	if (ret)
		goto out;
	if (a.prod->csi_opts)
		ctl_log(CTL_LOG_INFO,
			"changed-blocks csi (%s): %zu ranges, %llu bytes changed; %llu tuples in %llu calls, %.3f s",
			req->method_used, list.n, (unsigned long long)req->stats.bytes_changed,
			(unsigned long long)req->stats.extents_new,
			(unsigned long long)req->stats.calls, cbt_now() - t0);
	else
		ctl_log(CTL_LOG_INFO,
			"changed-blocks %s (%s): %zu ranges, %llu bytes changed; %llu + %llu extents compared in %llu calls, %.3f s",
			a.prod->name, req->method_used, list.n,
			(unsigned long long)req->stats.bytes_changed,
			(unsigned long long)req->stats.extents_old,
			(unsigned long long)req->stats.extents_new,
			(unsigned long long)req->stats.calls, cbt_now() - t0);
	if (a.output)
		cbt_summary(a.prod, req, &list, a.output, c.json, cbt_now() - t0);
out:
	free(text);
	free(ca);
	dp_cbl_fini(&list);
	return ret;
}
