/* SPDX-License-Identifier: MIT */
/*
 * control/agent/agent.h - the node agent's verbs: `ferry agent` (the
 * DaemonSet's process: eBPF pod metrics on /metrics, /healthz, /readyz;
 * cmd_agent.c) and `ferry top` (the same figures as a table on a terminal;
 * cmd_top.c). Both measure through bpf/ebpf.h and need root.
 *
 * Like every verb they take their own argv (argv[0] is the verb) and return
 * 0 or -errno with the error printed (control/cli/cli.h); control/main.c is
 * their only caller.
 */
#ifndef FERRY_CTL_AGENT_H
#define FERRY_CTL_AGENT_H

int ctl_cmd_agent(int argc, char **argv);
int ctl_cmd_top(int argc, char **argv);
/* `ferry lb status|disable`: the node's socket load balancer (cmd_lb.c) */
int ctl_cmd_lb(int argc, char **argv);

#endif /* FERRY_CTL_AGENT_H */
