/*
 * FaultlineSimulator: a small C++ library behind extern "C" functions, the
 * kind of "large C++ library" the post calls from Python: a reaction
 * simulator that keeps state set up by an init function, parses a program
 * from a string, fills an output buffer, and has real-looking bugs (a species
 * index taken from the input without a bounds check; a null dereference on
 * an unknown species name). Experiment 11 runs it through every strategy.
 */
#ifndef FAULTLINE_SIMULATOR_H
#define FAULTLINE_SIMULATOR_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* int(void): builds the species table (A..H, starting amounts); 0 on success. Call once per process. */
int fl_sim_init(void);

/* int32(string, double, out_string[N]): runs PROGRAM for STEPS steps of 0.1 s,
   from a copy of the state fl_sim_init set up (runs do not see each other), and writes "A=… B=…" (the species the program touches) into OUT. Returns
   the number of reactions applied, or -1 for a program it rejects cleanly
   (empty), -2 when fl_sim_init has not run. PROGRAM is reactions separated
   by ';', each "X+Y>Z:rate" with X, Y, Z species names A..H, or "#N" for
   species number N. Bugs on purpose: "#N" is not bounds-checked (a large N
   reads far outside the table: SIGSEGV), and a name that is not a species
   dereferences a null pointer (SIGSEGV near 0x0). */
int32_t fl_sim_run(const char *program, double steps, void *out, size_t capacity);

/* double(double, double): the Arrhenius rate k = A * exp(-Ea / (R * T)) of
   the table's reference reaction at TEMPERATURE (K) with activation energy
   EA (J/mol); 0 before fl_sim_init. */
double fl_sim_rate(double temperature, double ea);

/* int32(string): the number of tokens (species, rates, operators) in a program. */
int32_t fl_sim_tokens(const char *program);

/* int64(bytes): a checksum of a state snapshot (the sum of its bytes, weighted by the table's first amount). */
int64_t fl_sim_checksum(const void *data, size_t length);

#ifdef __cplusplus
}
#endif
#endif
