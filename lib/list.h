/* SPDX-License-Identifier: Apache-2.0 */
/*
 * list.h - an intrusive circular doubly linked list, the building block of every LRU
 * in smolder: embed a struct list_node in the cached object, keep a head, move an
 * entry to the front when it is used (list_move_front) and evict from the back
 * (list_last). All operations are O(1) and allocate nothing.
 */
#ifndef SMOLDER_LIB_LIST_H
#define SMOLDER_LIB_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

struct list_node {
	struct list_node *prev, *next;
};

/* An empty list (a head), or a node that is in no list. */
static inline void list_init(struct list_node *n)
{
	n->prev = n->next = n;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

/* Unlink @n from its list (it is left initialized: unlinking it again is harmless). */
static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* Insert @n at the front of @head (most recently used). */
static inline void list_add_front(struct list_node *head, struct list_node *n)
{
	n->next = head->next;
	n->prev = head;
	head->next->prev = n;
	head->next = n;
}

/* Move @n, already in @head's list, to its front. */
static inline void list_move_front(struct list_node *head, struct list_node *n)
{
	if (head->next == n)
		return;
	list_del(n);
	list_add_front(head, n);
}

/* The first / last node of @head's list, or NULL when it is empty. */
static inline struct list_node *list_first(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->next;
}

static inline struct list_node *list_last(const struct list_node *head)
{
	return list_empty(head) ? NULL : head->prev;
}

/* for (pos = first; pos != head; pos = pos->next), safe against unlinking pos. */
#define list_for_each_safe(pos, tmp, head)                                          \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);             \
	     (pos) = (tmp), (tmp) = (pos)->next)

#endif /* SMOLDER_LIB_LIST_H */
