/* SPDX-License-Identifier: MIT */
/*
 * Ethernet II: input demultiplexing by EtherType and destination MAC, the
 * header writer, and the core's only calls to a link's transmit side.
 * Does not resolve addresses (arp.c) or validate IP (ip4.c).
 */
#include "core_priv.h"

const uint8_t eth_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define ETH_MIN_FRAME 60u   /* without FCS */

/* Does the 33:33:xx:xx:xx:xx destination of @p f map a group interface
 * @p ifx listens to (all-nodes, its solicited-node groups)? */
static bool eth_ip6_group_ok(const struct mcore *c, unsigned ifx, const uint8_t *f)
{
    const struct mc_if6 *f6 = &c->ifs6[ifx];
    static const uint8_t all_nodes_low[4] = {0, 0, 0, 1};
    if (!f6->on)
        return false;
    if (memcmp(f + 2, all_nodes_low, 4) == 0)
        return true;
    for (unsigned k = 0; k < MCORE_IP6_ADDRS; k++) {
        const struct ip6_addr *a = &f6->addr[k];
        if (a->state != IP6A_NONE && a->state != IP6A_DUPLICATE && f[2] == 0xff &&
            memcmp(f + 3, a->a + 13, 3) == 0)
            return true;
    }
    return false;
}

void mcore_input(struct mcore *c, unsigned ifx, const uint8_t *f, size_t len,
                 uint64_t now_us)
{
    mcore_input_flags(c, ifx, f, len, 0, now_us);
}

void mcore_input_flags(struct mcore *c, unsigned ifx, const uint8_t *f, size_t len,
                       uint32_t flags, uint64_t now_us)
{
    c->now = now_us;
    c->stats.frames_in++;
    c->stats.bytes_in += len;
    if (flags & MOAT_LINK_RX_BAD) {
        /* The link could not validate what it knows about this frame: it
         * is not looked at (the link counted the details). */
        MCORE_DROP(c, LINK_RX_BAD);
        return;
    }
    /* Only the checksum flag means anything past this point; it is read
     * by ip4_input for this frame alone. */
    c->in_flags = flags & MOAT_LINK_RX_CSUM_OK;
    struct hdr_eth e;
    if (ifx >= c->n_ifs || hdr_eth_parse(f, len, &e) != HDR_OK) {
        MCORE_DROP(c, ETH_SHORT);
        return;
    }
    /* Accept our unicast address, broadcast and multicast (group bit). */
    if (!(f[0] & 1) && memcmp(f, c->ifs[ifx].mac, 6) != 0) {
        MCORE_DROP(c, ETH_NOT_US);
        return;
    }
    /* IPv6 multicast MACs (33:33 + the group's low 32 bits): only the
     * groups we joined (ip6_input checks the whole group address). */
    if (f[0] == 0x33 && f[1] == 0x33 && !eth_ip6_group_ok(c, ifx, f)) {
        MCORE_DROP(c, ETH_NOT_US);
        return;
    }
    switch (e.type) {
    case ETH_TYPE_IP4:
        ip4_input(c, ifx, f + MCORE_ETH_HLEN, len - MCORE_ETH_HLEN);
        break;
    case ETH_TYPE_ARP:
        arp_input(c, ifx, f + MCORE_ETH_HLEN, len - MCORE_ETH_HLEN);
        break;
    case ETH_TYPE_IP6:
        ip6_input(c, ifx, f + MCORE_ETH_HLEN, len - MCORE_ETH_HLEN);
        break;
    default:
        MCORE_DROP(c, ETH_TYPE);
        break;
    }
    c->in_flags = 0;
}

/*
 * Why a payload in link memory is safe here (double-fetch): every byte the
 * core decides on (addresses, lengths, flags, sequence numbers, options,
 * the IP header checksum) is in hdr, which the caller copied; the shape
 * that lets the rest stay outside (mcore_split_hlen) is checked again on
 * that same private copy below, so the link cannot change it after the
 * caller looked. The payload's only reader is tcp_rcv_data's memcpy into
 * the socket ring (through ip4_rx.pay and tcp_seg.data): each byte is
 * read once and nothing branches on its value. Its checksum is not
 * computed (CSUM_OK is required): the link domain vouched for it in its
 * descriptor, the same trust mcore_input_flags gives that flag, so a link
 * that rewrites the payload after hand-over changes only the bytes the
 * application reads, which were the link's choice anyway.
 */
int mcore_input_split(struct mcore *c, unsigned ifx, const uint8_t *hdr, size_t hlen,
                      const uint8_t *pay, size_t plen, uint32_t flags, uint64_t now_us)
{
    if (plen > SIZE_MAX - hlen || pay == NULL ||
        mcore_split_hlen(hdr, hlen, hlen + plen, flags) != hlen) {
        c->now = now_us;
        c->stats.frames_in++;
        c->stats.bytes_in += hlen;
        MCORE_DROP(c, LINK_RX_BAD);
        return MOAT_E_INVAL;
    }
    c->in_pay = pay;
    mcore_input_flags(c, ifx, hdr, hlen + plen, flags, now_us);
    c->in_pay = NULL;
    return 0;
}

int eth_tx_acquire(struct mcore *c, unsigned ifx, uint8_t **buf, size_t *cap)
{
    struct moat_link *l = c->ifs[ifx].link;
    if (!l || l->ops->tx_acquire(l, buf, cap) != 0) {
        MCORE_DROP(c, LINK_TX_FULL);
        return MOAT_E_NOBUFS;
    }
    if (*cap < (size_t)c->ifs[ifx].mtu + MCORE_ETH_HLEN) {
        l->ops->tx_commit(l, 0);
        MCORE_DROP(c, LINK_TX_FULL);
        return MOAT_E_NOBUFS;
    }
    c->txbuf[ifx] = *buf;
    return 0;
}

int eth_tx_commit(struct mcore *c, unsigned ifx, size_t len)
{
    struct moat_link *l = c->ifs[ifx].link;

    if (len > 0 && len < ETH_MIN_FRAME) {
        /* Pad runts with zeros; the buffer holds at least mtu + 14 bytes. */
        memset(c->txbuf[ifx] + len, 0, ETH_MIN_FRAME - len);
        len = ETH_MIN_FRAME;
    }
    c->txbuf[ifx] = NULL;
    int r = l->ops->tx_commit(l, len);
    if (r == MOAT_E_AGAIN) {
        /* The device's queue was full: the frame is dropped, and callers
         * that can hold data back (TCP) treat it as backpressure. */
        MCORE_DROP(c, LINK_TX_FULL);
        return MOAT_E_NOBUFS;
    }
    if (r != 0) {
        MCORE_DROP(c, LINK_TX_ERROR);
        return MOAT_E_IO;
    }
    if (len) {
        c->stats.frames_out++;
        c->stats.bytes_out += len;
    }
    return 0;
}

bool eth_group_mac(const struct mcore *c, unsigned ifx, uint32_t nexthop, uint8_t mac[6])
{
    const struct mc_if *ifp = &c->ifs[ifx];
    if (nexthop == 0xffffffffu || ip4_subnet_bcast(ifp, nexthop)) {
        memcpy(mac, eth_bcast, 6);
        return true;
    }
    if ((nexthop >> 28) == 0xe) {   /* RFC 1112 multicast mapping */
        mac[0] = 0x01;
        mac[1] = 0x00;
        mac[2] = 0x5e;
        mac[3] = (uint8_t)((nexthop >> 16) & 0x7f);
        mac[4] = (uint8_t)(nexthop >> 8);
        mac[5] = (uint8_t)nexthop;
        return true;
    }
    return false;
}
