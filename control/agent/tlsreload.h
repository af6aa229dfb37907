/* SPDX-License-Identifier: MIT */
/*
 * control/agent/tlsreload.h - the agent's TLS listener, restarted when its
 * certificate's files change (private to control/agent).
 *
 * libmicrohttpd reads the certificate and key once, when the server starts
 * (control/httpd/httpd.h), and the kubelet updates a mounted Secret's files
 * in place (a new directory behind the ..data link) within about a minute
 * of the Secret's change. So the agent looks at the two files every
 * @every_s (a minute; $FERRY_AGENT_TLS_CHECK_S); when either changed
 * (modification time, inode or size), it first starts a server with the new
 * pair on 127.0.0.1:0 (a pair that does not load never takes the listener
 * down: the next look tries again), then stops the listener and starts it
 * again on its address with the new pair. Connections open at that moment
 * are closed; the controller's next read (a second later) connects again.
 * Single-threaded: the agent's sampling loop calls agent_tls_poll().
 */
#ifndef FERRY_CTL_AGENT_TLSRELOAD_H
#define FERRY_CTL_AGENT_TLSRELOAD_H

#include "control/httpd/httpd.h"

struct agent_tls;

/**
 * agent_tls_new() - watch the pair of a running TLS server
 * @o:   the options @srv was started with (copied; o->pages and o->arg are
 *       borrowed until agent_tls_free(), as ctl_httpd_start() has them)
 * @srv: transferred: agent_tls_free() stops it
 * Return: 0; -EINVAL (@o without tls_cert and tls_key); -ENOMEM (@srv is
 * then still the caller's).
 */
int agent_tls_new(const struct ctl_httpd_opts *o, struct ctl_httpd *srv, double every_s,
		  struct agent_tls **out);

/**
 * agent_tls_poll() - at @now (CLOCK_MONOTONIC seconds), once every @every_s:
 * restart the listener if the files changed
 * Return: 1 (restarted with the new pair); 0 (nothing changed, or not yet
 * time); -errno of a new pair that did not load (logged once per change;
 * the old listener keeps serving) or of a restart that failed (logged; no
 * listener until a later poll succeeds).
 */
int agent_tls_poll(struct agent_tls *t, double now);

/* agent_tls_free() - stop the listener and free; NULL is a no-op */
void agent_tls_free(struct agent_tls *t);

#endif /* FERRY_CTL_AGENT_TLSRELOAD_H */
