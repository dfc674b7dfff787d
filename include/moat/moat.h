/* SPDX-License-Identifier: MIT */
/*
 * moat: stack lifecycle and configuration (the hosted API).
 *
 * An application fills a struct moat_config (moat_config_defaults() gives
 * sane values), opens a stack with moat_stack_open() and uses the socket
 * calls of <moat/socket.h>. Where the network domain runs (a thread of this
 * process, or confined child processes) is decided when moat is built
 * (MOAT_BACKEND=thread|process|seccomp); the application source is the same.
 *
 * Addresses in this API are IPv4 addresses in host byte order.
 */
#ifndef MOAT_MOAT_H
#define MOAT_MOAT_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MOAT_MAX_IFS 4
/* Upper bound of moat_config.max_sockets (a handle holds the slot in 16
 * bits). moat_config_defaults() gives 64, sized for small targets; the
 * hosted examples start from MOAT_HOSTED_SOCKETS (--max-sockets N). */
#define MOAT_MAX_SOCKETS 65536u
#define MOAT_HOSTED_SOCKETS 1024u
/* Ring size per socket (each way) the hosted examples start from
 * (--sock-bytes N): room for a 50 ms, 500 Mbit/s path. The window a
 * connection uses inside it is autotuned under tcp_mem_bytes; pages are
 * touched only as data moves and given back when the slot is freed. */
#define MOAT_HOSTED_SOCK_BYTES (4u << 20)
#define MOAT_PATH_MAX 256
#define MOAT_IP6_STATIC_MAX 2   /* static IPv6 addresses per interface */

struct moat_link;   /* see <moat/link.h> */
struct moat_stack;  /* opaque; one per moat_stack_open() */

enum moat_link_kind {
    MOAT_LINK_NONE = 0,   /* no device: only useful in tests */
    MOAT_LINK_TAP,        /* dev = TAP interface name */
    MOAT_LINK_WIRE,       /* dev = path of a shared-memory wire */
    MOAT_LINK_CUSTOM      /* custom = a link object the caller made (thread backend) */
};

/*
 * Impairments applied by the shared-memory wire to the frames this end
 * sends. Probabilities are in parts per million; the same seed gives the
 * same sequence of decisions.
 */
struct moat_impair {
    uint32_t loss_ppm;      /* frame silently dropped */
    uint32_t dup_ppm;       /* frame delivered twice */
    uint32_t reorder_ppm;   /* frame held back behind the next ones */
    uint32_t corrupt_ppm;   /* one random byte of the frame flipped */
    uint32_t delay_us;      /* every frame delivered this much later */
    uint32_t jitter_us;     /* plus a uniform random 0..jitter_us */
    uint64_t seed;          /* 0: a fixed default seed */
};

struct moat_if_config {
    uint32_t ip;            /* our address (required) */
    uint8_t  prefix;        /* network prefix length, 1..32 (default 24) */
    uint32_t gw;            /* default gateway, 0 for none */
    uint8_t  mac[6];        /* all zero: derived from ip as 02:00:ip0:ip1:ip2:ip3 */
    uint16_t mtu;           /* IP MTU, 576..9000 (default 1500) */
    enum moat_link_kind link;
    char     dev[MOAT_PATH_MAX];   /* TAP name or wire path */
    char     pcap[MOAT_PATH_MAX];  /* non-empty: capture every frame here */
    struct moat_impair impair;     /* wire only */
    struct moat_link *custom;      /* MOAT_LINK_CUSTOM only; borrowed */
    /* 1: take the address, prefix, gateway, MTU and DNS servers by DHCP
     * (core/dhcp.c, docs/dhcp-dns.md); ip may then be 0 (the interface
     * starts without an address) and prefix/gw are ignored. With an all-zero
     * mac a random locally administered one is chosen. */
    uint8_t  dhcp;
    uint8_t  no_offload;    /* TAP: 1 = plain frames, no virtio-net offloads (default 0:
                               transmit and receive offloads on where the device has them;
                               MOAT_TAP_OFFLOAD=0|1 in the environment overrides) */
    /* IPv6 (docs/ipv6.md). A link-local address (modified EUI-64 of the
     * MAC) is always configured unless no_ip6; SLAAC takes addresses from
     * router advertisements unless no_slaac. */
    uint8_t  ip6[MOAT_IP6_STATIC_MAX][16];  /* static addresses; all-zero: unused */
    uint8_t  ip6_prefix[MOAT_IP6_STATIC_MAX]; /* their prefix lengths, 1..128 (on-link) */
    uint8_t  no_slaac;      /* 1: no router solicitations, no addresses from RAs */
    uint8_t  no_ip6;        /* 1: no IPv6 at all on this interface */
    /* 1: IPv6 only (docs/ipv6.md "IPv6-only interfaces"): ip 0, no dhcp,
     * IPv6 on; no ARP, every IPv4 datagram dropped (IP_NOT_US); with an
     * all-zero mac a random locally administered one is chosen. */
    uint8_t  ip6_only;
};

/* Congestion control algorithms (MOAT_OPT_TCP_CONG, moat_config.tcp_cong). */
enum moat_tcp_cong {
    MOAT_TCP_CONG_NEWRENO = 0,  /* RFC 5681 / RFC 6582 */
    MOAT_TCP_CONG_CUBIC = 1     /* RFC 9438 with HyStart++ (RFC 9406) */
};

struct moat_config {
    uint32_t n_ifs;                         /* 1..MOAT_MAX_IFS (default 1) */
    struct moat_if_config ifs[MOAT_MAX_IFS];

    /* Pools, sized once when the stack opens. */
    uint32_t max_sockets;      /* socket slots (default 64, max MOAT_MAX_SOCKETS) */
    uint32_t sock_rx_bytes;    /* receive ring per socket, power of two (default 256 KiB) */
    uint32_t sock_tx_bytes;    /* send ring per socket, power of two (default 256 KiB) */
    uint32_t pkt_bufs;         /* packet buffers for ARP queues and reassembly (default 256) */
    uint32_t arp_entries;      /* ARP cache size (default 32) */
    uint32_t arp_queue;        /* frames held per unresolved next hop (default 16) */
    uint32_t arp_timeout_ms;   /* lifetime of a dynamic entry (default 300000) */
    uint32_t reass_slots;      /* datagrams reassembled at once (default 8) */
    uint32_t reass_timeout_ms; /* give up on a datagram after (default 30000) */
    uint32_t icmp_err_per_s;   /* ICMP errors sent per second at most (default 100) */
    uint8_t  ip_ttl;           /* TTL of datagrams we send (default 64) */

    /* TCP */
    uint32_t tcp_rto_init_ms;  /* default 1000 (RFC 6298) */
    uint32_t tcp_rto_min_ms;   /* default 200 */
    uint32_t tcp_rto_max_ms;   /* default 60000 */
    uint32_t tcp_max_retries;  /* data retransmissions before ETIMEDOUT (default 12) */
    uint32_t tcp_syn_retries;  /* SYN retransmissions before ETIMEDOUT (default 6) */
    uint32_t tcp_msl_ms;       /* TIME-WAIT lasts 2*MSL (default 30000) */
    uint32_t tcp_delack_ms;    /* delayed ACK timer (default 40) */
    uint32_t tcp_keepidle_ms;  /* keepalive idle time (default 7200000) */
    uint32_t tcp_keepintvl_ms; /* keepalive probe interval (default 75000) */
    uint32_t tcp_keepcnt;      /* unanswered probes before reset (default 9) */
    uint32_t tcp_syn_backlog;  /* embryonic connections held (default 64) */
    uint32_t tcp_ooo_bytes;    /* out-of-order budget per stack (default 4 MiB) */
    uint8_t  tcp_cong;         /* congestion control: MOAT_TCP_CONG_* (default CUBIC);
                                  a socket may choose its own (MOAT_OPT_TCP_CONG) */
    uint8_t  tcp_ecn;          /* ECN (RFC 3168), as Linux's tcp_ecn: 0 off; 1 ask on
                                  connect and accept; 2 (default) accept when asked */

    /* Randomness: 0 = seed from the host (getrandom); else deterministic. */
    uint64_t seed;

    /* Factored backends: spin this long before sleeping (default 50 us). */
    uint32_t spin_us;

    /* TCP memory budget (bytes) for the whole stack: the sum of every
     * connection's autotuned receive window cap and send limit stays under
     * it; when reached, windows stop growing (they never shrink below what
     * was granted). Default 128 MiB; minimum 64 KiB. See
     * docs/performance.md, "Windows and memory". */
    uint64_t tcp_mem_bytes;

    /* Path MTU probing upward (RFC 4821, RFC 8899): after an ICMP
     * frag-needed lowered a connection's MSS, try a larger segment again
     * this often (RFC 8899's PMTU_RAISE_TIMER; default 600000 = 10 min;
     * 0: never probe). */
    uint32_t tcp_pmtu_probe_ms;

    /* DHCP client: treat a lease longer than this many seconds as if the
     * server had granted only this much (T1/T2 scaled down with it); 0: use
     * the lease as given. A client may always give up an address early;
     * this is what lets a test see renewal and expiry against a server
     * whose minimum lease is two minutes (dnsmasq). */
    uint32_t dhcp_lease_max_s;

    /* A net domain whose heartbeat has not moved for this long while an
     * application call waits on it (stopped with SIGSTOP, livelocked) is
     * reported dead: the waiting calls and every later one return
     * MOAT_E_DEAD. Default 5000; 0: never (a hang stays a hang); otherwise
     * at least 2000 (the net domain sleeps up to 1 s between beats).
     * See docs/faults.md. */
    uint32_t net_stall_ms;

    /* Largest IP datagram (IPv4 or IPv6, header included) the stack sends in
     * fragments or reassembles: 576..65535, and at least every
     * interface's MTU; 0 means 65535 (the default). The core keeps two
     * buffers of this size (a datagram being built, a datagram being
     * reassembled): 128 KiB at the default, most of the core's memory in
     * a small configuration. A firmware that never sends or receives a
     * datagram above its MTU sets it to the MTU (docs/footprint.md); a
     * larger UDP send then fails with MOAT_E_MSGSIZE and a larger
     * fragmented datagram is dropped (FRAG_BAD). */
    uint32_t ip_max_datagram;

    /* IPv6 duplicate address detection: neighbour solicitations per
     * address before it is used (RFC 4862 DupAddrDetectTransmits; default
     * 1; 0: addresses are used at once, without DAD). */
    uint8_t ip6_dad_transmits;
};

/*
 * The address interface @p ifx holds now and its DHCP lease (DHCP state
 * MOAT_DHCP_OFF for a static address). Writes @p out (struct in
 * <moat/stats.h>). Returns 0, MOAT_E_INVAL (no such interface) or the
 * stack's failure code (MOAT_E_DEAD). Caller: application. Never blocks
 * beyond one round trip to the network domain.
 */
int moat_dhcp_info(struct moat_stack *st, unsigned ifx, struct moat_dhcp_info *out);

/*
 * Wait until interface @p ifx holds an address (static, or a DHCP lease
 * bound), or @p timeout_ms passes (-1: forever). Writes the lease to
 * @p out (may be NULL). Returns 0, MOAT_E_TIMEDOUT, MOAT_E_INVAL or the
 * stack's failure code. Caller: application; blocks.
 */
int moat_dhcp_wait(struct moat_stack *st, unsigned ifx, int timeout_ms,
                   struct moat_dhcp_info *out);

/* Fill @p cfg with defaults (one interface, no link, all sizes above). */
void moat_config_defaults(struct moat_config *cfg);

/*
 * Check a configuration without opening anything.
 * Returns 0 or MOAT_E_INVAL / MOAT_E_RANGE; when @p why is non-NULL it
 * borrows a buffer of @p whylen bytes and writes a one-line reason there.
 */
int moat_config_check(const struct moat_config *cfg, char *why, size_t whylen);

/*
 * Open a stack: start its network (and link) domain and attach the links.
 * Borrows @p cfg. Writes the stack to @p out.
 * Returns 0, MOAT_E_INVAL, MOAT_E_RANGE, MOAT_E_NOMEM, MOAT_E_NODEV (TAP
 * interface missing), MOAT_E_PERM (no right to open the device), MOAT_E_IO.
 * Caller: application. May block while domains start.
 */
int moat_stack_open(const struct moat_config *cfg, struct moat_stack **out);

/*
 * Close a stack: every socket is aborted, domains are stopped and reaped.
 * Takes @p st. Caller: application; no other thread may use @p st.
 */
void moat_stack_close(struct moat_stack *st);

/*
 * Copy the stack's counters to @p out.
 * Returns 0, MOAT_E_INVAL or MOAT_E_DEAD.
 */
int moat_stack_stats(struct moat_stack *st, struct moat_stats *out);

/* The backend this library was built with: "thread", "process" or "seccomp". */
const char *moat_backend_name(void);

/*
 * Parse dotted IPv4 text with inet_aton rules (octal and hex parts, and
 * the a, a.b and a.b.c short forms). Returns 0 or MOAT_E_INVAL.
 */
int moat_ip4_parse(const char *text, uint32_t *out);
/* Parse "a.b.c.d/len"; a missing /len leaves @p prefix untouched. */
int moat_ip4_parse_cidr(const char *text, uint32_t *ip, uint8_t *prefix);
/* Format as dotted quad into @p buf (at least 16 bytes); returns buf. */
char *moat_ip4_format(uint32_t ip, char *buf);
/* Parse IPv6 text (RFC 4291 2.2: "::" compression, a trailing dotted
 * IPv4 part) into 16 bytes. Returns 0 or MOAT_E_INVAL. */
int moat_ip6_parse(const char *text, uint8_t out[16]);
/* Parse "addr/len" (len 1..128); a missing /len leaves @p prefix untouched. */
int moat_ip6_parse_cidr(const char *text, uint8_t out[16], uint8_t *prefix);
/* Format per RFC 5952 (lower case, longest zero run as "::") into @p buf
 * (at least MOAT_IP6_STRLEN bytes); returns buf. */
#define MOAT_IP6_STRLEN 46
char *moat_ip6_format(const uint8_t a[16], char *buf);
/* Parse "aa:bb:cc:dd:ee:ff". Returns 0 or MOAT_E_INVAL. */
int moat_mac_parse(const char *text, uint8_t mac[6]);

#ifdef __cplusplus
}
#endif
#endif
