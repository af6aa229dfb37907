# SPDX-License-Identifier: MIT
"""t_controller_errors: `ferry controller` on bad input says one line on stderr that
names what is wrong (the server, the file, the verb and resource, the fix) and exits
with ferry's exit code (README "Exit codes"), without retrying for long:
  9  the API server cannot be reached (refused: a closed loopback port)
  8  it refuses: 401 (a token it does not know), 403 (RBAC grants nothing), a
     certificate its CA did not sign
  2  bad options, a kubeconfig that does not parse or lacks the context, no
     configuration at all, an in-cluster environment without a token
  1  the metrics address is taken
Runs against the shared box (a namespace of its own) or a box of its own; the
black-holed server (a connect that is never answered) is the client's test
(tests/k8s/t_k8s_netns.sh): the controller's first read of its Lease gives up
after 15 s.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402
import kboxtest  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 12: bad input; README Exit codes"


def run(env, args, extra_env=None, timeout=60):
    e = dict(os.environ)
    for k in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAME", "POD_NAMESPACE"):
        e.pop(k, None)
    e.update(extra_env or {})
    t0 = time.time()
    p = subprocess.run([env.ferry, "controller", "--identity", "bad", "--metrics-addr", "127.0.0.1:0"] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e, timeout=timeout)
    return p.returncode, p.stderr, time.time() - t0


def one_line(what, rc, err, want_rc, *words):
    lines = [x for x in err.splitlines() if x.strip()]
    eq(f"{what}: exit {want_rc}", rc, want_rc, ref=REF)
    check(f"{what}: one line on stderr, an error", len(lines) == 1 and lines[0].startswith("ferry: error: "),
          lines, ref=REF)
    for w in words:
        check(f"{what}: the line names {w!r}", w in err, err, ref=REF)


def kubeconfig(env, name, server, token="t", ca=None, ns="default", context="c", raw=None):
    path = os.path.join(env.tmp, name + ".kubeconfig")
    with open(path, "w") as f:
        if raw is not None:
            f.write(raw)
        else:
            f.write(f"apiVersion: v1\nkind: Config\ncurrent-context: {context}\n"
                    f"clusters:\n- name: b\n  cluster:\n    server: {server}\n"
                    + (f"    certificate-authority: {ca}\n" if ca else "") +
                    f"users:\n- name: u\n  user:\n    token: {token}\n"
                    f"contexts:\n- name: {context}\n  context:\n    cluster: b\n    user: u\n"
                    f"    namespace: {ns}\n")
    return path


def main():
    box = kboxtest.Box()
    if box.real:
        kboxtest.skip("needs tokens minted by the box")
    env = opkit.Env(box)
    ns = box.namespace("op-err")

    # refused: nothing listens on 127.0.0.1:1
    kc = kubeconfig(env, "refused", "https://127.0.0.1:1")
    rc, err, secs = run(env, ["--kubeconfig", kc])
    one_line("refused", rc, err, 9, "127.0.0.1:1", kc)
    check("refused: no long retries (3 connects)", secs < 10, secs, ref=REF)

    # 401: a token the server does not know
    kc = kubeconfig(env, "unknown-token", box.url, token="not-a-token", ca=box.ca, ns=ns)
    rc, err, _ = run(env, ["--kubeconfig", kc])
    one_line("401", rc, err, 8, box.url.split("//")[1], "refused the credentials", kc)

    # 403: a service account that RBAC grants nothing
    code, _, body = box.admin.post(f"/api/v1/namespaces/{ns}/serviceaccounts",
                                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
    assert code == 201, body
    kc = kubeconfig(env, "nobody", box.url, token=env.token("nobody", ns), ca=box.ca, ns=ns)
    rc, err, _ = run(env, ["--kubeconfig", kc])
    one_line("403", rc, err, 8, "forbidden", "grant 'get' on 'leases", ns)

    # a CA that did not sign the server's certificate
    other = os.path.join(env.tmp, "other-ca")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj", "/CN=not-the-cluster-ca", "-keyout", other + ".key",
                        "-out", other + ".crt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if r.returncode == 0:
        kc = kubeconfig(env, "wrong-ca", box.url, token="t", ca=other + ".crt", ns=ns)
        rc, err, _ = run(env, ["--kubeconfig", kc])
        one_line("a CA that did not sign the server", rc, err, 8, other + ".crt")

    # configuration
    kc = kubeconfig(env, "garbage", None, raw="clusters: [unterminated\n  - {\n")
    rc, err, _ = run(env, ["--kubeconfig", kc])
    one_line("a kubeconfig that does not parse", rc, err, 2, kc)
    kc = kubeconfig(env, "ctx", box.url, ca=box.ca)
    rc, err, _ = run(env, ["--kubeconfig", kc, "--context", "nope"])
    one_line("a context the kubeconfig lacks", rc, err, 2, "nope", kc)
    rc, err, _ = run(env, ["--kubeconfig", os.path.join(env.tmp, "missing.kubeconfig")])
    one_line("a kubeconfig that does not exist", rc, err, 2, "missing.kubeconfig")
    rc, err, _ = run(env, [], {"HOME": os.path.join(env.tmp, "nohome")})
    one_line("no kubeconfig and not in a cluster", rc, err, 2, "KUBERNETES_SERVICE_HOST")
    rc, err, _ = run(env, [], {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": "1",
                               "HOME": os.path.join(env.tmp, "nohome")})
    if not os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token"):
        one_line("in-cluster without a mounted token", rc, err, 2, "serviceaccount/token")

    # options
    for args, words in [(["--lease-duration", "5"], ["--lease-duration (5 s) must exceed --renew-deadline"]),
                        (["--retry-period", "9"], ["1.2 x --retry-period (9 s)"]),
                        (["--lease-duration", "1.5"], ["whole seconds"]),
                        (["--metrics-addr", "nowhere"], ["--metrics-addr 'nowhere'"]),
                        (["--kube-api-qps", "0"], ["kube-api-qps"]),
                        (["extra"], ["unexpected argument 'extra'"])]:
        rc, err, _ = run(env, ["--kubeconfig", box.kubeconfig] + args)
        one_line(f"options {' '.join(args)}", rc, err, 2, *words)

    # the metrics address is taken (after a good connection: the admin may read any Lease)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    e = dict(os.environ)
    e.pop("KUBECONFIG", None)
    p = subprocess.run([env.ferry, "controller", "--kubeconfig", box.kubeconfig, "-n", ns, "--identity", "bad",
                        "--metrics-addr", f"127.0.0.1:{port}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=e, timeout=60)
    s.close()
    eq("a metrics address in use: exit 1", p.returncode, 1, ref=REF)
    check("a metrics address in use: the line names it", f"listen on 127.0.0.1:{port} failed" in p.stderr,
          p.stderr, ref=REF)
    env.close()
    kboxtest.finish()


if __name__ == "__main__":
    main()
