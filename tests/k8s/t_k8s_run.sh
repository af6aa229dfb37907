#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/k8s/t_k8s_run.sh api|box PROGRAM [ARGS...] - run a test of k8s/ against a cluster.
#   api: FERRY_TEST_KUBECONFIG (the box tests/run shares, or a real cluster); run alone
#        (plain meson test), a box of its own
#   box: always a box of its own (fault hooks, compaction, restarts must not disturb the
#        shared one); skipped (77) when FERRY_TEST_KUBECONFIG names a real cluster
# A box's HTTP/2 front reaches the program as K8S_H2_KUBECONFIG.
. "$(dirname "$0")/../lib/t_lib.sh"
mode=$1; shift
KBOX=$FERRY_SRC/tests/kbox/kbox

own_box() {
    [ -x "$KBOX" ] || t_fail "no $KBOX"
    command -v /usr/bin/python3 >/dev/null || t_fail "needs Debian's /usr/bin/python3 (tests/install-deps.sh)"
    "$KBOX" start "$t_tmp/box" >"$t_tmp/kbox.out" 2>&1 ||
        t_fail "the cluster in a box did not start: $(tail -5 "$t_tmp/kbox.out")"
    t_on_exit "'$KBOX' stop '$t_tmp/box'"
    export FERRY_TEST_KBOX_DIR=$t_tmp/box
    export FERRY_TEST_KUBECONFIG=$t_tmp/box/admin.kubeconfig
}

case $mode in
api)
    [ -n "${FERRY_TEST_KUBECONFIG:-}" ] || own_box ;;
box)
    if [ -n "${FERRY_TEST_KUBECONFIG:-}" ] && [ -z "${FERRY_TEST_KBOX_DIR:-}" ]; then
        t_skip "needs the box's fault hooks; FERRY_TEST_KUBECONFIG names a real cluster"
    fi
    own_box ;;
*) t_error "usage: t_k8s_run.sh api|box PROGRAM" ;;
esac
if [ -n "${FERRY_TEST_KBOX_DIR:-}" ] && [ -f "$FERRY_TEST_KBOX_DIR/env" ]; then
    h2=$(sed -n 's/^KBOX_H2_URL=//p' "$FERRY_TEST_KBOX_DIR/env")
    url=$(sed -n 's/^KBOX_URL=//p' "$FERRY_TEST_KBOX_DIR/env")
    if [ -n "$h2" ]; then
        sed "s#$url#$h2#" "$FERRY_TEST_KUBECONFIG" >"$t_tmp/h2.kubeconfig"
        export K8S_H2_KUBECONFIG=$t_tmp/h2.kubeconfig
    fi
fi
# a CA that signed nothing the server shows (the "wrong CA" cases)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=not-the-cluster-ca -keyout "$t_tmp/other-ca.key" -out "$t_tmp/other-ca.crt" \
    >/dev/null 2>&1 || t_error "openssl could not make a CA"
export K8S_OTHER_CA=$t_tmp/other-ca.crt
export K8S_TMP=$t_tmp
"$@"
