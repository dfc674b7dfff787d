/* SPDX-License-Identifier: MIT */
/*
 * Opening the links a configuration asks for, for the backends whose net
 * domain drives the device itself (thread backend; any backend for the
 * NONE kind). Adds the two link kinds the Linux port does not make:
 * NONE (a device that never receives and discards what is sent) and
 * CUSTOM (the caller's own link, borrowed: closing our wrapper leaves it
 * open).
 */
#ifndef MOAT_LINKS_H
#define MOAT_LINKS_H

#include "moat/link.h"
#include "moat/moat.h"

/* A link that receives nothing and drops every frame sent (counted as
 * sent: it is a sink). Returns 0, MOAT_E_NOMEM or MOAT_E_IO. */
int links_null(uint16_t mtu, struct moat_link **out);

/* A wrapper that forwards to @p inner (borrowed) and whose close() frees
 * only the wrapper. Returns 0 or MOAT_E_NOMEM. */
int links_borrow(struct moat_link *inner, struct moat_link **out);

/* Open one link per interface of @p cfg into @p links[0..n_ifs-1].
 * Returns 0 or the first error (NODEV, PERM, IO, INVAL, NOMEM,
 * ADDRINUSE), with every link opened so far closed again. */
int links_open_all(const struct moat_config *cfg, struct moat_link **links);

/* Close @p n links (NULL entries skipped) and clear the array. */
void links_close_all(struct moat_link **links, unsigned n);

#endif
