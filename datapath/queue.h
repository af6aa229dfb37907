/* SPDX-License-Identifier: MIT */
/*
 * datapath/queue.h - a bounded queue of pointers between a job's threads (queue.c).
 * Private to datapath/.
 */
#ifndef FERRY_DP_QUEUE_H
#define FERRY_DP_QUEUE_H

#include "dp_int.h"

/* A bounded multi-producer multi-consumer queue of pointers. */
struct dp_queue {
	void **items;
	unsigned int cap, head, count;
	bool closed;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	const atomic_bool *stop;
};

int dp_queue_init(struct dp_queue *q, unsigned int cap, const atomic_bool *stop);
void dp_queue_fini(struct dp_queue *q);
/* 0, or -ECANCELED when *stop is set */
int dp_queue_push(struct dp_queue *q, void *item);
/* an item; NULL when closed and empty, or when *stop is set */
void *dp_queue_pop(struct dp_queue *q);
/*
 * An item, or NULL at once if there is none; *@closed tells whether the queue
 * is closed and empty. Items are handed out after a stop too (to drain it).
 */
void *dp_queue_trypop(struct dp_queue *q, bool *closed);
void dp_queue_close(struct dp_queue *q);
void dp_queue_wake(struct dp_queue *q);

#endif /* FERRY_DP_QUEUE_H */
