/*
 * wait_status.c: the WIFEXITED family as functions. They are macros in C and
 * Swift cannot see them.
 */
#include "include/CFaultline.h"

#include <sys/wait.h>

int fl_wait_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

int fl_wait_term_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : -1; }
