// SPDX-License-Identifier: MIT
/*
 * k8s/statemap.c - a reconciler's state per key (k8s.h, struct
 * k8s_statemap): a list under a mutex. A controller holds a few hundred
 * keys at most and looks one up once a pass, so a list is enough; the
 * lock guards the list, never a state (the runtime gives a key to one
 * worker at a time).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_int.h"

struct sm_entry {
	struct sm_entry *next;
	char *key;
	void *state;
};

struct k8s_statemap {
	pthread_mutex_t lock; /* @entries, @n */
	struct sm_entry *entries;
	size_t n;
	k8s_state_new_fn new_fn;
	k8s_state_free_fn free_fn;
};

int k8s_statemap_new(k8s_state_new_fn new_fn, k8s_state_free_fn free_fn, struct k8s_statemap **out)
{
	struct k8s_statemap *m;

	*out = NULL;
	if (!new_fn || !free_fn)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->new_fn = new_fn;
	m->free_fn = free_fn;
	*out = m;
	return 0;
}

int k8s_statemap_at(struct k8s_statemap *m, const char *key, void **state)
{
	struct sm_entry *e;
	int ret = 0;

	assert(m && key);
	*state = NULL;
	pthread_mutex_lock(&m->lock);
	for (e = m->entries; e && strcmp(e->key, key); e = e->next)
		;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->key = strdup(key)))
			ret = -ENOMEM;
		else
			ret = m->new_fn(&e->state);
		if (ret) {
			if (e)
				free(e->key);
			free(e);
			goto out_unlock;
		}
		e->next = m->entries;
		m->entries = e;
		m->n++;
	}
	*state = e->state;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void k8s_statemap_drop(struct k8s_statemap *m, const char *key)
{
	struct sm_entry **pp, *e = NULL;

	assert(m && key);
	pthread_mutex_lock(&m->lock);
	for (pp = &m->entries; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, key)) {
			e = *pp;
			*pp = e->next;
			m->n--;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	if (e) {
		m->free_fn(e->state);
		free(e->key);
		free(e);
	}
}

size_t k8s_statemap_len(struct k8s_statemap *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->n;
	pthread_mutex_unlock(&m->lock);
	return n;
}

void k8s_statemap_free(struct k8s_statemap *m)
{
	if (!m)
		return;
	while (m->entries) {
		struct sm_entry *e = m->entries;

		m->entries = e->next;
		m->free_fn(e->state);
		free(e->key);
		free(e);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}
