/* SPDX-License-Identifier: MIT */
/*
 * TCP test fixtures on top of the generic fixture (tests/support/fx.h):
 *
 *   - struct tcp_repr: a TCP segment at the representation level (ports,
 *     numbers, flags, window, options, payload). tfx_inject() emits it as a
 *     real frame from the peer R (correct checksums unless told otherwise,
 *     knobs for broken headers); tfx_tx() parses what the stack transmitted
 *     back into one (and fails the test on a bad TCP checksum).
 *   - Connection set-up through the real handshake, active and passive,
 *     with the peer's options chosen by the test; struct tfx_conn keeps
 *     both sides' sequence numbers.
 *   - The application's side of a stream socket: write to the send ring,
 *     read from the receive ring, accept, shutdown, abort.
 *   - tfx_teardown(): aborts every TCP socket still open, then
 *     fx_teardown() (pools idle, slots free: RES-LEAK-1).
 *   - IPv6 (issue 9): after tfx_pin_ip6(true) the fixture runs over IPv6
 *     (tests/support/fx6.h: L 2001:db8:1::1, R 2001:db8:1::2): segments
 *     are injected and parsed as IPv6, tfx_connect opens to R's IPv6
 *     address and tfx_passive listens on `::`. One segment can pick its
 *     family with .af (4 or 6) whatever the pin, for dual-stack tests.
 *
 * Does not contain scenario logic (tests/unit/tcp/test_tcp_*.c).
 */
#ifndef MOAT_TEST_TCP_FX_H
#define MOAT_TEST_TCP_FX_H

#include <stdbool.h>
#include <stdint.h>

#include "fx.h"

#define TFX_LPORT 80u
#define TFX_RPORT 40000u
#define TFX_PEER_ISS 12345u

#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_PSH 0x08u
#define TH_ACK 0x10u
#define TH_ECE 0x40u
#define TH_CWR 0x80u

struct tcp_repr {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t wnd;
    /* options (parsed from transmitted segments too) */
    uint16_t mss;               /* 0: none */
    int ws;                     /* -1: none */
    bool sack_perm;
    bool ts;
    uint32_t tsval, tsecr;
    unsigned n_sack;
    uint32_t sack[4][2];
    /* payload */
    const uint8_t *data;
    uint32_t len;
    /* builder knobs */
    bool bad_cksum;
    int doff;                   /* data offset in words; 0 = computed */
    uint8_t rsvd;               /* reserved bits (low 4 bits of byte 12) */
    uint32_t cut;               /* bytes cut off the end of the segment */
    uint32_t src, dst;          /* IP addresses; 0 = R -> L */
    bool to_bcast;              /* sent to the subnet broadcast */
    uint8_t tos;                /* IP TOS byte (ECN in the low 2 bits); parsed too */
    uint8_t af;                 /* 4 / 6: the family (0 when built: the fixture's) */
    const uint8_t *src6, *dst6; /* IPv6 addresses; NULL = R -> L global */
    uint8_t ip6_src[16], ip6_dst[16];   /* parsed IPv6 addresses */
    /* parse results */
    uint32_t opt_len;
    uint32_t ip_len;            /* IP total length */
};

/* A segment from R:TFX_RPORT to L:TFX_LPORT with window 65535. */
#define TSEG(...) ((struct tcp_repr){ .sport = TFX_RPORT, .dport = TFX_LPORT, \
                                      .wnd = 65535, .ws = -1, __VA_ARGS__ })

/* Encode @p r into @p out (TCP header, options, payload); returns length. */
size_t tfx_build(uint8_t *out, uint32_t src, uint32_t dst, const struct tcp_repr *r);
void tfx_inject(struct fx *f, const struct tcp_repr *r);
/* Parse captured frame @p i as TCP; false if it is not a TCP segment. A bad
 * TCP checksum fails the test. */
bool tfx_parse(const struct fx *f, unsigned i, struct tcp_repr *out);
/* Captured frame @p i, which must be TCP. */
struct tcp_repr tfx_tx(const struct fx *f, unsigned i);
/* Number of TCP segments captured since the last fx_tx_clear. */
unsigned tfx_ntcp(const struct fx *f);

/* One connection as both sides see it. */
struct tfx_conn {
    uint32_t h;                 /* application handle */
    uint32_t lh;                /* listener (passive) or 0 */
    uint16_t lport, rport;
    uint32_t iss;               /* ours */
    uint32_t irs;               /* the peer's ISS */
    uint32_t snd_nxt;           /* our next new sequence number, as seen */
    uint32_t peer_nxt;          /* the peer's next sequence number */
    uint16_t mss;               /* what we announced */
    bool ts;                    /* timestamps in use */
    uint32_t peer_ts;           /* the peer's TSval clock */
};

/* The options the peer offers in its SYN / SYN-ACK. */
struct tfx_opts {
    uint16_t mss;               /* 0: no MSS option */
    int ws;                     /* -1: no window scale */
    bool sack;
    bool ts;
    uint16_t wnd;               /* 0: 65535 */
    uint32_t iss;               /* 0: TFX_PEER_ISS */
    bool ecn;                   /* RFC 3168: the SYN asks for ECN (ECE + CWR), the
                                   SYN-ACK agrees (ECE) */
};
#define TFX_OPTS(...) ((struct tfx_opts){ .mss = 1460, .ws = -1, __VA_ARGS__ })

/* fx_config with TCP-friendly values (msl 1 s for short TIME-WAITs). */
void tfx_config(struct fx *f);
/* From now on tfx_config selects congestion control @p algo
 * (MOAT_TCP_CONG_*; -1: the stack's default). For tests written against
 * one algorithm's window arithmetic (NewReno's, in the older scenarios). */
void tfx_pin_cong(int algo);
/* From now on the fixture speaks IPv6 (true) or IPv4 (false, the
 * default); tfx_config/tfx_start set up IPv6 on interface 0 either way
 * when it is on. */
void tfx_pin_ip6(bool on);
bool tfx_ip6(void);
/* tfx_config + tfx_start. */
void tfx_init(struct fx *f);
/* fx_start + ARP seeded + tx cleared: the second half of tfx_init, for a
 * test that adjusted f->cfg after tfx_config. */
void tfx_start(struct fx *f);
/* tfx_teardown, then a fresh fixture whose connections all use the initial
 * send sequence number @p iss (cfg.tcp_iss_hook). */
void tfx_restart_iss(struct fx *f, uint32_t iss);

/* Active open to R:TFX_RPORT from an ephemeral port; the peer answers with
 * @p o. Leaves the stack ESTABLISHED and the capture cleared. */
void tfx_connect(struct fx *f, struct tfx_conn *k, const struct tfx_opts *o);
/* Listen on TFX_LPORT (backlog 4) and open from the peer with @p o; the
 * accepted handle is k->h. Capture cleared. */
void tfx_passive(struct fx *f, struct tfx_conn *k, const struct tfx_opts *o);

/* Bring @p k (established, active or passive) to TIME-WAIT: the
 * application closes, the peer ACKs our FIN and sends its own. */
void tfx_to_time_wait(struct fx *f, struct tfx_conn *k);

/* A segment from the peer of @p k with its numbers filled in. */
struct tcp_repr tfx_seg(const struct tfx_conn *k, uint8_t flags, const void *data,
                        uint32_t len);
/* Peer sends data (advances k->peer_nxt). */
void tfx_peer_send(struct fx *f, struct tfx_conn *k, const void *data, uint32_t len,
                   uint8_t extra_flags);
/* Peer acknowledges up to @p ack with window @p wnd (raw field). */
void tfx_peer_ack(struct fx *f, struct tfx_conn *k, uint32_t ack, uint16_t wnd);

/* Application side of a stream socket. */
uint32_t tfx_stream_open(struct fx *f);
int tfx_listen(struct fx *f, uint32_t h, uint32_t backlog);
int tfx_accept(struct fx *f, uint32_t lh, uint32_t *child);
/* tfx_accept, also reporting the peer's address as ACCEPT returns it. */
int tfx_accept_peer(struct fx *f, uint32_t lh, uint32_t *child, struct moat_m_addr *peer);
int tfx_shutdown(struct fx *f, uint32_t h, int how);
int tfx_abort(struct fx *f, uint32_t h);
/* Write up to @p len bytes to the send ring and poll; returns bytes written. */
uint32_t tfx_write(struct fx *f, uint32_t h, const void *data, uint32_t len);
/* Read up to @p cap bytes from the receive ring (consumes) and poll. */
uint32_t tfx_read(struct fx *f, uint32_t h, void *buf, uint32_t cap);

/* Internal state of the connection of handle @p h (by slot). */
struct tcp_cb *tfx_tcb(struct fx *f, uint32_t h);
int tfx_state(struct fx *f, uint32_t h);
/* TIME-WAIT entry for L:lport <-> R:rport (of the pinned family), or NULL. */
struct tcp_tw *tfx_tw(struct fx *f, uint16_t lport, uint16_t rport);
/* Slots in use by the core. */
unsigned tfx_slots_used(struct fx *f);

/* Fill @p buf with a recognisable pattern starting at @p off. */
void tfx_pattern(uint8_t *buf, uint32_t len, uint32_t off);

/* Abort every TCP socket still open, then fx_teardown. */
void tfx_teardown(struct fx *f);

#endif
