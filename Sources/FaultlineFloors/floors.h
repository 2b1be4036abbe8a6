/*
 * floors.h: what main.c and wakeups.c share in faultline-floors.
 */
#ifndef FAULTLINE_FLOORS_H
#define FAULTLINE_FLOORS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The child the watchdog kills, 0 when none. */
extern volatile pid_t current_child;
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t now_ns(void);
/* waitpid, retried on EINTR; the raw status, or -1. */
int reap(pid_t pid);
/* Kills and reaps a child after an error in the parent. */
void abandon(pid_t pid);
/* In a long-lived child: die with the parent, and stop if it is already gone. */
void follow_parent(pid_t parent);
/* Reads / writes exactly `size` bytes; 0, or -1. */
int read_all(int fd, void *buffer, size_t size);
int write_all(int fd, const void *buffer, size_t size);
/* Closes both ends of a pipe. */
void close_pair(int pair[2]);

/* wakeups.c: round trips to a partner process; each writes `count` samples, returns 0 or an errno. */
int measure_futex(int64_t *samples, int count);
int measure_eventfd(int64_t *samples, int count);
int measure_pipe(int64_t *samples, int count);

/* faults.c: a forked child's fault seen by its parent; a fault caught and siglongjmp'd in one process. */
int measure_fault(int64_t *samples, int count);
int measure_longjmp(int64_t *samples, int count);

/* crashes.c: the pool's crash floor; crashes per second into `per_second`, returns 0 or an errno. */
int measure_crash_rate(const char *library, int crashes, double *per_second);

#endif
