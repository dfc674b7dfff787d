/* SPDX-License-Identifier: MIT */
/*
 * The pure message part of the application side of the socket boundary:
 * building a request, putting it on the ctl ring, taking a message off
 * the evt ring and deciding whether it answers a request. No waiting, no
 * wake-ups, no locks, no system calls: the client (app/client.c) wraps
 * these in its waits and failure rules, and the test support
 * (tests/support/fx.c) drives the core through the same code instead of a
 * second encoding of its own.
 */
#ifndef MOAT_APP_MSG_ENC_H
#define MOAT_APP_MSG_ENC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/boundary.h"
#include "core/ring.h"

/* @p m becomes a request of @p type for socket @p sock, every other field
 * (the id, the result, the body) zero. */
void app_req_init(struct moat_msg *m, unsigned type, uint32_t sock);

/* Give @p req the id @p id and put it on the ctl ring, published; the
 * other fields go as the caller left them (a test may send a bad one).
 * MOAT_E_AGAIN (nothing written) when the ring has no room for a message,
 * MOAT_E_PEER when the ring's indices are impossible. */
int app_req_put(struct moat_ring *ctl, struct moat_msg *req, uint32_t id);

/* Take the next message off the evt ring into @p m (a private copy, made
 * before anything is looked at). MOAT_E_AGAIN when none is there,
 * MOAT_E_PEER when the ring's indices are impossible or the message is
 * outside the catalog for the net -> app direction; 0 otherwise. */
int app_evt_take(struct moat_ring *evt, struct moat_msg *m);

/* Whether @p m (taken by app_evt_take) is the RESP answering request @p id. */
bool app_resp_answers(const struct moat_msg *m, uint32_t id);

#endif /* MOAT_APP_MSG_ENC_H */
