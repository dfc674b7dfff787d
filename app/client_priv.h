/* SPDX-License-Identifier: MIT */
/*
 * What the files of the application side of the socket boundary share
 * (private to app/): client.c holds the machinery (failure, waiting, the
 * ring checks, RPCs on the ctl/evt rings, the socket table), client_life.c
 * the stack's life cycle, client_ctl.c the control calls, client_data.c
 * the data path, client_poll.c readiness. The trust rules and decisions
 * are written down at the top of client.c.
 */
#ifndef MOAT_APP_CLIENT_PRIV_H
#define MOAT_APP_CLIENT_PRIV_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "app/msg_enc.h"
#include "app/stack.h"
#include "app/wake.h"
#include "ports/linux/linux_port.h"

#ifndef MOAT_BACKEND_NAME
#define MOAT_BACKEND_NAME "unknown"
#endif

#define CL_UDP_MAX       65507u     /* 65535 - 20 (IP) - 8 (UDP) */
#define CL_SLICE_US      250000u    /* a futex sleep ends this often to check liveness */
#define CL_RPC_LIMIT_US  10000000u  /* a request unanswered this long: the net domain is broken */
#define CL_IP_UDP_HDRS   28u
#define CL_CLOSE_DRAIN_MS 1000u     /* UDP close waits this long for its send ring */
#define CL_STATS_TRIES   100000u    /* reads of a stats snapshot before giving up */

/* Failure: cl_dead is the stack's failure code (0 while it works);
 * cl_fail records one (MOAT_E_DEAD or MOAT_E_PEER) and returns it. */
int cl_dead(struct moat_stack *st);
int cl_fail(struct moat_stack *st, int err);

/* Waiting (futex on app_seq, stall and liveness checks): until @p cond
 * holds, fails, or the deadline from cl_deadline passes. */
typedef int (*cl_cond_fn)(struct moat_stack *st, void *arg);   /* 1 yes, 0 not yet, < 0 error */
uint64_t cl_deadline(uint32_t timeout_ms);
int cl_wait(struct moat_stack *st, cl_cond_fn cond, void *arg, uint64_t deadline_us);
/* Until a status bit of @p mask is set, or rx_min bytes can be read, or
 * tx_min written (0: that one is not asked). */
int cl_wait_sock(struct moat_stack *st, struct app_sock *s, uint32_t mask,
                 uint32_t rx_min, uint32_t tx_min, uint64_t deadline);

/* A socket's rings and words, every index from the peer checked. */
int cl_rx_avail(struct moat_stack *st, struct app_sock *s, uint32_t *n);
int cl_tx_room(struct moat_stack *st, struct app_sock *s, uint32_t *room);
struct moat_sock_sh *cl_sh(struct moat_stack *st, const struct app_sock *s);
uint32_t cl_status(struct moat_stack *st, const struct app_sock *s);

/* Control requests (filled with app_req_init, app/msg_enc.h): cl_rpc
 * sends one and waits for its answer, cl_post sends it without waiting. */
int cl_rpc(struct moat_stack *st, struct moat_msg *req, struct moat_msg *resp);
int cl_post(struct moat_stack *st, struct moat_msg *req);

/* The socket table: look up a handle (@p live: refuse closed ones), take
 * in a handle the net domain created, forget one; the pending error. */
int cl_sock_get(struct moat_stack *st, moat_sock_t h, int live, struct app_sock **out);
int cl_sock_adopt(struct moat_stack *st, uint32_t h, uint8_t type);
void cl_sock_forget(struct moat_stack *st, struct app_sock *s);
int cl_take_error(struct moat_stack *st, struct app_sock *s);

/* client_ctl.c: no address (IPv4 0.0.0.0 or IPv6 ::). */
bool cl_addr_unset(const struct moat_addr *a);

#endif
