/* SPDX-License-Identifier: MIT */
/*
 * TCP receive path: in-order data straight into the socket's rx ring,
 * out-of-order data written past the producer index and published when
 * the hole fills (the range list, SACK blocks to send), the FIN in order,
 * and the ACK policy for what arrived.
 */
#include "tcp_priv.h"

/* ---- receiving data ---------------------------------------------------------- */

static void tcp_ooo_sum(struct mcore *c, struct tcp_cb *t)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        const struct tcp_range *e = tcp_ooo_at(c, t, i);
        n += e->r - e->l;
    }
    c->tcp->ooo_bytes = c->tcp->ooo_bytes - t->ooo_bytes + n;
    t->ooo_bytes = n;
}

/* Forget out-of-order ranges at or beyond @p seq (data after a FIN). */
static void tcp_ooo_cut(struct mcore *c, struct tcp_cb *t, uint32_t seq)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        struct tcp_range r = *tcp_ooo_at(c, t, i);
        if (TCP_SEQ_GEQ(r.l, seq))
            continue;
        if (TCP_SEQ_GT(r.r, seq))
            r.r = seq;
        *tcp_ooo_at(c, t, j++) = r;
    }
    t->n_ooo = (uint8_t)j;
    tcp_ooo_grow(c, t, j);
    tcp_ooo_sum(c, t);
}

/* Record [l, r) as received out of order; it becomes the most recent
 * block (the others keep their recency order, RFC 2018 4). Ranges past
 * the TCB's own array live in a pool chunk (tcp_ooo_grow). Returns 0, or
 * -1 when no room is left; nothing changes then. */
static int tcp_ooo_add(struct mcore *c, struct tcp_cb *t, uint32_t l, uint32_t r)
{
    unsigned j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++)
        j += tcp_range_apart(tcp_ooo_at(c, t, i), l, r) ? 1u : 0u;
    if (tcp_ooo_grow(c, t, j + 1u > t->n_ooo ? j + 1u : t->n_ooo) != 0)
        return -1;
    /* Merge the ranges [l, r) touches into it, keep the others in order
     * (in place: j never passes i), then shift them one place down. */
    j = 0;
    for (unsigned i = 0; i < t->n_ooo; i++) {
        struct tcp_range e = *tcp_ooo_at(c, t, i);
        if (tcp_range_apart(&e, l, r))
            *tcp_ooo_at(c, t, j++) = e;
        else
            tcp_range_widen(&l, &r, &e);
    }
    for (unsigned k = j; k > 0; k--)
        *tcp_ooo_at(c, t, k) = *tcp_ooo_at(c, t, k - 1u);
    *tcp_ooo_at(c, t, 0) = (struct tcp_range){ l, r };
    t->n_ooo = (uint8_t)(j + 1u);
    tcp_ooo_grow(c, t, t->n_ooo);   /* may give the chunk back */
    tcp_ooo_sum(c, t);
    return 0;
}

/* The in-order edge moved to rcv_nxt: absorb ranges it reached (the rest
 * keep their recency order). Returns the new in-order end. */
static uint32_t tcp_ooo_absorb(struct mcore *c, struct tcp_cb *t, uint32_t edge)
{
    for (int again = 1; again;) {
        again = 0;
        unsigned j = 0;
        for (unsigned i = 0; i < t->n_ooo; i++) {
            struct tcp_range e = *tcp_ooo_at(c, t, i);
            if (TCP_SEQ_LEQ(e.l, edge)) {
                if (TCP_SEQ_GT(e.r, edge))
                    edge = e.r;
                again = 1;
            } else {
                *tcp_ooo_at(c, t, j++) = e;
            }
        }
        t->n_ooo = (uint8_t)j;
    }
    tcp_ooo_grow(c, t, t->n_ooo);
    tcp_ooo_sum(c, t);
    return edge;
}

static void tcp_fin_in_order(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    t->rcv_nxt++;
    t->flags |= TF_FIN_RCVD | TF_ACKNOW;
    t->flags &= ~(uint32_t)TF_FIN_OOO;
    tcp_ooo_clear(c, t);
    sock_status(c, s, MOAT_SS_RDHUP, 0);
    mcore_wake_app(c);
    switch (t->state) {
    case TCPS_SYN_RCVD:
    case TCPS_ESTABLISHED:
        t->state = TCPS_CLOSE_WAIT;
        break;
    case TCPS_FIN_WAIT_1:
        t->state = TCPS_CLOSING;
        break;
    case TCPS_FIN_WAIT_2:
        tcp_send_ack(c, s);
        tcp_enter_time_wait(c, s);
        break;
    default:
        break;
    }
}

/*
 * The ACK owed for an out-of-order segment. RFC 5681 4.2 asks for it at
 * once, and so it goes for the first TCP_DUPTHRESH segments past one
 * RCV.NXT (a sender without SACK counts them) and always without SACK.
 * Beyond that, with SACK, the ACK is compressed as Linux does: it waits
 * min(SRTT / 20, 1 ms) or until 44 segments wait, and then carries the
 * newest SACK blocks of all of them (each block a merge of what arrived).
 * On a path that reorders every other segment, one ACK per segment was
 * about as many ACKs as data segments, each a frame for the path and an
 * ACK for the peer to process, against Linux's half (measured on 20 ms +
 * 0..10 ms jitter each way: 12,000 pure ACKs per 16 MiB against 6,000).
 */
static void tcp_ooo_ack(struct mcore *c, struct tcp_cb *t)
{
    if (t->ooo_ack_nxt != t->rcv_nxt) {
        t->ooo_ack_nxt = t->rcv_nxt;
        t->ooo_dups = 0;
    }
    if (!(t->flags & TF_SACK) || t->ooo_dups < TCP_DUPTHRESH) {
        if (t->ooo_dups < 255u)
            t->ooo_dups++;
        t->flags |= TF_ACKNOW;
        return;
    }
    if (++t->ooo_comp >= TCP_SACK_COMP_MAX) {
        t->flags |= TF_ACKNOW;
        return;
    }
    uint32_t rtt = t->srtt != 0 ? t->srtt : t->rcv_rtt;
    uint32_t wait = rtt / TCP_SACK_COMP_DIV;
    if (wait > TCP_SACK_COMP_US)
        wait = TCP_SACK_COMP_US;
    uint64_t due = c->now + wait;
    if (t->t_delack == 0 || t->t_delack > due)
        t->t_delack = due;
    t->flags |= TF_DELACK;
}

void tcp_rcv_data(struct mcore *c, struct msock *s, const struct tcp_seg *sg)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    uint32_t seq = sg->seq;
    const uint8_t *data = sg->data;
    uint32_t len = sg->len;
    int fin = (sg->flags & TCP_FIN) != 0;
    int had_data = len > 0;

    if (sg->flags & TCP_SYN) {
        seq++;      /* SYN-ACK carrying data in SYN-RECEIVED: not expected */
    }
    /* Trim what we already have (RFC 9293 3.10.7.4, "trim to window"). */
    if (TCP_SEQ_LT(seq, t->rcv_nxt)) {
        uint32_t d = t->rcv_nxt - seq;
        /* RFC 2883 4.1.1: report the duplicate part in a D-SACK block. */
        if (len > 0)
            tcp_dsack_note(t, seq, d < len ? t->rcv_nxt : seq + len);
        if (d > len) {
            len = 0;
            fin = 0;
        } else {
            data += d;
            len -= d;
        }
        seq = t->rcv_nxt;
    }
    uint32_t raw = 0;
    if (moat_ring_space(&s->rx, &raw) != 0) {
        tcp_drop(c, s, MOAT_E_PEER);
        return;
    }
    uint32_t edge = t->rcv_adv;
    if (TCP_SEQ_GT(edge, t->rcv_nxt + raw))
        edge = t->rcv_nxt + raw;
    if (!TCP_SEQ_GT(edge, t->rcv_nxt))
        edge = t->rcv_nxt;
    if (TCP_SEQ_GT(seq + len, edge)) {
        len = TCP_SEQ_GT(edge, seq) ? edge - seq : 0;
        fin = 0;
    }
    if (t->flags & TF_FIN_OOO) {
        /* Nothing after the peer's FIN is ever delivered. */
        if (TCP_SEQ_GT(seq + len, t->rfin_seq))
            len = TCP_SEQ_GT(t->rfin_seq, seq) ? t->rfin_seq - seq : 0;
        if (fin && seq + len != t->rfin_seq) {
            if (seq == t->rcv_nxt) {
                /* An in-order FIN is definitive: the earlier out-of-order
                 * one, and anything queued past this one, was bogus. */
                t->flags &= ~(uint32_t)TF_FIN_OOO;
            } else {
                fin = 0;
            }
        }
    }
    if (len == 0 && !fin) {
        if (had_data)
            t->flags |= TF_ACKNOW;  /* duplicate or beyond the window */
        return;
    }
    if (seq == t->rcv_nxt) {
        int had_ooo = t->n_ooo > 0;
        if (len > 0)
            moat_ring_put(&s->rx, 0, data, len);
        if (fin)
            tcp_ooo_cut(c, t, seq + len);   /* nothing after a FIN counts */
        uint32_t end = tcp_ooo_absorb(c, t, seq + len);
        uint32_t adv = end - t->rcv_nxt;
        if (adv > 0) {
            moat_ring_publish(&s->rx, adv);
            t->rcv_nxt = end;
            mcore_sock_changed(c, s);
            tcp_wnd_rcv_data(c, s, sg);     /* receive-window autotuning */
        }
        if (len > t->rcv_mss)
            t->rcv_mss = (uint16_t)(len > t->adv_mss ? t->adv_mss : len);
        t->rcv_unacked += adv;
        if (had_ooo) {
            t->flags |= TF_ACKNOW;  /* filled (part of) a hole: ACK at once */
        } else if (t->rcv_unacked >= 2u * t->rcv_mss) {
            /* Every second full segment (RFC 9293 3.8.6.3, RFC 5681 4.2),
             * but sent once per input batch: the ACK for a burst goes out
             * when the network domain has read every frame that was
             * waiting (tcp_poll), like a host whose NIC coalesces
             * receives. One ACK instead of one per two segments saves a
             * device write each (measured: about half of the net domain's
             * time receiving from the kernel over a TAP went to ACK
             * writes; docs/performance.md). The stretch is bounded by the
             * batch and by TCP_ACK_STRETCH_DIV. */
            if (t->rcv_unacked >= tcp_rcv_limit(c, s) / TCP_ACK_STRETCH_DIV)
                t->flags |= TF_ACKNOW;
            else
                t->flags |= TF_ACKSOON;
        } else if (adv > 0 && t->t_delack == 0) {
            t->flags |= TF_DELACK;
            t->t_delack = c->now + (uint64_t)c->cfg.tcp_delack_ms * 1000u;
        }
        if (fin || ((t->flags & TF_FIN_OOO) && t->rcv_nxt == t->rfin_seq))
            tcp_fin_in_order(c, s);
        return;
    }
    /* Out of order: store past the producer index, track the range. An
     * immediate duplicate ACK (RFC 5681 4.2) when it is dropped, is a
     * duplicate (its D-SACK) or carries a FIN; else tcp_ooo_ack. */
    if (len > 0) {
        if (c->tcp->ooo_bytes + len > c->cfg.tcp_ooo_bytes) {
            MCORE_DROP(c, TCP_OOO_FULL);
            t->flags |= TF_ACKNOW;
            return;
        }
        for (unsigned i = 0; i < t->n_ooo; i++) {
            const struct tcp_range *e = tcp_ooo_at(c, t, i);
            if (TCP_SEQ_GEQ(seq, e->l) && TCP_SEQ_LEQ(seq + len, e->r)) {
                /* RFC 2883 4.1.2: a duplicate of out-of-order data; its
                 * block moves to the front (tcp_ooo_add) and follows the
                 * D-SACK block. */
                tcp_dsack_note(t, seq, seq + len);
                t->flags |= TF_ACKNOW;
                break;
            }
        }
        if (tcp_ooo_add(c, t, seq, seq + len) != 0) {
            MCORE_DROP(c, TCP_OOO_FULL);
            t->flags |= TF_ACKNOW;
            return;
        }
        moat_ring_put(&s->rx, seq - t->rcv_nxt, data, len);
    }
    if (fin && !(t->flags & TF_FIN_OOO)) {
        t->flags |= TF_FIN_OOO | TF_ACKNOW;
        t->rfin_seq = seq + len;
        tcp_ooo_cut(c, t, t->rfin_seq);
    }
    tcp_ooo_ack(c, t);
}
