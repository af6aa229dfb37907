#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's main job, tests/demo.sh, as a user runs it: no password in the
# environment (the demo makes one, readable by its owner only), a backup, an
# incremental, both restores verified byte by byte.
. "$(dirname "$0")/lib/t_lib.sh"
t_run env -u FERRY_PASSWORD -u FERRY_PASSWORD_FILE -u FERRY_PASSWORD_COMMAND \
    DEMO_DIR="$t_tmp/demo" FERRY="$FERRY" "$FERRY_SRC/tests/demo.sh"
t_ok "tests/demo.sh succeeds (exit $t_rc: $(tail -3 <<<"$t_err"))" [ "$t_rc" = 0 ]
t_ok "it verified both restores" grep -q "verified: both snapshots restore byte-identical" <<<"$t_out"
t_ok "the second backup stored only the change" grep -q "new 4 chunks" <<<"$t_out"
t_ok "its password file is the owner's only" [ "$(stat -c %a "$t_tmp/demo/password")" = 600 ]
t_done
