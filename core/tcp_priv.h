/* SPDX-License-Identifier: MIT */
/*
 * TCP internals shared by tcp.c (control blocks, lookup, ISN, socket
 * operations, poll), tcp_in.c (segment input and the state machine),
 * tcp_out.c (segment output), tcp_timer.c (RTO, persist, delayed ACK,
 * keepalive, TIME-WAIT, SYN queue) and tcp_cc.c (congestion control and
 * the SACK scoreboard). Nothing here is seen outside these files; the rest
 * of the core uses core/tcp.h.
 *
 * Memory: everything lives in the block tcp_init() carves from the
 * tcp_mem_size() bytes the core gave us: one control block per socket
 * slot, the SYN queue, the TIME-WAIT table and the connection hash.
 *
 * Sequence numbers are compared modulo 2^32 everywhere (TCP_SEQ_*).
 */
#ifndef MOAT_TCP_PRIV_H
#define MOAT_TCP_PRIV_H

#include "core_priv.h"
#include "tcp_cong.h"

#define TCP_SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define TCP_SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define TCP_SEQ_GT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)
#define TCP_SEQ_GEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) >= 0)

/* Header flags. */
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_URG 0x20u
#define TCP_ECE 0x40u            /* RFC 3168 6.1 */
#define TCP_CWR 0x80u

#define TCP_HLEN        20u
#define TCP_OPT_MAX     40u
#define TCP_MSS_DEFAULT 536u     /* RFC 9293 3.7.1: no MSS option seen */
#define TCP_MSS_MIN     64u      /* floor for a peer's (or ICMP's) MSS */
#define TCP_OOO_MAX     32u      /* out-of-order ranges per connection (tcp_ooo_add; 8 bytes each) */
#define TCP_SACK_MAX    32u      /* SACK scoreboard ranges per connection (8 bytes each) */
/* Out-of-order ranges past the TCB's own TCP_OOO_MAX come from a per-stack
 * pool of chunks of TCP_OOO_CHUNK ranges, lent to a connection when its
 * ooo[] overflows and returned when it fits again (tcp_ooo_grow): a path
 * that reorders over a whole flight leaves hundreds of holes, which 32
 * ranges cannot track (each one more is a TCP_OOO_FULL drop and a
 * retransmission). TCP_OOO_MAX + TCP_OOO_CHUNK fits n_ooo (uint8_t). The
 * pool holds tcp_ooo_chunks(cfg) chunks (tcp.c): one per 256 KiB of
 * cfg.tcp_ooo_bytes, at least one, at most one per socket slot. */
#define TCP_OOO_CHUNK   223u
#define TCP_OOO_CHUNK_KIB 256u
#define TCP_WS_MAX      14u      /* RFC 7323 2.3 */
#define TCP_CHACK_PER_S 10u      /* RFC 5961 7: challenge ACKs per second per connection */
#define TCP_IW_SEGS     10u      /* RFC 6928 */
#define TCP_DUPTHRESH   3u
#define TCP_LINKWAIT_US 200u      /* retry after the link refused a new segment */
#define TCP_PAWS_IDLE_US (24ull * 24 * 3600 * 1000000) /* RFC 7323 5.5 */
#define TCP_TXR_MAX     8u       /* RACK transmit-time ranges per connection */
#define TCP_PTO_MIN_US  2000u    /* floor of the tail loss probe timeout */
#define TCP_REO_PERSIST 16u      /* RFC 8985 6.2.4: recoveries a grown reo_wnd lasts */

/* Flags of a transmit-time range (tcp_cb.txr_f). */
enum { TXR_LOST = 1u << 0, TXR_RETX = 1u << 1,
       TXR_APPROX = 1u << 2 };  /* merged from ranges sent at different times */

/* Loss-detection flags (tcp_cb.rflags). */
enum {
    RF_RTT      = 1u << 0,    /* rack_t/rack_end/rack_rtt/min_rtt hold a sample */
    RF_REORD    = 1u << 1,    /* RACK.reord: reordering seen on this connection */
    RF_TLP      = 1u << 2,    /* a loss probe is unresolved (tlp_end) */
    RF_TLP_RETX = 1u << 3,    /* ... and it was a retransmission */
    RF_UNDO     = 1u << 4,    /* the last congestion response may be undone */
    RF_EIFEL    = 1u << 5,    /* first ACK after the first retransmission pending */
    RF_RESCUE   = 1u << 6,    /* rescue retransmission done in this recovery */
    RF_DSACK    = 1u << 7,    /* receiver: report dsack_l/r in the next ACK */
    RF_REO_RND  = 1u << 8,    /* reo_round is valid */
    RF_RTO_SACK = 1u << 9     /* timeout recovery keeps the scoreboard (tcp_cc_rto) */
};

enum tcp_state_id {
    TCPS_CLOSED = 0,
    TCPS_LISTEN,
    TCPS_SYN_SENT,
    TCPS_SYN_RCVD,
    TCPS_ESTABLISHED,
    TCPS_FIN_WAIT_1,
    TCPS_FIN_WAIT_2,
    TCPS_CLOSE_WAIT,
    TCPS_CLOSING,
    TCPS_LAST_ACK,
    TCPS_TIME_WAIT          /* only in the TIME-WAIT table, never in a TCB */
};

/* Recovery modes (congestion control). */
enum { TCP_REC_NONE = 0, TCP_REC_FAST, TCP_REC_RTO };

/* TCB flags. */
enum {
    TF_ACKNOW    = 1u << 0,   /* send an ACK at the next output */
    TF_DELACK    = 1u << 1,   /* an ACK is owed (delayed) */
    TF_FIN_Q     = 1u << 2,   /* the application shut down writing: FIN at fin_seq */
    TF_FIN_SENT  = 1u << 3,
    TF_FIN_RCVD  = 1u << 4,   /* peer's FIN processed (in order) */
    TF_FIN_OOO   = 1u << 5,   /* peer's FIN seen out of order at rfin_seq */
    TF_ORPHAN    = 1u << 6,   /* the application closed its handle */
    TF_TS        = 1u << 7,   /* timestamps negotiated */
    TF_SACK      = 1u << 8,   /* SACK permitted both ways */
    TF_WS        = 1u << 9,   /* window scaling negotiated */
    TF_SYN_RETX  = 1u << 10,  /* our SYN was retransmitted (IW = 1 MSS) */
    TF_RD_SHUT   = 1u << 11,  /* shutdown(RD): recorded; the client stops reading */
    TF_PASSIVE   = 1u << 12,  /* created by a listener (SYN queue) */
    TF_RXT_WATCH = 1u << 13,  /* watching the retransmission at snd_una (rxt_mark) */
    TF_RTT_ON    = 1u << 14,  /* timing rtt_seq (no timestamps) */
    TF_ACKSOON   = 1u << 15   /* an ACK is owed by the end of this input batch */
};

/* A receiver may let the every-second-segment ACK wait until the end of
 * the batch of frames being processed (tcp_poll sends it), but never once
 * this many in-order bytes are unacknowledged: at most a quarter of the
 * receive ring, so the sender always keeps most of the window. */
#define TCP_ACK_STRETCH_DIV 4u

/* SACK compression (tcp_in.c tcp_ooo_ack): past the first TCP_DUPTHRESH
 * duplicate ACKs for one RCV.NXT, the ACK for out-of-order data waits
 * min(SRTT / TCP_SACK_COMP_DIV, TCP_SACK_COMP_US), or until
 * TCP_SACK_COMP_MAX segments wait (Linux's defaults: 1 ms, 5 %, 44). */
#define TCP_SACK_COMP_US  1000u
#define TCP_SACK_COMP_DIV 20u
#define TCP_SACK_COMP_MAX 44u

/* At most one ACK per this many us answers segments without data, SYN or
 * FIN that are out of the window or fail PAWS (tcp_in.c tcp_oow_reply;
 * Linux: tcp_invalid_ratelimit, 500 ms). */
#define TCP_OOW_ACK_US 500000u

struct tcp_range { uint32_t l, r; };     /* [l, r) in sequence space */

/* The merge rule of both range lists (the SACK scoreboard, tcp_cc.c, and
 * the out-of-order list, tcp_rcv.c): [l, r) and @p e are apart unless
 * they overlap or touch; touching ranges widen [l, r) to cover both. */
static inline int tcp_range_apart(const struct tcp_range *e, uint32_t l, uint32_t r)
{
    return TCP_SEQ_LT(e->r, l) || TCP_SEQ_GT(e->l, r);
}
static inline void tcp_range_widen(uint32_t *l, uint32_t *r, const struct tcp_range *e)
{
    if (TCP_SEQ_LT(e->l, *l))
        *l = e->l;
    if (TCP_SEQ_GT(e->r, *r))
        *r = e->r;
}

struct tcp_cb {
    uint8_t state;
    uint8_t snd_wscale, rcv_wscale;
    uint8_t n_ooo;              /* ooo[] in recency order: most recent first */
    uint8_t n_sack;             /* sack[] sorted by sequence */
    uint8_t recovery;           /* TCP_REC_* */
    uint8_t dupacks;
    uint8_t retries;            /* consecutive RTOs (or SYN retransmissions) */
    uint8_t probes;             /* unanswered persist or keepalive probes */
    uint8_t persist_shift;
    uint8_t in_hash;
    uint8_t soft_err_set;
    uint32_t flags;             /* TF_* */
    int32_t soft_err;           /* RFC 5927 soft error, reported on timeout */

    /* Send side. snd_una <= snd_nxt <= snd_max (mod 2^32). snd_data is the
     * sequence number of the tx ring's consumer index (the first
     * unacknowledged data byte). */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_data;
    uint32_t snd_wnd, max_sndwnd, snd_wl1, snd_wl2;
    uint32_t fin_seq;           /* valid with TF_FIN_Q */
    uint16_t mss;               /* send MSS (excluding options) */
    uint16_t adv_mss;           /* what we announced */

    /* Receive side. rcv_adv is the right edge we announced (never moves
     * left); out-of-order data is stored in the rx ring past the producer
     * index and tracked in ooo[]. */
    uint32_t irs, rcv_nxt, rcv_adv, last_ack_sent;
    uint32_t rfin_seq;          /* valid with TF_FIN_OOO */
    uint32_t rcv_unacked;       /* in-order bytes not yet acknowledged */
    uint32_t ooo_bytes;
    uint16_t rcv_mss;           /* largest segment seen from the peer */
    uint16_t ooo_chunk;         /* pool chunk + 1 holding ooo ranges
                                   TCP_OOO_MAX.. (0: none; tcp_ooo_at) */
    struct tcp_range ooo[TCP_OOO_MAX];

    /* RTT (RFC 6298) in microseconds. */
    uint32_t srtt, rttvar, rto;
    uint32_t rtt_seq;
    uint64_t rtt_t;

    /* Timestamps (RFC 7323), TSval clock in ms + ts_off. */
    uint32_t ts_recent, ts_off;
    uint64_t ts_recent_t;

    /* Congestion control (RFC 5681, 6582, 6675, 6928). */
    uint32_t cwnd, ssthresh, recover, high_rxt, bytes_acked;
    uint32_t rxt_mark;          /* snd_max when the hole at snd_una was last resent */
    struct tcp_range sack[TCP_SACK_MAX];

    /* Congestion control module (tcp_cong.h). */
    uint8_t cong;               /* enum tcp_cong_algo */
    uint32_t rtt_last;          /* RTT sample of the ACK being processed (us), 0: none */
    uint32_t prior_cwnd, prior_ssthresh;  /* before the last congestion response (undo) */
    struct tcp_cong_priv cp;    /* the algorithm's state and ECN (tcp_cong.h) */

    /* Loss detection (tcp_rack.c): RACK-TLP (RFC 8985), D-SACK (RFC 2883,
     * RFC 3708), undo (RFC 3522/4015), PRR (RFC 6937), rescue (RFC 6675).
     * txr[] partitions [snd_una, txr_top) into ranges by the time their
     * bytes were last sent: txr[i] covers [txr[i].l, txr[i + 1].l). */
    /* t: send time, us mod 2^32 (the latest, for a merged range); t0: the
     * earliest (== t unless merged) */
    struct tcp_txr { uint32_t l, t, t0; } txr[TCP_TXR_MAX];
    uint8_t txr_f[TCP_TXR_MAX];  /* TXR_* flags of each range */
    uint8_t n_txr;
    uint16_t rflags;            /* RF_* */
    uint8_t reo_mult, reo_persist;  /* RFC 8985 6.2.4 reo_wnd multiplier */
    uint32_t txr_top;           /* end of what txr[] describes */
    uint32_t rack_t, rack_end;  /* most recently sent delivered segment */
    uint32_t rack_rtt, min_rtt; /* us */
    uint32_t rack_fack;         /* highest delivered sequence (SACK or ACK) */
    uint32_t tlp_end;           /* snd_max after the loss probe (RF_TLP) */
    uint32_t reo_round;         /* reo_wnd grows at most once per round: snd_max then */
    uint16_t undo_retrans;      /* retransmissions not yet proved spurious by D-SACK */
    uint32_t eifel_ts;          /* TSval of the episode's first retransmission */
    uint32_t prr_delivered, prr_out, recover_fs;  /* RFC 6937 */
    uint32_t undo_lo, undo_hi;  /* [SND.UNA, SND.MAX) when the episode began */
    uint32_t dsack_l, dsack_r;  /* receiver: D-SACK block to report next (RF_DSACK) */
    uint64_t t_rack, t_tlp;     /* RACK reorder timer, tail loss probe (0 = off) */

    /* Timers: absolute deadlines in us, 0 = off. */
    uint64_t t_rtx, t_persist, t_delack, t_keep, t_fin2;
    uint64_t t_lwait;           /* the link had no buffer for new data: output again then */
    uint64_t t_last_rcv;
    uint64_t t_last_snd;        /* last data segment sent (RFC 5681 4.1 idle restart) */

    /* RFC 5961 challenge ACK rate limit. */
    uint64_t chack_t;
    uint32_t chack_n;

    /* Listener: accept queue (slot indices + 1, 0 = none). Child: link. */
    uint32_t acc_head, acc_tail, acc_next;
    uint32_t acc_n, backlog;
    uint32_t listener;          /* child before accept: listener slot + 1 */
    uint32_t hnext;             /* hash chain: slot + 1 */

    /* Scheduling (tcp.c): the timer heap holds each connection once,
     * keyed by sched_t = tcp_cb_deadline() when it was last scheduled;
     * the ready list holds connections with work for the next tcp_poll.
     * tcp_cb_reset() keeps these four across its memset. */
    uint64_t sched_t;
    uint32_t heap_pos;          /* index in the heap + 1, 0 = not in it */
    uint32_t rnext;             /* ready list: slot + 1 */
    uint8_t in_ready;

    /* Window autotuning and send-buffer growth (tcp_wnd.c). */
    uint32_t rcv_cap;           /* receive window cap (0: not started, the initial cap) */
    uint32_t snd_lim;           /* tx ring bytes the application may fill (0: initial) */
    uint32_t mem_charged;       /* bytes of rcv_cap + snd_lim charged to the budget */
    uint32_t at_copied;         /* app-consumed byte count at the start of the interval */
    uint64_t at_t;              /* start of the autotuning interval (0: none yet) */
    uint32_t rcv_rtt;           /* receiver-side RTT estimate, us (0: none) */
    uint32_t ooo_ack_nxt;       /* RCV.NXT that ooo_dups counts for (tcp_ooo_ack) */
    uint8_t ooo_dups, ooo_comp; /* immediate duplicate ACKs for it; segments waiting */
    uint64_t t_oow_ack;         /* last ACK that answered an out-of-window pure ACK (0: none) */
    uint32_t rrtt_seq;          /* no timestamps: rcv_nxt that ends the measured window */
    uint64_t rrtt_t;            /* when rrtt_seq was set (0: not measuring) */
    uint32_t rrtt_tsecr;        /* TSecr of the last receiver RTT sample (tcp_wnd.c) */
    uint32_t srtt_tsecr;        /* TSecr of the last sender RTT sample (tcp_in.c) */
    uint32_t at_prev;           /* bytes consumed in the previous autotuning interval */

    /* Path MTU probing upward (tcp_pmtu.c). */
    uint64_t t_probe;           /* next probe due (0: no probing) */
    uint32_t probe_seq, probe_end;  /* the probe in flight, or the lost one being repaired */
    uint16_t probe_size;        /* MSS the probe in flight tests (0: none) */
    uint16_t mss_max;           /* MSS before the first ICMP reduction (0: never lowered) */
    uint16_t probe_fail;        /* smallest MSS lost in this search (0: none) */
    uint8_t probe_lost;         /* repairing a lost probe: [probe_seq, probe_end) */
};

/* An embryonic passive connection (SYN received, SYN-ACK sent). */
struct tcp_syn {
    uint32_t lip, rip;          /* IPv4, or the tcp_fold6 of lip6/rip6 (v6) */
    uint16_t lport, rport;
    uint32_t iss, irs;
    uint32_t ts_recent, ts_off;
    uint32_t wnd;               /* peer's (unscaled) window from the SYN */
    uint64_t due;               /* next SYN-ACK retransmission */
    uint64_t lwait;             /* the link had no buffer for the SYN-ACK: try again
                                   then, before due (0: nothing to retry) */
    uint16_t mss;               /* peer's MSS option (0: none) */
    uint16_t listener;          /* slot index */
    uint8_t used, ws, sack_ok, ts_ok, retries;
    uint8_t ecn_ok;             /* the SYN asked for ECN and we agreed (RFC 3168 6.1.1) */
    uint8_t v6;                 /* an IPv6 embryo: lip6/rip6 are its addresses */
    uint8_t lip6[16], rip6[16];
};
#define TCP_WS_NONE 0xffu

/* A connection in TIME-WAIT: the slot is gone, this is all that is left. */
struct tcp_tw {
    uint32_t lip, rip;          /* IPv4, or the tcp_fold6 of lip6/rip6 (v6) */
    uint16_t lport, rport;
    uint32_t snd_nxt, rcv_nxt;
    uint32_t ts_recent, ts_off;
    uint64_t expires;           /* 0: free */
    uint16_t wnd;               /* window field to announce */
    uint8_t ts_ok;
    uint8_t v6;                 /* an IPv6 connection: lip6/rip6 are its addresses */
    uint8_t lip6[16], rip6[16];
    /* Index links (entry + 1, 0 = none), tcp.c: hash chain, and the
     * expiry queue (in order of expires: every wait is 2*MSL from now). */
    uint32_t hnext, qnext, qprev;
};

struct tcp_state {
    struct tcp_cb *cbs;         /* one per socket slot */
    uint32_t n;
    struct tcp_syn *syn;
    uint32_t n_syn, syn_used;
    struct tcp_tw *tw;
    uint32_t n_tw, tw_used;
    uint64_t tw_due;            /* no TIME-WAIT entry expires before this
                                   (a lower bound: tcp_tw_poll skips its scan) */
    uint32_t *tw_hash;          /* bucket -> entry + 1 */
    uint32_t tw_hmask;
    uint32_t tw_head, tw_tail;  /* expiry queue: oldest first (entry + 1) */
    uint32_t tw_free;           /* free entries, linked by qnext */
    uint32_t *heap;             /* timer heap: slot indices, min sched_t on top */
    uint32_t heap_n;
    uint32_t ready;             /* ready list head: slot + 1 */
    uint32_t *hash;             /* bucket -> slot + 1 */
    uint32_t hmask;
    uint32_t ooo_bytes;         /* all connections' out-of-order bytes */
    struct tcp_range *ooo_pool; /* n_ooo_chunks x TCP_OOO_CHUNK ranges */
    uint16_t *ooo_free;         /* free chunk indices, ooo_nfree of them */
    uint32_t n_ooo_chunks, ooo_nfree;
    uint64_t mem_used;          /* windows charged to cfg.tcp_mem_bytes (tcp_wnd.c) */
    uint8_t key[16];            /* RFC 6528 ISN secret */
    uint8_t ckey[16];           /* SYN cookie secret */
};

/* A parsed incoming segment. */
struct tcp_seg {
    uint32_t src, dst;          /* IPv4 addresses (host order); IPv6: tcp_fold6 of src6/dst6 */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint32_t wnd;               /* raw window field */
    uint8_t flags;
    uint8_t hlen;
    uint32_t len;               /* payload bytes */
    const uint8_t *data;
    /* options */
    uint16_t mss;               /* 0: none */
    uint8_t ws;                 /* TCP_WS_NONE: none */
    uint8_t sack_ok, ts_ok;
    uint32_t tsval, tsecr;
    uint8_t n_sack;
    struct tcp_range sack[4];
    uint8_t ecn_flags;          /* TCP_ECE | TCP_CWR bits of the header (not in flags) */
    uint8_t ip_ecn;             /* ECN field of the IP header (3: CE) */
    uint8_t v6;                 /* came over IPv6: src6/dst6 are the addresses */
    uint8_t ifx;                /* IPv6: interface it came in on (link-local zone) */
    const uint8_t *src6, *dst6;
};

/*
 * TCP over IPv6 (issue 9). A connection is identified by its family and
 * addresses; the 32-bit address slots (msock lip/rip, tcp_syn, tcp_tw,
 * tcp_seg src/dst) hold an IPv4 address, or for IPv6 a keyed 32-bit fold
 * of the 16-byte address (tcp_fold6), so the keyed demux and TIME-WAIT
 * hashes stay as they are; every match then also compares the family and
 * the full addresses. The key keeps a remote peer from choosing addresses
 * that fold alike. A struct tcp_ips names one connection's two addresses
 * as seen from us (l6 == NULL: IPv4).
 */
struct tcp_ips {
    uint32_t l, r;
    const uint8_t *l6, *r6;
};
/* In a core built without IPv6 (core/ip6_none.c, MOAT_CORE_IP6=0) every
 * connection is IPv4: TCP_V6 folds the family tests to 0 so the compiler
 * drops the IPv6 branches (scripts/size-report.sh's IPv4-only set). */
#if defined(MOAT_CORE_IP6) && !MOAT_CORE_IP6
#define TCP_V6(x) ((void)(x), 0)
#else
#define TCP_V6(x) (x)
#endif
uint32_t tcp_fold6(const struct mcore *c, const uint8_t a[16]);
static inline struct tcp_ips tcp_ips_sock(const struct msock *s)
{
    struct tcp_ips ip = {s->lip, s->rip, TCP_V6(s->r6) ? s->lip6 : NULL,
                         TCP_V6(s->r6) ? s->rip6 : NULL};
    return ip;
}
static inline struct tcp_ips tcp_ips_seg(const struct tcp_seg *sg)
{
    struct tcp_ips ip = {sg->dst, sg->src, TCP_V6(sg->v6) ? sg->dst6 : NULL,
                         TCP_V6(sg->v6) ? sg->src6 : NULL};
    return ip;
}
static inline struct tcp_ips tcp_ips_syn(const struct tcp_syn *q)
{
    struct tcp_ips ip = {q->lip, q->rip, TCP_V6(q->v6) ? q->lip6 : NULL,
                         TCP_V6(q->v6) ? q->rip6 : NULL};
    return ip;
}
static inline struct tcp_ips tcp_ips_tw(const struct tcp_tw *w)
{
    struct tcp_ips ip = {w->lip, w->rip, TCP_V6(w->v6) ? w->lip6 : NULL,
                         TCP_V6(w->v6) ? w->rip6 : NULL};
    return ip;
}
/* Same family and addresses (v6 @p l6/@p r6 compared in full)? */
static inline bool tcp_ips_eq(const struct tcp_ips *a, uint32_t l, uint32_t r, uint8_t v6,
                              const uint8_t *l6, const uint8_t *r6)
{
    if (a->l != l || a->r != r || (a->l6 != NULL) != (TCP_V6(v6) != 0))
        return false;
    return !TCP_V6(a->l6 != NULL) || (ip6_eq(a->l6, l6) && ip6_eq(a->r6, r6));
}

/* ---- tcp.c ------------------------------------------------------------ */

static inline struct tcp_cb *tcp_cb_of(struct mcore *c, struct msock *s)
{
    return &c->tcp->cbs[sock_idx(c, s)];
}
static inline struct msock *tcp_sock_of(struct mcore *c, struct tcp_cb *t)
{
    return &c->socks[t - c->tcp->cbs];
}
struct msock *tcp_lookup(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                         uint16_t rport);
/* The listener for a segment to @p ip->l(6):lport: the address's own, else
 * the wildcard of its family (0.0.0.0 for IPv4, `::` for both). */
struct msock *tcp_find_listener(struct mcore *c, const struct tcp_ips *ip, uint16_t lport);
void tcp_hash_add(struct mcore *c, struct msock *s);
/* The connection's earliest timer deadline (us) or MCORE_NEVER. */
uint64_t tcp_cb_deadline(const struct tcp_cb *t);
/* Take slot @p idx off the timer heap (no-op if it is not on it). */
void tcp_heap_del(struct tcp_state *st, uint32_t idx);
uint32_t tcp_iss(struct mcore *c, const struct tcp_ips *ip, uint16_t lport, uint16_t rport);
/* The 4-tuple as keyed-hash input at @p b (TCP_TUPLE_MAX bytes): the IPv4
 * addresses, or the full IPv6 ones (not their folds: RFC 6528 3 and the
 * SYN cookies run over the real tuple), then the ports. Returns its length. */
#define TCP_TUPLE_MAX 36u
size_t tcp_tuple_bytes(const struct tcp_ips *ip, uint16_t lport, uint16_t rport, uint8_t *b);
uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_ts_now(const struct mcore *c, const struct tcp_cb *t);
/* Prepare a TCB for a new connection of slot @p s (state CLOSED). */
void tcp_cb_reset(struct mcore *c, struct msock *s);
/* The connection is over: release the TCB; free the slot if the
 * application no longer holds it. */
void tcp_release(struct mcore *c, struct msock *s);
/* Fail the connection with @p err (0: silently), status HUP. */
void tcp_drop(struct mcore *c, struct msock *s, int err);
/* Move a connection to TIME-WAIT (slot released). */
void tcp_enter_time_wait(struct mcore *c, struct msock *s);
void tcp_established(struct mcore *c, struct msock *s);
uint32_t tcp_rcv_space(struct mcore *c, struct msock *s);
void tcp_ooo_clear(struct mcore *c, struct tcp_cb *t);
int tcp_ooo_grow(struct mcore *c, struct tcp_cb *t, unsigned n);

/* The i-th out-of-order range of @p t (i < n_ooo): the first TCP_OOO_MAX
 * in the TCB, the rest in its pool chunk. */
static inline struct tcp_range *tcp_ooo_at(struct mcore *c, struct tcp_cb *t, unsigned i)
{
    if (i < TCP_OOO_MAX)
        return &t->ooo[i];
    return &c->tcp->ooo_pool[(size_t)(t->ooo_chunk - 1u) * TCP_OOO_CHUNK + (i - TCP_OOO_MAX)];
}
struct tcp_tw *tcp_tw_find(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                           uint16_t rport);
/* tcp_lookup.c's tables as tcp.c and tcp_sock.c change them: a connection
 * leaves its bucket; the TIME-WAIT table's bucket of a tuple, an entry
 * joining the expiry queue, every entry freed. */
void tcp_hash_del(struct mcore *c, struct msock *s);
uint32_t tcp_tw_bucket(const struct tcp_state *st, uint32_t lip, uint16_t lport,
                       uint32_t rip, uint16_t rport);
void tcp_tw_append(struct tcp_state *st, struct tcp_tw *w);
void tcp_tw_reset_all(struct tcp_state *st);
/* End a TIME-WAIT early (a new incarnation took over). */
void tcp_tw_release(struct mcore *c, struct tcp_tw *w);
/* Restart the 2*MSL wait of @p w (a retransmitted FIN). */
void tcp_tw_restart(struct mcore *c, struct tcp_tw *w);

/* ---- tcp_parse.c, tcp_in.c ---------------------------------------------- */

int tcp_parse(struct mcore *c, const struct ip4_rx *rx, struct tcp_seg *sg);

/* ---- tcp_out.c ---------------------------------------------------------- */
/* End of the data the application has given us: the FIN's sequence
 * number once it is queued, else snd_data plus what the send ring holds.
 * MOAT_E_PEER (counted as a BOUNDARY drop) if the ring's indices are
 * impossible (a hostile application). The one place this is computed. */
int tcp_data_end(struct mcore *c, struct msock *s, uint32_t *end);

/* Send whatever is due on @p s: data, FIN, ACK. */
void tcp_output(struct mcore *c, struct msock *s);
/* Send one segment of the connection: @p len data bytes from @p seq. */
int tcp_send_seg(struct mcore *c, struct msock *s, uint32_t seq, uint32_t len,
                 uint8_t flags);
/* tcp_send_seg() failed for want of a link buffer (MOAT_E_NOBUFS): the
 * segment never left; new data stays unsent and output resumes after
 * TCP_LINKWAIT_US (link backpressure instead of a loss TCP must repair). */
int tcp_link_blocked(struct mcore *c, struct tcp_cb *t, int err);
void tcp_send_ack(struct mcore *c, struct msock *s);
/* RFC 5961 challenge ACK, rate-limited. */
void tcp_send_challenge_ack(struct mcore *c, struct msock *s);
/* A RST answering @p sg (RFC 9293 3.10.7.1 fields). */
void tcp_send_rst_for(struct mcore *c, const struct tcp_seg *sg);
/* A bare segment not tied to a TCB (RST, TIME-WAIT ACK, SYN-ACK of the SYN
 * queue). @p opts/@p olen: options already encoded. */
int tcp_send_raw(struct mcore *c, const struct tcp_ips *ip, uint16_t lport,
                 uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags,
                 uint16_t wnd, const uint8_t *opts, unsigned olen);
/* An embryo's SYN-ACK. One the link has no buffer for never left: q->lwait
 * asks tcp_syn_q_poll to try again after TCP_LINKWAIT_US, as an established
 * connection does (tcp_link_blocked), rather than leave the peer waiting
 * for the retransmission timeout. */
void tcp_send_synack_q(struct mcore *c, struct tcp_syn *q, uint16_t our_mss, uint8_t our_ws);
/* MSS to announce towards @p ip->r(6): the route's interface MTU less 40
 * (IPv4) or 60 (IPv6). */
uint16_t tcp_route_mss(struct mcore *c, const struct tcp_ips *ip);
uint8_t tcp_pick_wscale(uint32_t cap);
/* The window field to announce now (updates rcv_adv). */
uint16_t tcp_rcv_wnd_field(struct mcore *c, struct msock *s);
/* Option bytes a non-SYN segment of @p t carries right now. */
unsigned tcp_opt_len(const struct tcp_cb *t);
/* Retransmit one segment starting at @p seq, at most @p max bytes (0: a
 * full segment). Returns the sequence space it covered (0: nothing sent). */
uint32_t tcp_retransmit_at(struct mcore *c, struct msock *s, uint32_t seq, uint32_t max);
uint32_t tcp_retransmit_try(struct mcore *c, struct msock *s, uint32_t seq, uint32_t max);
/* Option bytes a non-SYN segment of @p t carries right now. */
unsigned tcp_opt_len(const struct tcp_cb *t);

/* ---- tcp_timer.c ------------------------------------------------------ */

void tcp_timer_rtx_arm(struct mcore *c, struct tcp_cb *t);
void tcp_rtt_sample(struct mcore *c, struct tcp_cb *t, uint32_t rtt_us);
uint64_t tcp_timers(struct mcore *c, struct msock *s);
uint64_t tcp_syn_q_poll(struct mcore *c);
uint64_t tcp_tw_poll(struct mcore *c);
void tcp_persist_arm(struct mcore *c, struct tcp_cb *t);

/* ---- tcp_wnd.c ------------------------------------------------------- */

/* Initial receive window cap and send limit of a new connection. */
#define TCP_WND_INIT (64u * 1024)
/* Bytes of the rx ring the window may cover now: the autotuned cap, the
 * RCVBUF option and the ring, whichever is smallest. */
uint32_t tcp_rcv_limit(struct mcore *c, struct msock *s);
/* The connection is synchronized: charge its windows to the budget. */
void tcp_wnd_established(struct mcore *c, struct msock *s);
/* In-order data arrived (rcv_nxt moved): RTT sample and, once per RTT,
 * grow the receive window cap to about twice what the application read. */
void tcp_wnd_rcv_data(struct mcore *c, struct msock *s, const struct tcp_seg *sg);
/* cwnd may have grown: raise the send limit to 2 cwnd + 4 MSS. */
void tcp_wnd_snd_grow(struct mcore *c, struct msock *s);
/* Give the connection's windows back to the budget (release/reset). */
void tcp_wnd_release(struct mcore *c, struct tcp_cb *t);

/* ---- tcp_pmtu.c ------------------------------------------------------ */

/* ICMP lowered the MSS from @p old: arm the raise timer. */
void tcp_pmtu_lowered(struct mcore *c, struct tcp_cb *t, uint16_t old);
/* Send a probe of new data if one is due; returns segments sent. */
unsigned tcp_pmtu_probe(struct mcore *c, struct msock *s, uint32_t end);
/* A duplicate ACK: returns 1 if it is about the probe (lost: resent at
 * the current MSS, no congestion response), 0 for congestion control. */
int tcp_pmtu_dupack(struct mcore *c, struct msock *s);
/* snd_una advanced: a probe acknowledged whole raises the MSS. */
void tcp_pmtu_ack(struct mcore *c, struct msock *s);
/* A retransmission timeout: a probe in flight counts as failed. */
void tcp_pmtu_rto(struct tcp_cb *t);

/* ---- tcp_cc.c --------------------------------------------------------- */

void tcp_cc_init(struct mcore *c, struct tcp_cb *t);
/* @p acked bytes newly acknowledged by @p ack (snd_una not yet moved). */
void tcp_cc_ack(struct mcore *c, struct msock *s, uint32_t ack, uint32_t acked);
void tcp_cc_dupack(struct mcore *c, struct msock *s);
void tcp_cc_rto(struct mcore *c, struct tcp_cb *t);
void tcp_sack_update(struct tcp_cb *t, const struct tcp_seg *sg);
void tcp_sack_clear(struct tcp_cb *t);
uint32_t tcp_sacked_bytes(const struct tcp_cb *t);
/* RFC 6675 loss recovery transmission loop. */
void tcp_sack_output(struct mcore *c, struct msock *s);
uint32_t tcp_flight(const struct tcp_cb *t);
/* SACK connection: an ACK (or the reorder timer) may have shown losses:
 * enter recovery if so, run PRR with @p delivered bytes and send. */
void tcp_cc_sack_ack(struct mcore *c, struct msock *s, uint32_t delivered);
void tcp_cc_enter_recovery(struct mcore *c, struct msock *s);
/* Bytes in [a, b) that are not SACKed. */
uint32_t tcp_nonsacked(const struct tcp_cb *t, uint32_t a, uint32_t b);
/* First non-SACKed byte at or after @p from, and the length of its hole. */
uint32_t tcp_next_hole(const struct tcp_cb *t, uint32_t from, uint32_t *len);

/* ---- tcp_rack.c --------------------------------------------------------- */

void tcp_rack_init(struct tcp_cb *t);
/* Bytes [seq, seq + len) leave now (new data or a retransmission). */
void tcp_rack_sent(struct mcore *c, struct tcp_cb *t, uint32_t seq, uint32_t len);
/* The ACK of @p sg (SACK already merged into the scoreboard) delivered
 * what it delivered: update RACK, detect D-SACK and spurious recovery,
 * mark lost ranges. Called before snd_una moves to @p sg->ack. */
void tcp_rack_ack(struct mcore *c, struct msock *s, const struct tcp_seg *sg);
/* Mark lost what RACK can (RFC 8985 6.2 step 5); arms the reorder timer.
 * Returns bytes newly marked lost. */
uint32_t tcp_rack_detect(struct mcore *c, struct tcp_cb *t);
/* Bytes marked lost and not yet retransmitted, and the first such range
 * (at or after @p from). */
uint32_t tcp_rack_lost_bytes(const struct tcp_cb *t);
uint32_t tcp_rack_next_lost(const struct tcp_cb *t, uint32_t from, uint32_t *len);
/* A congestion response starts (recovery or timeout): retransmissions
 * from now on are counted for undo (D-SACK, Eifel). */
void tcp_rack_episode(struct tcp_cb *t);
/* The congestion response was spurious: undo it (tcp_cong_undo) and
 * leave recovery. */
void tcp_rack_undo(struct mcore *c, struct msock *s);
/* Reorder timer and TLP (tcp_timers). */
void tcp_rack_timers(struct mcore *c, struct msock *s);
/* Arm (or re-arm) the tail loss probe after sending or an ACK. */
void tcp_tlp_arm(struct mcore *c, struct tcp_cb *t);
/* A retransmission timeout: every range not SACKed is lost (@p keep), or
 * forget them all (go-back-N). */
void tcp_rack_rto(struct mcore *c, struct tcp_cb *t, int keep);
/* Receiver: remember [l, r) as duplicate data for the next ACK's D-SACK. */
void tcp_dsack_note(struct tcp_cb *t, uint32_t l, uint32_t r);

/* ---- tcp_ecn.c (RFC 3168) ----------------------------------------------- */

/* Does this SYN ask for ECN, and does the configuration let us agree? */
int tcp_ecn_syn_wants(const struct mcore *c, const struct tcp_seg *sg);
/* The handshake is over: ECN in use on @p t or not. */
void tcp_ecn_established(struct mcore *c, struct tcp_cb *t, int ok);
/* Our SYN's answer (SYN-SENT): did the peer agree? */
void tcp_ecn_synack_in(struct mcore *c, struct tcp_cb *t, const struct tcp_seg *sg);
/* A segment of @p t is being built: add ECE/CWR to @p flags; returns the
 * IP ECN field (ECT(0) on new data, else 0). */
uint8_t tcp_ecn_out(struct mcore *c, struct tcp_cb *t, uint32_t seq, uint32_t len,
                    uint8_t *flags);
/* An acceptable ACK-bearing segment: CE and CWR (receiver), ECE (sender). */
void tcp_ecn_in(struct mcore *c, struct msock *s, const struct tcp_seg *sg);

/* tcp_parse.c: the IPv6 twin of tcp_parse. */
int tcp6_parse(struct mcore *c, const struct ip6_rx *rx, struct tcp_seg *sg);
/* tcp_listen.c: passive open and TIME-WAIT (called by tcp_in.c's demux). */
void tcp_listen_input(struct mcore *c, struct msock *l, const struct tcp_seg *sg);
void tcp_tw_input(struct mcore *c, struct tcp_tw *w, const struct tcp_seg *sg);
/* The MSS to use given the peer's and ours; the initial window. */
static inline uint16_t tcp_clamp_mss(uint16_t peer, uint16_t ours)
{
    uint16_t m = peer ? peer : TCP_MSS_DEFAULT;
    if (m > ours)
        m = ours;
    if (m < TCP_MSS_MIN)
        m = TCP_MSS_MIN;
    return m;
}

static inline void tcp_init_cwnd(struct tcp_cb *t)
{
    /* RFC 6928 IW; RFC 5681 3.1: one segment if the SYN was lost. */
    if (t->flags & TF_SYN_RETX) {
        t->cwnd = t->mss;
    } else {
        uint32_t iw = TCP_IW_SEGS * t->mss;
        uint32_t cap = 14600u > 2u * t->mss ? 14600u : 2u * t->mss;
        t->cwnd = iw < cap ? iw : cap;
    }
}
/* A child that reached ESTABLISHED joins its listener's accept queue. */
void tcp_accept_enqueue(struct mcore *c, struct msock *ch);
/* tcp_in.c: RFC 9293 3.10.7 for a segment of connection @p s in any state
 * but LISTEN (tcp_listen.c hands a new child's segment on here). */
void tcp_process(struct mcore *c, struct msock *s, const struct tcp_seg *sg);
/* tcp_in.c: a SYN's options (its MSS against our adv_mss, window scale,
 * SACK permitted, timestamps with @p tsval) into a new connection, active
 * or passive alike. */
void tcp_syn_opts_apply(struct mcore *c, struct tcp_cb *t, uint16_t mss, uint8_t ws,
                        bool sack_ok, bool ts_ok, uint32_t tsval);
/* tcp_rcv.c: the segment's text and FIN (3.10.7.4 seventh and eighth). */
void tcp_rcv_data(struct mcore *c, struct msock *s, const struct tcp_seg *sg);

#endif
