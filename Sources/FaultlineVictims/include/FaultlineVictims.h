/*
 * FaultlineVictims: native functions that misbehave on purpose.
 *
 * Every function has the shape `int f(int)`, the shape Faultline calls.
 * They are built into libFaultlineVictims.so so that tests, experiments and
 * the `faultline` command load them the way a user loads an unknown library:
 * with dlopen/dlsym. Faults go through volatile pointers, because clang -O2
 * deletes a plain write through NULL.
 */
#ifndef FAULTLINE_VICTIMS_H
#define FAULTLINE_VICTIMS_H

#ifdef __cplusplus
extern "C" {
#endif

/* The write-up's function: prints "r is N", then writes through NULL when r > 3. */
int raise_a_fault(int r);

/* Returns r. The cheap, well-behaved callee. */
int fl_identity(int r);
/* Writes through a volatile NULL pointer: SIGSEGV, address 0. */
int fl_null_write(int r);
/* Reads a mapping that lies past the end of its (empty) file: SIGBUS. */
int fl_bus_error(int r);
/* Integer division by zero: SIGFPE. */
int fl_divide_by_zero(int r);
/* An undefined instruction (ud2): SIGILL. */
int fl_illegal_instruction(int r);
/* A breakpoint instruction (int3): SIGTRAP. */
int fl_breakpoint(int r);
/* abort(): SIGABRT. */
int fl_abort(int r);
/* Unbounded recursion until the stack overflows: SIGSEGV on the guard page. */
int fl_stack_overflow(int r);
/* Recursion `kib` frames deep, each over 1 KiB of stack (a deep but finite
   stack, about kib KiB); returns kib. */
int fl_stack_use(int kib);
/* Starts a thread that writes through NULL, and joins it. */
int fl_fault_in_thread(int r);
/* exit(r): the process ends with status r (r may be 0). */
int fl_exit(int r);
/* exit(0): ends the process "successfully" without returning. */
int fl_exit_zero(int r);
/* Never returns: spins forever. */
int fl_infinite_loop(int r);
/* Sleeps r milliseconds, then returns r: slow but correct. */
int fl_slow(int r);
/* Frees the same block twice: glibc detects it and aborts (SIGABRT). */
int fl_double_free(int r);
/* raise(SIGSEGV): a sent signal, not a hardware fault. */
int fl_raise_segv(int r);
/* Blocks SIGSEGV, then writes through NULL: the kernel kills the process. */
int fl_fault_with_segv_blocked(int r);
/* Prints lines on stdout and stderr, then returns r. */
int fl_noisy(int r);
/* Takes a mutex of the library's own; faults while holding it when r > 0. */
int fl_fault_holding_lock(int r);
/* Takes the same mutex and returns r: deadlocks once fl_fault_holding_lock faulted. */
int fl_locked_identity(int r);
/* Allocates r KiB (at least 1) and opens /dev/null, then faults: both leak when jumped over. */
int fl_leak_then_fault(int r);
/* Increments a counter of resources "in use" and decrements it on the way out;
   when r > 0 it faults between the two, so the cleanup never runs. */
int fl_cleanup_skipped(int r);
/* How many resources fl_cleanup_skipped believes are in use. */
int fl_resources_in_use(int r);
/* C++: throws and catches r exceptions (at least one); returns how many were caught.
   The cost of a throw shows which unwinder the process uses. */
int fl_cxx_throw_catch(int r);
/* C++: throws an exception nobody catches: std::terminate, abort(), SIGABRT. */
int fl_cxx_uncaught(int r);
/* A mixed workload: r >= 0 returns r; r == -1 SIGSEGV; -2 SIGFPE; -3 SIGILL;
   -4 SIGABRT; -5 stack overflow; -6 SIGBUS; -7 exit(7). */
int fl_mixed(int r);

/* ---- hostile.c: victims aimed at the machinery (a negative r triggers; see hostile.c) ---- */
/* Fills every writable shared mapping with garbage, returns -r. */
int fl_scribble_shared(int r);
/* The same, then writes through NULL. */
int fl_scribble_shared_then_fault(int r);
/* Fills every writable mapping but the current stack with garbage, returns -r. */
int fl_scribble_private(int r);
/* Writes 16 bytes of garbage into every socket descriptor, returns -r. */
int fl_write_into_sockets(int r);
/* r < 0: writes a line to every descriptor but stderr (SIGPIPE ignored), then returns -r. */
int fl_write_every_descriptor(int r);
/* Reads once from standard input: the bytes it got (0 at end of file), plus r when r > 0. */
int fl_read_standard_input(int r);
/* kill(getppid(), SIGKILL), returns -r. */
int fl_kill_parent(int r);
/* kill(0, SIGTERM): its own process group. */
int fl_kill_group_term(int r);
/* kill(0, SIGKILL): its own process group. */
int fl_kill_group_kill(int r);
/* kill(0, SIGSTOP): stops its own process group. */
int fl_stop_group(int r);
/* Forks a child that segfaults, waits for it, returns -r. */
int fl_child_segfaults(int r);
/* Forks a child that segfaults 200 ms later, returns -r at once. */
int fl_child_crashes_later(int r);
/* pthread_exit(NULL) on the calling thread. */
int fl_pthread_exit(int r);
/* Double-forks a daemon (setsid, named "fl-daemon") that waits forever; returns -r. */
int fl_daemon(int r);
/* alarm(1): SIGALRM ends the process a second later; returns -r. */
int fl_alarm(int r);
/* Starts a thread that writes through NULL 300 ms later; returns -r. */
int fl_thread_faults_later(int r);
/* Faults inside a function whose (exported) name is 1,000 characters long. */
int fl_fault_in_long_name(int r);
/* Installs a SIGUSR1 handler on the alternate signal stack in force (SA_ONSTACK)
   that recurses without end, and raises SIGUSR1. */
int fl_altstack_overflow(int r);
/* -1: alarm(1); -2: a thread that faults 300 ms later; r > 0: sleeps r ms. Returns |r|. */
int fl_leave_state_then_sleep(int r);

#ifdef __cplusplus
}
#endif
#endif

/* ==== signatures.c: victims of many C signatures (calls through libffi) ==== */
#ifndef FAULTLINE_VICTIMS_SIGNATURES_H
#define FAULTLINE_VICTIMS_SIGNATURES_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h> /* bool: C's _Bool, and C++'s bool (the same ABI) */
#ifdef __cplusplus
extern "C" {
#endif
/* int8(int8, int8): a + b, wrapping. */
int8_t fl_sig_add_i8(int8_t a, int8_t b);
/* int16(int16): -a, wrapping. */
int16_t fl_sig_neg_i16(int16_t a);
/* int32(int32, int32): a * b, wrapping. */
int32_t fl_sig_mul_i32(int32_t a, int32_t b);
/* int64(int64): a. */
int64_t fl_sig_i64(int64_t a);
/* int64(int64, int64): a - b, wrapping. */
int64_t fl_sig_sub_i64(int64_t a, int64_t b);
/* uint8(uint8): a + 1, wrapping. */
uint8_t fl_sig_u8(uint8_t a);
/* uint16(uint16): a ^ 0xffff. */
uint16_t fl_sig_u16(uint16_t a);
/* uint32(uint32): a * 3, wrapping. */
uint32_t fl_sig_u32(uint32_t a);
/* uint64(uint64): a. */
uint64_t fl_sig_u64(uint64_t a);
/* float(float, double): a * 2 + b. */
float fl_sig_f(float a, double b);
/* double(double): a / 4. */
double fl_sig_d(double a);
/* bool(bool): !b. */
bool fl_sig_not(bool b);
/* int8(int32): a truncated to 8 bits (a widened return must be narrowed back). */
int8_t fl_sig_i8_of(int32_t a);
/* uint8(int32): a truncated to 8 bits. */
uint8_t fl_sig_u8_of(int32_t a);
/* bool(int64): a > 0. */
bool fl_sig_is_positive(int64_t a);
/* double(double, string): x + strlen(text). */
double fl_sig_mix(double x, const char *text);
/* int32(string): strlen(text). */
int32_t fl_sig_strlen(const char *text);
/* int64(bytes): the sum of the bytes. */
int64_t fl_sig_sum_bytes(const void *data, size_t length);
/* void(string, out_string[N]): writes "<text>!" truncated to N - 1 bytes and a NUL. */
void fl_sig_fill(const char *text, void *out, size_t capacity);
/* void(bytes, out_bytes[N]): writes the bytes reversed (at most N). */
void fl_sig_reverse(const void *data, size_t length, void *out, size_t capacity);
/* void(out_string[N]): writes 0xff 0xfe (not UTF-8) when N >= 2. */
void fl_sig_write_invalid_utf8(void *out, size_t capacity);
/* void(): counts its calls. */
void fl_sig_touch(void);
/* int32(): how many times fl_sig_touch ran. */
int32_t fl_sig_touched(void);
/* double(int8, uint16, int32, int64, uint64, float, double, bool, string, double, double, double, double, int32):
   the sum of all (bool adds 1000, string adds its length); some arguments go on the stack. */
double fl_sig_many(int8_t a, uint16_t b, int32_t c, int64_t d, uint64_t e, float f, double g, bool h,
                   const char *i, double j, double k, double l, double m, int32_t n);
/* int32(string): strlen(text); writes through NULL when text is "crash". */
int32_t fl_sig_crash_on(const char *text);
/* ---- init_pool.c: init functions for the pool ---- */
/* Calls fl_sig_touch() once and returns 0. */
int fl_init_returns_zero_after_touch(void);

#ifdef __cplusplus
}
#endif
#endif
/* ==== end of signatures.c ==== */

/* ==== hostile_slow.c: hostile victims whose innocent inputs are slow (experiment 10) ==== */
#ifndef FAULTLINE_VICTIMS_HOSTILE_SLOW_H
#define FAULTLINE_VICTIMS_HOSTILE_SLOW_H
#ifdef __cplusplus
extern "C" {
#endif
/* r < 0: alarm(1), returns -r (SIGALRM ends the process a second later);
   r > 0: sleeps r milliseconds, returns r; 0 returns 0. */
int fl_alarm_then_slow(int r);
/* r < 0: starts a thread that writes through NULL 300 ms later, returns -r;
   r > 0: sleeps r milliseconds, returns r; 0 returns 0. */
int fl_thread_faults_later_then_slow(int r);
/* r < 0: forks a child that segfaults 200 ms later, returns -r;
   r > 0: sleeps r milliseconds, returns r; 0 returns 0. */
int fl_child_crashes_later_then_slow(int r);
#ifdef __cplusplus
}
#endif
#endif
/* ==== end of hostile_slow.c ==== */

/* ==== init_victims.c: initializers (int init(void)) and what they set ==== */
#ifndef FAULTLINE_VICTIMS_INIT_H
#define FAULTLINE_VICTIMS_INIT_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Sets a global to 42; returns 0. */
int fl_init_setup(void);
/* The global fl_init_setup sets (0 until then) plus r. */
int fl_init_read(int r);
/* int32(): the global fl_init_setup sets. */
int32_t fl_init_state(void);
/* Counts its runs in this process; returns 0. */
int fl_init_count_runs(void);
/* runs of fl_init_count_runs * 1000 + r. */
int fl_init_runs(int r);
/* Fails: returns 7. */
int fl_init_returns_7(void);
/* Writes through NULL. */
int fl_init_crashes(void);
/* _exit(3). */
int fl_init_exits(void);
/* Sleeps forever. */
int fl_init_hangs(void);
#ifdef __cplusplus
}
#endif
#endif
/* ==== end of init_victims.c ==== */

/* ==== init_cli.c: initializers for `faultline call --init` ==== */
#ifndef FAULTLINE_VICTIMS_INIT_CLI_H
#define FAULTLINE_VICTIMS_INIT_CLI_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Sets the scale fl_cli_scaled uses to 10 and counts its runs; returns 0. */
int fl_cli_init_setup(void);
/* double(double): x times the scale (0 until fl_cli_init_setup ran). */
double fl_cli_scaled(double x);
/* runs of fl_cli_init_setup in this process * 1000 + r. */
int fl_cli_init_runs(int r);
/* Fails: returns 7. */
int fl_cli_init_returns_7(void);
/* Writes through NULL. */
int fl_cli_init_crashes(void);
/* double(double, double): a + b (the bench's signature_guard_overhead). */
double fl_cli_add_d(double a, double b);
#ifdef __cplusplus
}
#endif
#endif
/* ==== end of init_cli.c ==== */

/* ==== sandbox_victims.c: what a sandbox forbids (negative r tries it; other r returns r) ==== */
#ifndef FAULTLINE_VICTIMS_SANDBOX_H
#define FAULTLINE_VICTIMS_SANDBOX_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
/* malloc, printf to stdout and stderr, free: a deterministic value of r (any r). */
int fl_sb_compute(int r);
int fl_sb_open_etc(int r);       /* open("/etc/passwd") */
int fl_sb_socket(int r);         /* socket(AF_INET, SOCK_STREAM) */
int fl_sb_connect_tcp(int r);    /* connect to 127.0.0.1, port -r */
int fl_sb_sendto_udp(int r);     /* a UDP datagram to 127.0.0.1:9 */
int fl_sb_fork_exec(int r);      /* fork, exec /bin/sh -c 'exit 3' in the child, wait */
int fl_sb_exec(int r);           /* exec /bin/sh */
int fl_sb_thread(int r);         /* pthread_create, join: 2r */
int fl_sb_kill_parent(int r);    /* kill(getppid(), SIGKILL) */
int fl_sb_ptrace_parent(int r);  /* ptrace(PTRACE_ATTACH, getppid()) */
int fl_sb_mmap_exec(int r);      /* an anonymous PROT_EXEC mapping */
int fl_sb_sigsys_handler(int r); /* a SIGSYS handler, then socket() */
int fl_sb_block_sigsys(int r);   /* SIGSYS blocked, then socket() */
int fl_sb_burn_cpu(int r);       /* spins forever */
int fl_sb_io_uring(int r);       /* io_uring_setup */
int fl_sb_int80(int r);          /* i386's getpid through int 0x80 (x86-64) */
/* int32(string): bytes read from the file (up to 4096), or -errno. */
int fl_sb_read_file(const char *path);
/* int32(string, int32): creates the file with `bytes` bytes; the count, or -errno. */
int fl_sb_write_file(const char *path, int32_t bytes);
/* int32(string, int32): opens the file `count` times (never closed); count, or -errno of the first failure. */
int fl_sb_open_many(const char *path, int32_t count);
#ifdef __cplusplus
}
#endif
#endif
/* ==== end of sandbox_victims.c ==== */

/* ==== containment_victims.c: a taken-over callee reaching outside its process (experiment 14) ==== */
#ifndef FAULTLINE_VICTIMS_CONTAINMENT_H
#define FAULTLINE_VICTIMS_CONTAINMENT_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
int fl_ct_sendto_udp(int32_t port);          /* int32(int32): a datagram to 127.0.0.1:port; bytes sent */
int fl_ct_read_into(const char *path, char *out, size_t size); /* int32(string, out_string[N]): bytes read into out */
int fl_ct_spawn_touch(const char *marker);   /* int32(string): fork, exec sh -c 'touch MARKER', wait: its status */
int fl_ct_signal_parent(int32_t signo);      /* int32(int32): kill(getppid(), signo) */
int fl_ct_ptrace_seize(int32_t pid);         /* int32(int32): ptrace(PTRACE_SEIZE, pid), left attached */
int fl_ct_sigsys_then_connect(int32_t port); /* int32(int32): a SIGSYS handler, then TCP connect to 127.0.0.1:port */
int fl_getppid_loop(int32_t n);              /* int32(int32): n getppid() system calls; returns n */
#ifdef __cplusplus
}
#endif
#endif
/* ==== end of containment_victims.c ==== */
