/* SPDX-License-Identifier: MIT */
/*
 * What the two halves of IPv6 neighbour discovery share (core-private):
 * nd.c is the neighbour cache with NS/NA and the dispatch of ND input and
 * timers; nd_auto.c is the host's own addresses (DAD, SLAAC), router and
 * prefix discovery from RAs, and the MLDv2 reports.
 */
#ifndef MOAT_ND_PRIV_H
#define MOAT_ND_PRIV_H

#include "core_priv.h"

enum { ND_FREE = 0, ND_INCOMPLETE, ND_REACHABLE, ND_STALE, ND_DELAY, ND_PROBE, ND_STATIC };

#define ND_MAX_SOLICIT      3u          /* MAX_MULTICAST_SOLICIT, MAX_UNICAST_SOLICIT */
#define ND_DELAY_US         5000000u    /* DELAY_FIRST_PROBE_TIME */
#define ND_RS_INTERVAL_US   4000000u    /* RTR_SOLICITATION_INTERVAL */
#define ND_RS_COUNT         3u          /* MAX_RTR_SOLICITATIONS */
#define ND_TWO_HOURS_US     (7200ull * 1000000u)

#define ICMP6_MLD_QUERY   130u
#define ICMP6_RS          133u
#define ICMP6_RA          134u
#define ICMP6_NS          135u
#define ICMP6_NA          136u
#define ICMP6_MLD2_REPORT 143u

#define OPT_SLLA   1u
#define OPT_TLLA   2u
#define OPT_PREFIX 3u
#define OPT_MTU    5u


static inline void nd_due(struct mcore *c, uint64_t t)
{
    if (t < c->ip6.nd_due)
        c->ip6.nd_due = t;
}

static inline uint64_t ms_us(uint32_t ms) { return (uint64_t)ms * 1000u; }

/* Seconds from now, 0xffffffff meaning forever. */
static inline uint64_t life_until(const struct mcore *c, uint32_t s)
{
    return s == 0xffffffffu ? MCORE_NEVER : c->now + (uint64_t)s * 1000000u;
}

/* nd.c */
void nd_send_ns(struct mcore *c, unsigned ifx, const uint8_t target[16], bool unicast, bool dad);
struct nd_entry *nd_learn_stale(struct mcore *c, unsigned ifx, const uint8_t ip[16],
                                const uint8_t mac[6]);
bool nd_opts_valid(const uint8_t *m, size_t len, size_t fixed);
const uint8_t *nd_opt_find(const uint8_t *m, size_t len, size_t fixed, uint8_t type);

/* nd_auto.c */
struct ip6_addr *nd_addr_find(struct mcore *c, unsigned ifx, const uint8_t a[16]);
void nd_addr_duplicate(struct mcore *c, unsigned ifx, struct ip6_addr *a);
void nd_schedule_mld(struct mcore *c, unsigned ifx, uint64_t at);
void nd_ra_input(struct mcore *c, const struct ip6_rx *rx);
uint64_t nd_poll_if(struct mcore *c, unsigned ifx);

#endif
