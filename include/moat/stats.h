/* SPDX-License-Identifier: MIT */
/*
 * Per-stack statistics: frame counters and drops by reason. One X-macro list
 * gives the enum, the names and the array size, so adding a reason is one
 * line. Counters are per stack instance (never global).
 */
#ifndef MOAT_STATS_H
#define MOAT_STATS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, description) */
#define MOAT_DROPS(X)                                                      \
    X(ETH_SHORT, "frame shorter than an Ethernet header")                  \
    X(ETH_NOT_US, "frame for another MAC address")                         \
    X(ETH_TYPE, "unsupported EtherType")                                   \
    X(ARP_MALFORMED, "ARP packet malformed or not Ethernet/IPv4")          \
    X(ARP_NOT_US, "ARP request for an address that is not ours")           \
    X(ARP_QUEUE_FULL, "packet waiting for ARP dropped: queue full")        \
    X(ARP_UNRESOLVED, "packet dropped: next hop never answered ARP")       \
    X(IP_SHORT, "IPv4 datagram shorter than its header")                   \
    X(IP_VERSION, "IP version is not 4")                                   \
    X(IP_HDRLEN, "IPv4 header length invalid")                             \
    X(IP_TOTLEN, "IPv4 total length invalid or longer than the frame")     \
    X(IP_CHECKSUM, "IPv4 header checksum wrong")                           \
    X(IP_BAD_SRC, "IPv4 source address is loopback, multicast or broadcast") \
    X(IP_NOT_US, "IPv4 datagram not addressed to this stack")              \
    X(IP_PROTO, "unsupported IP protocol")                                 \
    X(FRAG_BAD, "fragment with invalid offset or length")                  \
    X(FRAG_OVERLAP, "fragment overlaps earlier data with different bytes") \
    X(FRAG_NOMEM, "reassembly memory exhausted")                           \
    X(FRAG_TIMEOUT, "reassembly timed out with holes")                     \
    X(FRAG_DUP, "duplicate fragment ignored")                              \
    X(ICMP_MALFORMED, "ICMP message malformed or checksum wrong")          \
    X(ICMP_RATELIMIT, "ICMP error suppressed by the rate limit")           \
    X(ICMP_IGNORED, "ICMP message that needs no action (echo reply, broadcast echo, unknown type)") \
    X(ICMP_NO_MATCH, "ICMP error about a datagram no socket claims")       \
    X(UDP_MALFORMED, "UDP length or checksum wrong")                       \
    X(UDP_NO_PORT, "UDP datagram for a port nobody listens on")            \
    X(UDP_RCVBUF, "UDP datagram dropped: socket receive ring full")        \
    X(TCP_MALFORMED, "TCP header, length or checksum wrong")               \
    X(TCP_NO_PORT, "TCP segment for no connection or listener")            \
    X(TCP_OUT_OF_WINDOW, "TCP segment outside the receive window")         \
    X(TCP_OOO_FULL, "TCP out-of-order segment dropped: budget exhausted")  \
    X(TCP_BACKLOG, "TCP SYN or handshake-completing ACK dropped: accept queue (listen backlog) full") \
    X(TCP_NO_SLOT, "TCP handshake refused with RST: every socket slot in use") \
    X(TCP_PAWS, "TCP segment rejected by PAWS")                            \
    X(LINK_TX_FULL, "outgoing frame not sent: link had no buffer (a connection's segment waits and is retried; other frames are lost)") \
    X(LINK_TX_ERROR, "outgoing frame dropped: link write failed")          \
    X(NO_ROUTE, "outgoing datagram dropped: no route")                     \
    X(PKT_NOMEM, "packet dropped: buffer pool exhausted")                  \
    X(BOUNDARY, "malformed message or descriptor from another domain")    \
    X(DHCP_MALFORMED, "DHCP message malformed, not for us, or unexpected now") \
    X(LINK_RX_BAD, "received frame whose link metadata (virtio-net header) was malformed") \
    X(IP6_SHORT, "IPv6 datagram shorter than its header or payload length")  \
    X(IP6_BAD_SRC, "IPv6 source address is multicast")                     \
    X(IP6_NOT_US, "IPv6 datagram not addressed to this stack (or a group it did not join)") \
    X(IP6_EXTHDR, "IPv6 extension header malformed, misplaced or refused (routing)") \
    X(IP6_PROTO, "unsupported IPv6 next header")                           \
    X(ICMP6_MALFORMED, "ICMPv6 message malformed or checksum wrong")       \
    X(ICMP6_IGNORED, "ICMPv6 message that needs no action")                \
    X(ICMP6_RATELIMIT, "ICMPv6 error suppressed by the rate limit")        \
    X(ND_MALFORMED, "neighbour discovery message invalid (hop limit, length, options)") \
    X(ND_QUEUE_FULL, "packet waiting for neighbour discovery dropped: queue full") \
    X(ND_UNRESOLVED, "packet dropped: next hop never answered neighbour solicitation")

/* DHCP client states (moat_dhcp_info.state; RFC 2131 figure 5, plus the
 * RFC 5227 probe of the offered address). */
enum moat_dhcp_state {
    MOAT_DHCP_OFF = 0,       /* static address, no DHCP client */
    MOAT_DHCP_INIT,          /* no address; about to send DHCPDISCOVER */
    MOAT_DHCP_SELECTING,     /* DHCPDISCOVER sent, waiting for an offer */
    MOAT_DHCP_REQUESTING,    /* DHCPREQUEST sent for an offer */
    MOAT_DHCP_PROBING,       /* ACK received; ARP-probing the address */
    MOAT_DHCP_BOUND,         /* address configured */
    MOAT_DHCP_RENEWING,      /* past T1: asking the server that leased it */
    MOAT_DHCP_REBINDING      /* past T2: asking any server */
};

#define MOAT_DHCP_DNS_MAX 3

/* One interface's address and lease (moat_dhcp_info(), moat_stats.dhcp). */
struct moat_dhcp_info {
    uint32_t state;          /* enum moat_dhcp_state */
    uint32_t ip;             /* address held now (0: none); host order */
    uint32_t prefix;         /* its prefix length */
    uint32_t router;         /* default gateway (0: none) */
    uint32_t server;         /* DHCP server identifier */
    uint32_t dns[MOAT_DHCP_DNS_MAX]; /* DNS servers offered (0: unused) */
    uint32_t mtu;            /* IP MTU in use */
    uint32_t lease_s;        /* lease length as used (after dhcp_lease_max_s) */
    uint32_t t1_s, t2_s;     /* renewal and rebinding times, from the lease start */
    uint32_t remaining_s;    /* seconds left of the lease (0 when not bound) */
    uint32_t changes;        /* counts every address gained or lost */
};

/* IPv6 addresses of one interface (moat_stats.ip6; docs/ipv6.md). */
#define MOAT_IP6_ADDRS 6
enum moat_ip6_state {
    MOAT_IP6_NONE = 0,       /* slot unused */
    MOAT_IP6_TENTATIVE,      /* duplicate address detection running */
    MOAT_IP6_PREFERRED,      /* usable */
    MOAT_IP6_DEPRECATED,     /* preferred lifetime over: kept for existing use */
    MOAT_IP6_DUPLICATE       /* DAD found another holder: not used */
};
enum moat_ip6_origin { MOAT_IP6_LINKLOCAL = 1, MOAT_IP6_STATIC, MOAT_IP6_SLAAC };
struct moat_ip6_info {
    uint8_t addr[MOAT_IP6_ADDRS][16];
    uint8_t prefix[MOAT_IP6_ADDRS];  /* prefix length */
    uint8_t state[MOAT_IP6_ADDRS];   /* enum moat_ip6_state */
    uint8_t origin[MOAT_IP6_ADDRS];  /* enum moat_ip6_origin */
    uint8_t pad[2];
    uint8_t router[16];              /* default router (link-local), all-zero: none */
    uint32_t mtu;                    /* IPv6 link MTU in use */
    uint32_t changes;                /* counts addresses gained or lost */
};

enum moat_drop {
#define MOAT_DROP_ENUM_(name, desc) MOAT_DROP_##name,
    MOAT_DROPS(MOAT_DROP_ENUM_)
#undef MOAT_DROP_ENUM_
    MOAT_DROP_COUNT
};

struct moat_stats {
    uint64_t frames_in;
    uint64_t frames_out;
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t arp_requests_out;
    uint64_t arp_replies_out;
    uint64_t icmp_echo_replies;
    uint64_t icmp_errors_out;
    uint64_t ip_frags_out;
    uint64_t ip_reassembled;
    uint64_t udp_in;
    uint64_t udp_out;
    uint64_t tcp_segs_in;
    uint64_t tcp_segs_out;
    uint64_t tcp_retransmits;
    uint64_t tcp_fast_retransmits;
    uint64_t tcp_timeouts;
    uint64_t tcp_conns_opened;
    uint64_t tcp_conns_accepted;
    uint64_t tcp_syncookies_sent;
    uint64_t tcp_challenge_acks;
    uint64_t tcp_tlp_probes;    /* tail loss probes sent (RFC 8985 7) */
    uint64_t tcp_dsacks_in;     /* D-SACK blocks received (RFC 2883) */
    uint64_t tcp_undos;         /* congestion responses undone as spurious */
    uint64_t pkt_in_use;        /* packet buffers held right now */
    uint64_t pkt_high_water;    /* most ever held at once */
    uint64_t conn_state_bytes;  /* state per socket slot, rings excluded
                                   (docs/performance.md, memory) */
    uint64_t drops[MOAT_DROP_COUNT];
    /* ECN (RFC 3168) */
    uint64_t tcp_ecn_conns;      /* connections that negotiated ECN */
    uint64_t tcp_ecn_ce_rcvd;    /* segments received with CE (congestion experienced) */
    uint64_t tcp_ecn_ece_rcvd;   /* ACKs received with ECE (the peer saw CE) */
    uint64_t tcp_ecn_reductions; /* window reductions answering ECE (once per window) */
    /* windows and path MTU (tcp_wnd.c, tcp_pmtu.c) */
    uint64_t tcp_mem_used;      /* bytes of autotuned windows and send limits granted now */
    uint64_t tcp_mem_budget;    /* moat_config.tcp_mem_bytes */
    uint64_t tcp_mem_capped;    /* window growths cut short by the budget */
    uint64_t tcp_rcv_autotunes; /* receive window caps raised by autotuning */
    uint64_t tcp_snd_grows;     /* send limits raised with cwnd */
    uint64_t tcp_rcv_wnd_max;   /* largest receive window announced (bytes) */
    uint64_t tcp_pmtu_probes;   /* path MTU probes sent */
    uint64_t tcp_pmtu_raises;   /* probes acknowledged: MSS raised */
    /* DHCP client (core/dhcp.c), summed over the interfaces */
    uint64_t dhcp_discovers;    /* DHCPDISCOVERs sent (retransmissions included) */
    uint64_t dhcp_requests;     /* DHCPREQUESTs sent (selecting, renewing, rebinding) */
    uint64_t dhcp_acks;         /* DHCPACKs accepted */
    uint64_t dhcp_naks;         /* DHCPNAKs accepted */
    uint64_t dhcp_declines;     /* addresses declined: an ARP probe found them in use */
    uint64_t dhcp_renewals;     /* leases extended (in RENEWING or REBINDING) */
    uint64_t dhcp_expiries;     /* leases lost (expired or NAKed while held) */
    struct moat_dhcp_info dhcp[4]; /* per interface (MOAT_MAX_IFS) */
    /* IPv6 (core/ip6.c, icmp6.c, nd.c; docs/ipv6.md) */
    uint64_t ip6_frags_out;     /* IPv6 fragments sent */
    uint64_t ip6_reassembled;   /* IPv6 datagrams reassembled */
    uint64_t icmp6_echo_replies;
    uint64_t icmp6_errors_out;
    uint64_t nd_solicits_out;   /* neighbour solicitations sent (DAD included) */
    uint64_t nd_adverts_out;    /* neighbour advertisements sent */
    uint64_t nd_rs_out;         /* router solicitations sent */
    uint64_t nd_ra_in;          /* router advertisements accepted */
    uint64_t mld_reports_out;   /* MLDv2 reports sent */
    uint64_t dad_conflicts;     /* addresses found duplicate */
    struct moat_ip6_info ip6[4]; /* per interface (MOAT_MAX_IFS) */
    /* The application's side of the socket boundary (backends/common/
     * client.c), counted there, not in the network domain: control
     * requests it waited for, requests it posted without waiting (close,
     * abort, boolean options), and posted requests the network domain
     * answered with an error (which no call could return any more). */
    uint64_t app_ctl_waited;
    uint64_t app_ctl_posted;
    uint64_t app_ctl_posted_errors;
};

/* Short name of a drop reason ("IP_CHECKSUM"); never NULL. */
const char *moat_drop_name(int reason);
/* One-line description of a drop reason; never NULL. */
const char *moat_drop_desc(int reason);
/* Sum of all drop counters. */
uint64_t moat_stats_drops_total(const struct moat_stats *st);

#ifdef __cplusplus
}
#endif
#endif
