/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_cmd.h - `ferry bench`, the one entry point of bench/ (the
 * scenarios, options and reports are in bench/bench.h, private to bench/).
 *
 * bench/ builds on control/cli (options, log sink, exit codes) and the
 * datapath; control/main.c calls bench_cmd() from its verb table, and
 * nothing in bench/ calls back into control/ above control/cli.
 */
#ifndef FERRY_BENCH_CMD_H
#define FERRY_BENCH_CMD_H

/*
 * bench_cmd() - run `ferry bench` with its own command line (argv[0] is
 * "bench"); prints its report on stdout and its errors on stderr.
 * Return: 0 or -errno, printed; main() makes it the exit code
 * (ctl_exit_code(), control/cli/cli.h).
 */
int bench_cmd(int argc, char **argv);

#endif /* FERRY_BENCH_CMD_H */
