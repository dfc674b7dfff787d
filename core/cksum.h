/* SPDX-License-Identifier: MIT */
/*
 * The internet checksum (RFC 1071, core/cksum.c), for the core and for the
 * code around it that builds or checks headers (the TAP driver's offload
 * paths, ports/linux/gso.c): one implementation everywhere. Sums are in
 * network order and may be added piece by piece (only the last piece odd).
 */
#ifndef MOAT_CKSUM_H
#define MOAT_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add @p len bytes at @p data to the partial sum @p sum. */
uint32_t cksum_add(uint32_t sum, const void *data, size_t len);
/* Fold a partial sum to 16 bits and complement it: the checksum field. */
uint16_t cksum_fold(uint32_t sum);
/* The IPv4 pseudo-header's partial sum (addresses in host order). */
uint32_t cksum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint32_t len);

#endif
