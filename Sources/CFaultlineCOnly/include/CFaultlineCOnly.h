/* CFaultlineCOnly: nothing to call. Depending on this target keeps a C-only
   product free of the Swift runtime (see c_only.c). */
#ifndef CFAULTLINE_C_ONLY_H
#define CFAULTLINE_C_ONLY_H
#endif
