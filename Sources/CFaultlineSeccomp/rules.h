/* rules.h: the rule tables of rules.c, for build.c. Internal. */
#ifndef CFAULTLINE_SECCOMP_RULES_H
#define CFAULTLINE_SECCOMP_RULES_H

#include "include/CFaultlineSeccomp.h"
#include <CFaultlineSandbox.h>

enum { RULES_PURE = 1, RULES_THREADS, RULES_POOL, RULES_READ, RULES_WRITE };

/* The rules of one set (RULES_*) and their count. */
const fl_seccomp_rule *fl_seccomp_rules(int set, size_t *count);

#endif
