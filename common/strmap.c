/* strmap.c - open-addressing hash map keyed by strings (FNV-1a). */
#include <stdlib.h>
#include <string.h>

#include "common.h"

static uint32_t
strhash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

static struct strmap_entry *
find_slot(struct strmap_entry *slots, size_t cap, const char *key,
	  uint32_t h)
{
	size_t i = h & (cap - 1);

	while (slots[i].key &&
	       (slots[i].hash != h || strcmp(slots[i].key, key) != 0))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

static void
rehash(struct strmap *m, size_t cap)
{
	struct strmap_entry *slots = xcalloc(cap, sizeof(*slots));
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].key)
			*find_slot(slots, cap, m->slots[i].key,
				   m->slots[i].hash) = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
}

void *
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint32_t h = strhash(key);
	struct strmap_entry *e;
	void *old;

	if ((m->n + 1) * 4 >= m->cap * 3)
		rehash(m, m->cap ? m->cap * 2 : 16);
	e = find_slot(m->slots, m->cap, key, h);
	if (e->key) {
		old = e->value;
		e->value = value;
		return old;
	}
	e->key = key;
	e->hash = h;
	e->value = value;
	m->n++;
	return NULL;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_entry *e;

	if (!m->n)
		return NULL;
	e = find_slot(m->slots, m->cap, key, strhash(key));
	return e->key ? e->value : NULL;
}

void
strmap_release(struct strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}
