/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example programs: the link options every example
 * takes (DESIGN.md section 6), opening the stack with a one-line error a
 * user can act on, SIGINT/SIGTERM handling and printing the counters.
 *
 * This file owns nothing protocol-related and uses only the public headers
 * include/moat/: the examples are what an application author would write.
 * Argument errors exit 2 with a usage message, open errors exit 1.
 */
#ifndef MOAT_EXAMPLES_COMMON_H
#define MOAT_EXAMPLES_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "moat/moat.h"
#include "moat/socket.h"

/* Set by the SIGINT/SIGTERM handler; main loops poll with a short timeout
 * (EX_POLL_MS) and leave when it is set. */
extern volatile sig_atomic_t ex_stop;

#define EX_POLL_MS 200

/* Name the program (for messages) and give the text of its own options,
 * printed after the link options by ex_usage(). */
void ex_init(const char *prog, const char *usage_extra);
const char *ex_prog(void);

/* Print the usage message to stderr and exit 2. @p why (may be NULL) is
 * printed first. */
_Noreturn void ex_usage(const char *why);

/* An argument no option of the program took: -h/--help print the usage,
 * anything else "unknown option"; either way exit 2. */
_Noreturn void ex_bad_opt(const char *arg);

/* Fill @p cfg with moat_config_defaults() and clear the parse state. */
void ex_link_defaults(struct moat_config *cfg);

/*
 * Try to consume the link option at argv[*i] (with its value, argv[*i+1]).
 * Returns 1 and advances *i past the value when it was a link option,
 * 0 when argv[*i] is not a link option. Bad values: usage, exit 2.
 */
int ex_link_opt(struct moat_config *cfg, int argc, char **argv, int *i);

/* Nonzero once --ip has been given. */
int ex_link_have_ip(void);

/* Nonzero once --dhcp has been given. */
int ex_link_dhcp(void);

/* Nonzero when neither --ip nor --dhcp was given: interface 0 has no IPv4
 * address and works over IPv6 only (link-local, --ip6, SLAAC). */
int ex_link_ip6_only(void);

/* Wait up to @p timeout_ms for interface 0's address (a DHCP lease);
 * writes it to @p ip (may be NULL). Returns 0, or prints
 * "PROG: no address by DHCP: ..." and returns the error. */
int ex_wait_address(struct moat_stack *st, int timeout_ms, uint32_t *ip);

/* Wait up to @p timeout_ms until interface 0 holds a usable (preferred or
 * deprecated) IPv6 address: a link-local one when @p link_local, else a
 * global one (static after DAD, or SLAAC). Returns 0 or MOAT_E_TIMEDOUT
 * (also when SIGINT/SIGTERM came). */
int ex_wait_ip6(struct moat_stack *st, int link_local, int timeout_ms);

/* Print "address A/P[ dhcp lease=Ns gw=G dns=D...]" on stdout (nothing
 * when @p info holds no address). */
void ex_print_address(const struct moat_dhcp_info *info);
/* IPv6: one line "address ADDR/LEN ORIGIN" (link-local, static, slaac) for
 * each usable address of interface 0 not printed before, "address gone
 * ADDR/LEN" for one printed that went away (lifetime, DAD). Cheap enough
 * to call a few times a second. */
void ex_print_ip6(struct moat_stack *st);

/* Check that exactly one of --tap/--wire was given and that the whole
 * configuration is valid (moat_config_check: without --ip or --dhcp that
 * needs IPv6); usage + exit 2 if not. */
void ex_link_finish(struct moat_config *cfg);

/* Parse an unsigned number (decimal, or with a K/M/G suffix meaning
 * binary multiples when @p suffixes) in [min, max]; usage + exit 2 if bad. */
uint64_t ex_parse_num(const char *opt, const char *text, uint64_t min,
                      uint64_t max, int suffixes);
/* Parse a non-negative number of seconds (may have a fraction). */
double ex_parse_seconds(const char *opt, const char *text);

/* The value of an option (argv[*i + 1]); usage + exit 2 when missing. */
const char *ex_optarg(int argc, char **argv, int *i);

/* Open the stack or print "PROG: cannot open DEV: message" and exit 1. */
struct moat_stack *ex_open(const struct moat_config *cfg);

/* Open a non-blocking TCP listener on @p addr (with MOAT_OPT_REUSEADDR when
 * @p reuse; that option is best effort) and a queue of @p backlog, raised
 * to a quarter of --max-sockets (at most 4096) when that is more. Returns
 * 0 and the socket in *out, or the error with nothing left open. */
int ex_listen(struct moat_stack *st, const struct moat_addr *addr, int backlog,
              int reuse, moat_sock_t *out);

/* Install the SIGINT/SIGTERM handler (no SA_RESTART) and ignore SIGPIPE. */
void ex_signals(void);

/* Print the stack's counters (and every nonzero drop reason) to stderr,
 * one "PROG: stats: ..." line each. Silently does nothing if unavailable. */
void ex_print_stats(struct moat_stack *st);

/* Monotonic time in seconds. */
double ex_now(void);

/* Say "ready" on stdout and flush, so scripts can wait for it. */
void ex_ready(void);

#endif
