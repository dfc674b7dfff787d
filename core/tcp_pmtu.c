/* SPDX-License-Identifier: MIT */
/*
 * Path MTU probing upward, for TCP (packetization-layer PMTUD: RFC 4821,
 * and RFC 8899's search and raise timer applied to TCP segments).
 *
 * An ICMP frag-needed only ever lowers a connection's MSS (tcp_in.c,
 * RFC 1191). Paths change back, so after cfg.tcp_pmtu_probe_ms (the raise
 * timer) the connection sends one probe: a segment of new data at a larger
 * MSS. The search tries the MSS the connection had before any reduction
 * (mss_max) first; after a lost probe it halves the interval between the
 * MSS known to work and the smallest one lost, until the interval is
 * below TCP_PMTU_STEP, and then waits for the raise timer again.
 *
 *  - Acknowledged whole (a cumulative ACK past its end, never resent):
 *    the MSS becomes the probe's size.
 *  - Lost (the first duplicate ACK while the probe is the oldest
 *    unacknowledged segment, or a timeout while it is in flight): the MSS
 *    stays; the probe's bytes are resent at once at the current MSS, and
 *    this is not a congestion signal (RFC 4821 7.6.2, RFC 8899 4.3):
 *    cwnd and ssthresh do not change, and the duplicates that the probe's
 *    loss produces are kept from congestion control until the repair is
 *    acknowledged. A timeout is still a timeout (tcp_timer.c backs off as
 *    usual); only its probe bookkeeping is here.
 *  - A loss before the probe hands the connection to congestion control;
 *    the probe's outcome is then unknowable and it is retried later.
 *
 * A probe goes out only when nothing is being repaired, all data sent so
 * far is new (snd_nxt == snd_max), enough data waits to fill it, and cwnd
 * and the peer's window have room for it.
 *
 * Does not lower the MSS (tcp_in.c, ICMP) and does not probe below the
 * MSS in use or above what the handshake negotiated.
 */
#include "tcp_priv.h"

/* The search ends when the bounds are this close (bytes of MSS). */
#define TCP_PMTU_STEP 32u

static uint64_t tcp_pmtu_raise_at(const struct mcore *c)
{
    uint64_t at = c->now + (uint64_t)c->cfg.tcp_pmtu_probe_ms * 1000u;
    return at != 0 ? at : 1;
}

void tcp_pmtu_lowered(struct mcore *c, struct tcp_cb *t, uint16_t old)
{
    if (t->mss_max == 0)
        t->mss_max = old;
    t->probe_size = 0;
    t->probe_fail = 0;
    t->t_probe = c->cfg.tcp_pmtu_probe_ms != 0 ? tcp_pmtu_raise_at(c) : 0;
}

/* The MSS to try next; 0 when the search is over. */
static uint16_t tcp_pmtu_next(const struct tcp_cb *t)
{
    if (t->mss >= t->mss_max)
        return 0;
    if (t->probe_fail == 0)
        return t->mss_max;
    uint32_t lo = t->mss, hi = t->probe_fail;
    if (hi <= lo || hi - lo <= TCP_PMTU_STEP)
        return 0;
    return (uint16_t)(lo + (hi - lo) / 2u);
}

unsigned tcp_pmtu_probe(struct mcore *c, struct msock *s, uint32_t end)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->t_probe == 0 || c->now < t->t_probe || t->probe_size != 0 || t->probe_lost)
        return 0;
    if (t->recovery != TCP_REC_NONE || t->snd_nxt != t->snd_max ||
        (t->flags & TF_FIN_Q) ||
        (t->state != TCPS_ESTABLISHED && t->state != TCPS_CLOSE_WAIT))
        return 0;
    uint16_t size = tcp_pmtu_next(t);
    if (size == 0) {
        /* Search complete: start over from mss_max after the raise timer. */
        t->probe_fail = 0;
        t->t_probe = t->mss < t->mss_max ? tcp_pmtu_raise_at(c) : 0;
        return 0;
    }
    uint32_t len = size - tcp_opt_len(t);
    uint32_t unsent = TCP_SEQ_GT(end, t->snd_nxt) ? end - t->snd_nxt : 0;
    uint32_t wedge = t->snd_una + t->snd_wnd;
    uint32_t uwnd = TCP_SEQ_GT(wedge, t->snd_nxt) ? wedge - t->snd_nxt : 0;
    uint32_t flight = t->snd_nxt - t->snd_una;
    uint32_t croom = t->cwnd > flight ? t->cwnd - flight : 0;
    if (unsent < len || uwnd < len || croom < len)
        return 0;           /* not now: the next output tries again */
    t->probe_seq = t->snd_nxt;
    t->probe_end = t->snd_nxt + len;
    t->probe_size = size;
    c->stats.tcp_pmtu_probes++;
    tcp_send_seg(c, s, t->snd_nxt, len, TCP_PSH);
    t->snd_nxt = t->snd_max = t->probe_end;
    if (t->t_rtx == 0)
        tcp_timer_rtx_arm(c, t);
    return 1;
}

int tcp_pmtu_dupack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->probe_lost) {
        if (TCP_SEQ_LT(t->snd_una, t->probe_end))
            return 1;       /* the lost probe's echo: its repair is under way */
        t->probe_lost = 0;
        return 0;
    }
    if (t->probe_size == 0)
        return 0;
    if (t->snd_una != t->probe_seq) {
        /* A loss before the probe: congestion control's business. */
        t->probe_size = 0;
        return 0;
    }
    /* The probe is the oldest unacknowledged segment and data sent after
     * it arrived: the probe was too big for the path (or lost; either way
     * it did not get through). Resend its bytes at the current MSS. */
    t->probe_fail = t->probe_size;
    t->probe_size = 0;
    t->probe_lost = 1;
    for (uint32_t seq = t->probe_seq, guard = 0;
         TCP_SEQ_LT(seq, t->probe_end) && guard < 64; guard++) {
        uint32_t n = tcp_retransmit_try(c, s, seq, t->probe_end - seq);
        if (n == 0)
            break;
        seq += n;
    }
    t->t_probe = c->now != 0 ? c->now : 1;     /* continue the search after the repair */
    return 1;
}

void tcp_pmtu_ack(struct mcore *c, struct msock *s)
{
    struct tcp_cb *t = tcp_cb_of(c, s);
    if (t->probe_lost && TCP_SEQ_GEQ(t->snd_una, t->probe_end))
        t->probe_lost = 0;
    if (t->probe_size == 0 || TCP_SEQ_LT(t->snd_una, t->probe_end))
        return;
    t->mss = t->probe_size;
    t->probe_size = 0;
    c->stats.tcp_pmtu_raises++;
    /* Done at the negotiated MSS; otherwise keep searching upward. */
    t->t_probe = t->mss < t->mss_max ? (c->now != 0 ? c->now : 1) : 0;
}

void tcp_pmtu_rto(struct tcp_cb *t)
{
    if (t->probe_size != 0)
        t->probe_fail = t->probe_size;
    t->probe_size = 0;
    t->probe_lost = 0;
}
