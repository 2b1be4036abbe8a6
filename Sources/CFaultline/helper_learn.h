/*
 * helper_learn.h: the helper's learning mode (helper_learn.c). Internal.
 */
#ifndef CFAULTLINE_HELPER_LEARN_H
#define CFAULTLINE_HELPER_LEARN_H

#include "channel.h"
#include "internal.h"

#include <poll.h>

#define FL_HELPER_LEARN_MAX 64

/* The shared record's memfd (made once): its descriptor, or -1. */
int fl_helper_learn_record(void);
/* Receives worker `pid`'s listener on `handoff` (closed), within 2 s: 0, or -1. */
int fl_helper_learn_receive(int handoff, pid_t pid, fl_channel *channel);
/* Closes worker `pid`'s listener (before its channel is unmapped). */
void fl_helper_learn_forget(pid_t pid);
/* In a freshly forked worker (async-signal-safe): closes the listeners and the record. */
void fl_helper_learn_close_in_child(void);
/* Fills `watch` with the listeners: how many. */
int fl_helper_learn_poll(struct pollfd *watch, int capacity);
/* Answers what `watch` (as filled, then polled) says is ready. */
void fl_helper_learn_answer(const struct pollfd *watch, int count);

#endif
