#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/lint/t_json_numbers.sh - the JSON writers of repository objects print
# integers as plain digits (FORMAT.md "JSON numbers"). cJSON's number
# helpers print a double, and an integral one outside the int range through
# %1.15g: 1796506248410470 becomes 1.79650624841047e+15, which Go's int64 and
# Rust's u64 refuse. So writer code uses none of them; datapath/dp_json.c
# writes raw digits instead (json_add_u64()). Reading numbers (valuedouble,
# cJSON_IsNumber) is fine: that is how the old form stays readable.
set -uo pipefail
cd "${FERRY_SRC:-$(dirname "$0")/../..}" || exit 99
git rev-parse --git-dir >/dev/null 2>&1 || { echo "t_json_numbers: not a git checkout" >&2; exit 77; }
# the code that writes repository objects (and changed-block lists)
writers=(datapath)
helpers='cJSON_(AddNumberToObject|CreateNumber|SetNumberValue|SetNumberHelper|SetIntValue|CreateIntArray|CreateFloatArray|CreateDoubleArray)\b'
mapfile -t files < <(git ls-files "${writers[@]/%//*.c}" "${writers[@]/%//*.h}")
[ ${#files[@]} -gt 0 ] || { echo "t_json_numbers: no files under ${writers[*]}" >&2; exit 99; }
hits=$(grep -nE "$helpers" "${files[@]}")
if [ -n "$hits" ]; then
	echo "t_json_numbers: cJSON number helpers print exponents (1.79650624841047e+15); write digits (json_add_u64() in datapath/dp_json.c):" >&2
	echo "$hits" >&2
	exit 1
fi
echo "t_json_numbers: ${#files[@]} files under ${writers[*]} use no cJSON number helper"
