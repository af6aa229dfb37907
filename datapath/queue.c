// SPDX-License-Identifier: MIT
/*
 * datapath/queue.c - a bounded multi-producer multi-consumer queue of
 * pointers: the hand-off between pipeline stages. A full queue stalls its
 * producers, which is how a slow stage slows the ones before it.
 */
#include <stdlib.h>

#include "queue.h"

int dp_queue_init(struct dp_queue *q, unsigned int cap, const atomic_bool *stop)
{
	memset(q, 0, sizeof(*q));
	q->items = calloc(cap, sizeof(void *));
	if (!q->items)
		return -ENOMEM;
	q->cap = cap;
	q->stop = stop;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return 0;
}

void dp_queue_fini(struct dp_queue *q)
{
	if (!q->items)
		return;
	free(q->items);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	q->items = NULL;
}

int dp_queue_push(struct dp_queue *q, void *item)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap && !atomic_load(q->stop))
		pthread_cond_wait(&q->not_full, &q->lock);
	if (atomic_load(q->stop)) {
		ret = -ECANCELED;
	} else {
		q->items[(q->head + q->count) % q->cap] = item;
		q->count++;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void *dp_queue_pop(struct dp_queue *q)
{
	void *item = NULL;

	pthread_mutex_lock(&q->lock);
	while (!q->count && !q->closed && !atomic_load(q->stop))
		pthread_cond_wait(&q->not_empty, &q->lock);
	if (q->count && !atomic_load(q->stop)) {
		item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

void dp_queue_close(struct dp_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	pthread_cond_broadcast(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

void dp_queue_wake(struct dp_queue *q)
{
	if (!q->items)
		return;
	pthread_mutex_lock(&q->lock);
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

void *dp_queue_trypop(struct dp_queue *q, bool *closed)
{
	void *item = NULL;

	/* unlike dp_queue_pop(), hands out items after a stop too: to drain the queue */
	pthread_mutex_lock(&q->lock);
	if (q->count) {
		item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->count--;
		pthread_cond_signal(&q->not_full);
	}
	*closed = q->closed && !q->count;
	pthread_mutex_unlock(&q->lock);
	return item;
}
