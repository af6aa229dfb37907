// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_tls.c - s3:// over TLS against a real RGW: a second radosgw
 * on the cluster of tests/run, with a beast ssl_endpoint and a certificate
 * (subjectAltName IP:127.0.0.1) from a CA this test makes. Verified with
 * ca_file and with AWS_CA_BUNDLE; a wrong CA and the system store fail with
 * -EPROTO and a line that says what to do; insecure_tls connects. The
 * bundle in memory (ca_pem, a Repository's caBundle) and credentials given
 * (access_key_id, a Repository's credentialsSecret) with none in the
 * environment: verified and signed; the wrong bundle, a wrong secret and half
 * a pair refused. Prints the
 * upload time with a signed and with an unsigned payload (README figures).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/socket.h>

#include "s3t.h"

static struct s3t t;
static pid_t rgw_pid;
static char tmp[256];

/*
 * Stop the second radosgw: SIGTERM first, so it drops its RADOS watches on
 * the cluster's control objects. A SIGKILLed one leaves them until the
 * watch timeout (30 s), and every metadata write of the fixture's radosgw
 * (a bucket created by the next test) waits for it that long.
 */
static void rgw_kill(void)
{
	if (rgw_pid > 0) {
		bool gone = false;

		kill(rgw_pid, SIGTERM);
		for (int i = 0; i < 100 && !gone; i++) {
			gone = waitpid(rgw_pid, NULL, WNOHANG) == rgw_pid;
			if (!gone)
				usleep(50000);
		}
		if (!gone) {
			kill(rgw_pid, SIGKILL);
			waitpid(rgw_pid, NULL, 0);
		}
		rgw_pid = 0;
	}
}

static void run(const char *const *argv)
{
	int rc = t_spawn((char *const *)argv);

	if (rc)
		t_error("%s failed (%d)", argv[0], rc);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &l))
		t_error("no free port");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void make_ca(const char *name)
{
	char key[300], pem[300];
	const char *argv[] = {
		"openssl", "req",  "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
		key,	   "-out", pem,	    "-days",   "2",	   "-subj",  "/CN=ferry test CA",
		NULL};

	snprintf(key, sizeof(key), "%s/%s.key", tmp, name);
	snprintf(pem, sizeof(pem), "%s/%s.pem", tmp, name);
	run(argv);
}

static void make_server_cert(void)
{
	char key[300], csr[300], pem[300], ca[300], cakey[300], ext[300], bundle[300], buf[8192];
	const char *req[] = {"openssl", "req",	"-newkey", "rsa:2048", "-nodes",	"-keyout",
			     key,	"-out", csr,	   "-subj",    "/CN=127.0.0.1", NULL};
	const char *sign[] = {
		"openssl",	   "x509", "-req", "-in",   csr, "-CA",	     ca,  "-CAkey", cakey,
		"-CAcreateserial", "-out", pem,	   "-days", "2", "-extfile", ext, NULL};
	FILE *f, *o;
	size_t n;

	snprintf(key, sizeof(key), "%s/srv.key", tmp);
	snprintf(csr, sizeof(csr), "%s/srv.csr", tmp);
	snprintf(pem, sizeof(pem), "%s/srv.pem", tmp);
	snprintf(ca, sizeof(ca), "%s/ca.pem", tmp);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", tmp);
	snprintf(ext, sizeof(ext), "%s/ext.cnf", tmp);
	snprintf(bundle, sizeof(bundle), "%s/bundle.pem", tmp);
	f = fopen(ext, "w");
	fprintf(f, "subjectAltName=IP:127.0.0.1\n");
	fclose(f);
	run(req);
	run(sign);
	o = fopen(bundle, "w");
	for (int i = 0; i < 2; i++) {
		f = fopen(i ? key : pem, "r");
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, o);
		fclose(f);
	}
	fclose(o);
}

/* a radosgw on the fixture's cluster, serving TLS only; returns its port */
static int start_rgw(void)
{
	const char *ep = strrchr(t.endpoint, ':');
	char conf[300], fe[600], pid[300], asok[300], logf[300];
	int port = free_port();
	struct s3_store_opts o = {.sz = sizeof(o), .insecure_tls = true, .timeout_ms = 2000};
	char url[64];

	snprintf(conf, sizeof(conf), "%s/test-s3-%d/ceph.conf", getenv("TMPDIR") ? "/tmp" : "/tmp",
		 ep ? atoi(ep + 1) : 0);
	if (getenv("FERRY_TEST_S3_STATE"))
		snprintf(conf, sizeof(conf), "%s/ceph.conf", getenv("FERRY_TEST_S3_STATE"));
	if (access(conf, R_OK))
		t_fail("%s not found: the TLS test runs a second radosgw on the cluster that tests/run starts (tests/s3-server.sh)",
		       conf);
	snprintf(fe, sizeof(fe), "beast ssl_endpoint=127.0.0.1:%d ssl_certificate=%s/bundle.pem",
		 port, tmp);
	snprintf(pid, sizeof(pid), "%s/rgw.pid", tmp);
	snprintf(asok, sizeof(asok), "%s/rgw.asok", tmp);
	snprintf(logf, sizeof(logf), "%s/rgw.log", tmp);
	rgw_pid = fork();
	if (rgw_pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("radosgw", "radosgw", "-f", "-c", conf, "-n", "client.rgw.gw",
		       "--rgw-frontends", fe, "--pid-file", pid, "--admin-socket", asok,
		       "--log-file", logf, NULL);
		_exit(127);
	}
	atexit(rgw_kill);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", port);
	for (int i = 0; i < 120; i++) {
		struct s3_store *st = s3t_open(&t, url, &o);
		int ret = s3_store_mkroot(st);

		s3_store_free(st);
		if (ret == 0)
			return port;
		usleep(250000);
	}
	t_error("the TLS radosgw did not answer on %s (see %s)", url, logf);
}

static int try_put(const char *url, struct s3_store_opts *o)
{
	struct s3_store *st = s3t_open(&t, url, o);
	int ret = s3_store_put(st, "tls-object", "over tls", 8);
	void *got = NULL;
	size_t len;

	if (!ret) {
		ret = s3_store_get(st, "tls-object", 100, &got, &len);
		T_ASSERT(ret || (len == 8 && !memcmp(got, "over tls", 8)), "content over TLS");
		free(got);
	}
	s3_store_free(st);
	return ret;
}

static double upload_secs(const char *url, struct s3_store_opts *o, const void *data, size_t len)
{
	struct s3_store *st = s3t_open(&t, url, o);
	double t0 = s3t_now();

	if (s3_store_put(st, "data/tl/payload", data, len))
		t_fail("payload upload: %s", s3_last_error());
	t0 = s3t_now() - t0;
	s3_store_free(st);
	return t0;
}

int main(void)
{
	struct s3_store_opts o = {.sz = sizeof(o), .timeout_ms = 20000};
	char url[64], ca[300], wrong[300];
	char *dir;
	int ret;

	s3t_init(&t, "tls");
	dir = t_tmpdir("s3tls");
	snprintf(tmp, sizeof(tmp), "%s", dir);
	make_ca("ca");
	make_ca("wrong");
	make_server_cert();
	snprintf(ca, sizeof(ca), "%s/ca.pem", tmp);
	snprintf(wrong, sizeof(wrong), "%s/wrong.pem", tmp);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d", start_rgw());

	o.ca_file = ca;
	T_ASSERT(try_put(url, &o) == 0, "with ca_file: %s", s3_last_error());
	printf("ok: verified with ca_file\n");
	o.ca_file = NULL;
	setenv("AWS_CA_BUNDLE", ca, 1);
	T_ASSERT(try_put(url, &o) == 0, "with AWS_CA_BUNDLE: %s", s3_last_error());
	printf("ok: verified with AWS_CA_BUNDLE\n");
	o.ca_file = wrong; /* the option wins over the environment */
	ret = try_put(url, &o);
	T_ASSERT(ret == -EPROTO && strstr(s3_last_error(), "not trusted") &&
			 strstr(s3_last_error(), "--s3-ca-file"),
		 "wrong CA: %d %s", ret, s3_last_error());
	printf("ok: wrong CA: %s\n", s3_last_error());
	unsetenv("AWS_CA_BUNDLE");
	o.ca_file = NULL;
	ret = try_put(url, &o);
	T_ASSERT(ret == -EPROTO && strstr(s3_last_error(), "not trusted"), "system store: %d %s",
		 ret, s3_last_error());
	printf("ok: system store: %s\n", s3_last_error());
	{
		struct s3_store_opts g = {.sz = sizeof(g), .timeout_ms = 20000};
		struct s3_store *st = NULL;
		char *pem = NULL, *bad = NULL;
		size_t n = 0, nb = 0;
		FILE *f;

		f = fopen(ca, "r");
		T_ASSERT(f && (pem = malloc(65536)) && (n = fread(pem, 1, 65536, f)) > 0, "%s", ca);
		fclose(f);
		f = fopen(wrong, "r");
		T_ASSERT(f && (bad = malloc(65536)) && (nb = fread(bad, 1, 65536, f)) > 0, "%s",
			 wrong);
		fclose(f);
		unsetenv("AWS_ACCESS_KEY_ID");
		unsetenv("AWS_SECRET_ACCESS_KEY");
		g.access_key_id = t.ak;
		g.secret_access_key = t.sk;
		g.ca_pem = pem;
		g.ca_pem_len = n;
		T_ASSERT(try_put(url, &g) == 0, "ca_pem and the credentials given: %s",
			 s3_last_error());
		printf("ok: verified with ca_pem, signed with the credentials given (none in the environment)\n");
		g.ca_pem = bad;
		g.ca_pem_len = nb;
		g.ca_file = ca; /* the bundle given wins over ca_file */
		ret = try_put(url, &g);
		T_ASSERT(ret == -EPROTO && strstr(s3_last_error(), "not trusted") &&
				 strstr(s3_last_error(), "CA bundle given ("),
			 "wrong ca_pem: %d %s", ret, s3_last_error());
		printf("ok: wrong ca_pem: %s\n", s3_last_error());
		g.ca_pem = pem;
		g.ca_pem_len = n;
		g.secret_access_key = "not-the-secret-key";
		ret = try_put(url, &g);
		T_ASSERT(ret == -EACCES || ret == -EPERM, "a wrong secret given: %d %s", ret,
			 s3_last_error());
		printf("ok: a wrong secret given: %d %s\n", ret, s3_last_error());
		g.secret_access_key = NULL;
		ret = s3_store_open(t.url,
				    &(struct s3_store_opts){.sz = sizeof(g),
							    .endpoint = url,
							    .access_key_id = t.ak},
				    &st);
		T_ASSERT(ret == -EINVAL && strstr(s3_last_error(), "no secret access key"),
			 "half a pair given: %d %s", ret, s3_last_error());
		printf("ok: half a pair given: %s\n", s3_last_error());
		setenv("AWS_ACCESS_KEY_ID", t.ak, 1);
		setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);
		free(pem);
		free(bad);
	}
	o.insecure_tls = true;
	T_ASSERT(try_put(url, &o) == 0, "insecure_tls: %s", s3_last_error());
	printf("ok: insecure_tls connects\n");
	{
		char plain[64];

		snprintf(plain, sizeof(plain), "http://%s", url + 8);
		o.timeout_ms = 1500; /* empty replies are retried until the deadline */
		ret = try_put(plain, &o);
		o.timeout_ms = 20000;
		T_ASSERT(ret < 0, "plain http to a TLS port");
		printf("ok: http:// to the TLS port: %d %s\n", ret, s3_last_error());
	}

	/* the payload hash over TLS: signed vs UNSIGNED-PAYLOAD (figures, not checks) */
	{
		size_t len = 64u << 20;
		unsigned char *data = malloc(len);
		double s[2] = {1e9, 1e9};

		t_fill_random(data, len, 5);
		o.insecure_tls = false;
		o.ca_file = ca;
		for (int round = 0; round < 3; round++) {
			for (int k = 0; k < 2; k++) {
				double d;

				setenv("FERRY_S3_PAYLOAD", k ? "unsigned" : "signed", 1);
				d = upload_secs(url, &o, data, len);
				if (d < s[k])
					s[k] = d;
			}
		}
		unsetenv("FERRY_S3_PAYLOAD");
		printf("figure: 64 MiB PUT over TLS to RGW, best of 3: signed payload %.0f MB/s, UNSIGNED-PAYLOAD %.0f MB/s\n",
		       len / s[0] / 1e6, len / s[1] / 1e6);
		free(data);
	}
	rgw_kill();
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_tls\n");
	return 0;
}
