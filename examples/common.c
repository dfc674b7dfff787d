/* SPDX-License-Identifier: MIT */
/*
 * Shared plumbing of the example programs (see common.h): link options,
 * opening the stack, signals, counters. Uses only the public headers (include/moat) and libc; no
 * protocol logic lives here.
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile sig_atomic_t ex_stop;

/* Parse state of the link options. Examples are single-threaded programs
 * with one stack, so file-scope state is fine here (unlike in core/). */
static struct {
    const char *prog;
    const char *usage_extra;
    int have_ip;
    int dhcp;           /* --dhcp seen */
    int n_links;        /* --tap/--wire seen */
    uint32_t max_sockets;   /* as configured (ex_link_finish) */
    int n_ip6;          /* --ip6 seen */
    /* IPv6 addresses already printed by ex_print_ip6 (interface 0) */
    uint8_t ip6_shown[MOAT_IP6_ADDRS][16];
    uint8_t ip6_shown_len[MOAT_IP6_ADDRS];  /* 0: slot unused */
} ex = { "moat-example", "", 0, 0, 0, 0, 0, {{0}}, {0} };

void ex_init(const char *prog, const char *usage_extra)
{
    ex.prog = prog;
    ex.usage_extra = usage_extra ? usage_extra : "";
}

const char *ex_prog(void)
{
    return ex.prog;
}

_Noreturn void ex_usage(const char *why)
{
    if (why)
        fprintf(stderr, "%s: %s\n", ex.prog, why);
    fprintf(stderr,
            "usage: %s (--tap IFNAME | --wire PATH) [--ip ADDR/PREFIX | --dhcp] [link options]%s\n"
            "link options:\n"
            "  --tap IFNAME       attach to an existing TAP interface\n"
            "                     (ip tuntap add dev IFNAME mode tap)\n"
            "  --wire PATH        attach to a shared-memory wire (first opener creates it)\n"
            "  --ip ADDR/PREFIX   our IPv4 address and prefix length; with neither --ip nor\n"
            "                     --dhcp the interface is IPv6-only (link-local, --ip6, SLAAC)\n"
            "  --dhcp             take the address, gateway, MTU and DNS servers by DHCP\n"
            "                     (with --ip too: the address to ask for first)\n"
            "  --dhcp-lease-max S treat longer DHCP leases as S seconds (tests)\n"
            "  --ip6 ADDR/PREFIX  a static IPv6 address (up to 2); a link-local address is\n"
            "                     always added, SLAAC takes more from router advertisements\n"
            "  --no-slaac         no router solicitation, no addresses from advertisements\n"
            "  --gw ADDR          default gateway\n"
            "  --mac MAC          our MAC (default 02:00 + the four bytes of the address;\n"
            "                     with --dhcp or IPv6 only: random, locally administered)\n"
            "  --mtu N            IP MTU, 576..9000 (default 1500)\n"
            "  --pcap FILE        write every frame sent and received to FILE\n"
            "  --no-offload       TAP: plain frames, no checksum/segmentation offloads\n"
            "                     (default: on where the device supports them)\n"
            "  --max-sockets N    socket slots, 1..65536 (default 1024)\n"
            "  --cong ALGO        TCP congestion control: cubic (default) or newreno\n"
            "  --ecn N            TCP ECN: 0 off, 1 ask and accept, 2 accept when asked (default)\n"
            "  --sock-bytes N     receive and send ring per socket, a power of two from 4K\n"
            "                     to 64M (default 4M): the most a TCP window can grow to\n"
            "  --tcp-mem N        TCP window budget of the stack, from 64K (default 128M)\n",
            ex.prog, ex.usage_extra);
    exit(2);
}

_Noreturn void ex_bad_opt(const char *arg)
{
    char why[300];

    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
        ex_usage(NULL);
    snprintf(why, sizeof why, "unknown option '%.200s'", arg);
    ex_usage(why);
}

void ex_link_defaults(struct moat_config *cfg)
{
    moat_config_defaults(cfg);
    /* The core's default (64) suits a microcontroller; a hosted program
     * starts at MOAT_HOSTED_SOCKETS. Unused slots cost address space, not
     * memory (see docs/performance.md). */
    cfg->max_sockets = MOAT_HOSTED_SOCKETS;
    /* Rings big enough for a long fat path; the window inside them is
     * autotuned, and a freed slot's pages go back (mcore_env.ring_release). */
    cfg->sock_rx_bytes = cfg->sock_tx_bytes = MOAT_HOSTED_SOCK_BYTES;
    ex.have_ip = 0;
    ex.dhcp = 0;
    ex.n_links = 0;
}

const char *ex_optarg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        char why[128];
        snprintf(why, sizeof why, "option %s needs a value", argv[*i]);
        ex_usage(why);
    }
    (*i)++;
    return argv[*i];
}

static void ex_copy_path(char *dst, const char *opt, const char *val)
{
    size_t n = strlen(val);
    if (n == 0 || n >= MOAT_PATH_MAX) {
        char why[128];
        snprintf(why, sizeof why, "%s: value empty or longer than %d bytes", opt,
                 MOAT_PATH_MAX - 1);
        ex_usage(why);
    }
    memcpy(dst, val, n + 1);
}

static _Noreturn void ex_bad_value(const char *opt, const char *val, const char *what)
{
    char why[512];
    snprintf(why, sizeof why, "%s '%s': %s", opt, val, what);
    ex_usage(why);
}

int ex_link_opt(struct moat_config *cfg, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    struct moat_if_config *ifc = &cfg->ifs[0];

    if (strcmp(opt, "--tap") == 0 || strcmp(opt, "--wire") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        ifc->link = opt[2] == 't' ? MOAT_LINK_TAP : MOAT_LINK_WIRE;
        ex_copy_path(ifc->dev, opt, v);
        ex.n_links++;
        return 1;
    }
    if (strcmp(opt, "--ip") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        uint32_t ip = 0;
        uint8_t prefix = 24;
        if (moat_ip4_parse_cidr(v, &ip, &prefix) != 0 || ip == 0 || prefix < 1 || prefix > 32)
            ex_bad_value(opt, v, "expected ADDR/PREFIX, e.g. 192.0.2.2/24");
        ifc->ip = ip;
        ifc->prefix = prefix;
        ex.have_ip = 1;
        return 1;
    }
    if (strcmp(opt, "--ip6") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        uint8_t a[16], prefix = 64;
        if (ex.n_ip6 >= MOAT_IP6_STATIC_MAX)
            ex_bad_value(opt, v, "at most 2 static IPv6 addresses");
        if (moat_ip6_parse_cidr(v, a, &prefix) != 0 || a[0] == 0xff)
            ex_bad_value(opt, v, "expected a unicast ADDR/PREFIX, e.g. 2001:db8:1::2/64");
        memcpy(ifc->ip6[ex.n_ip6], a, 16);
        ifc->ip6_prefix[ex.n_ip6] = prefix;
        ex.n_ip6++;
        return 1;
    }
    if (strcmp(opt, "--no-slaac") == 0) {
        ifc->no_slaac = 1;
        return 1;
    }
    if (strcmp(opt, "--dhcp") == 0) {
        ifc->dhcp = 1;
        ex.dhcp = 1;
        return 1;
    }
    if (strcmp(opt, "--dhcp-lease-max") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        cfg->dhcp_lease_max_s = (uint32_t)ex_parse_num(opt, v, 10, 0xfffffffeu, 0);
        return 1;
    }
    if (strcmp(opt, "--gw") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        uint32_t gw = 0;
        if (moat_ip4_parse(v, &gw) != 0)
            ex_bad_value(opt, v, "expected a dotted IPv4 address");
        ifc->gw = gw;
        return 1;
    }
    if (strcmp(opt, "--mac") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        if (moat_mac_parse(v, ifc->mac) != 0)
            ex_bad_value(opt, v, "expected aa:bb:cc:dd:ee:ff");
        return 1;
    }
    if (strcmp(opt, "--mtu") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        ifc->mtu = (uint16_t)ex_parse_num(opt, v, 576, 9000, 0);
        return 1;
    }
    if (strcmp(opt, "--no-offload") == 0) {
        ifc->no_offload = 1;   /* TAP: plain frames (docs/performance.md, offloads) */
        return 1;
    }
    if (strcmp(opt, "--max-sockets") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        cfg->max_sockets = (uint32_t)ex_parse_num(opt, v, 1, MOAT_MAX_SOCKETS, 0);
        return 1;
    }
    if (strcmp(opt, "--pcap") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        ex_copy_path(ifc->pcap, opt, v);
        return 1;
    }
    if (strcmp(opt, "--cong") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        if (strcmp(v, "cubic") == 0)
            cfg->tcp_cong = MOAT_TCP_CONG_CUBIC;
        else if (strcmp(v, "newreno") == 0 || strcmp(v, "reno") == 0)
            cfg->tcp_cong = MOAT_TCP_CONG_NEWRENO;
        else
            ex_bad_value(opt, v, "expected cubic or newreno");
        return 1;
    }
    if (strcmp(opt, "--ecn") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        cfg->tcp_ecn = (uint8_t)ex_parse_num(opt, v, 0, 2, 0);
        return 1;
    }
    if (strcmp(opt, "--sock-bytes") == 0) {
        /* Ring size = ceiling of window autotuning (docs/performance.md). */
        const char *v = ex_optarg(argc, argv, i);
        uint64_t n = ex_parse_num(opt, v, 4096, 64u << 20, 1);
        if (n & (n - 1))
            ex_bad_value(opt, v, "expected a power of two, 4K..64M");
        cfg->sock_rx_bytes = cfg->sock_tx_bytes = (uint32_t)n;
        return 1;
    }
    if (strcmp(opt, "--tcp-mem") == 0) {
        const char *v = ex_optarg(argc, argv, i);
        cfg->tcp_mem_bytes = ex_parse_num(opt, v, 64u << 10, 1ull << 40, 1);
        return 1;
    }
    return 0;
}

int ex_link_have_ip(void)
{
    return ex.have_ip;
}

int ex_link_dhcp(void)
{
    return ex.dhcp;
}

int ex_link_ip6_only(void)
{
    return !ex.have_ip && !ex.dhcp;
}

int ex_wait_address(struct moat_stack *st, int timeout_ms, uint32_t *ip)
{
    struct moat_dhcp_info info;
    int rc = moat_dhcp_wait(st, 0, timeout_ms, &info);
    if (rc != 0) {
        fprintf(stderr, "%s: no address by DHCP: %s\n", ex.prog, moat_strerror(rc));
        return rc;
    }
    if (ip)
        *ip = info.ip;
    return 0;
}

int ex_wait_ip6(struct moat_stack *st, int link_local, int timeout_ms)
{
    double end = ex_now() + timeout_ms / 1000.0;
    for (;;) {
        struct moat_stats s;
        if (moat_stack_stats(st, &s) == 0) {
            const struct moat_ip6_info *in = &s.ip6[0];
            for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++) {
                int ll = in->addr[k][0] == 0xfe && (in->addr[k][1] & 0xc0) == 0x80;
                if ((in->state[k] == MOAT_IP6_PREFERRED || in->state[k] == MOAT_IP6_DEPRECATED) &&
                    ll == !!link_local)
                    return 0;
            }
        }
        if (ex_stop || ex_now() >= end)
            return MOAT_E_TIMEDOUT;
        /* DAD and SLAAC take a second or more: a coarse poll is enough. */
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

void ex_print_address(const struct moat_dhcp_info *info)
{
    char a[16], g[16];
    if (info->ip == 0)
        return;
    printf("address %s/%u", moat_ip4_format(info->ip, a), info->prefix);
    if (info->state != MOAT_DHCP_OFF) {
        printf(" dhcp lease=%us", info->lease_s);
        if (info->router)
            printf(" gw=%s", moat_ip4_format(info->router, g));
        for (unsigned i = 0; i < MOAT_DHCP_DNS_MAX && info->dns[i]; i++)
            printf(" dns=%s", moat_ip4_format(info->dns[i], g));
    }
    printf("\n");
    fflush(stdout);
}

void ex_print_ip6(struct moat_stack *st)
{
    static const char *const origin[] = {"", "link-local", "static", "slaac"};
    struct moat_stats s;
    char a[MOAT_IP6_STRLEN];

    if (moat_stack_stats(st, &s) != 0)
        return;
    const struct moat_ip6_info *in = &s.ip6[0];
    /* Gone: printed before, no longer usable. */
    for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++) {
        if (!ex.ip6_shown_len[k])
            continue;
        int still = 0;
        for (unsigned j = 0; j < MOAT_IP6_ADDRS && !still; j++)
            still = (in->state[j] == MOAT_IP6_PREFERRED || in->state[j] == MOAT_IP6_DEPRECATED) &&
                    memcmp(in->addr[j], ex.ip6_shown[k], 16) == 0;
        if (!still) {
            printf("address gone %s/%u\n", moat_ip6_format(ex.ip6_shown[k], a),
                   ex.ip6_shown_len[k]);
            ex.ip6_shown_len[k] = 0;
        }
    }
    /* New: usable and not printed yet. */
    for (unsigned j = 0; j < MOAT_IP6_ADDRS; j++) {
        if (in->state[j] != MOAT_IP6_PREFERRED && in->state[j] != MOAT_IP6_DEPRECATED)
            continue;
        int shown = 0, free_k = -1;
        for (unsigned k = 0; k < MOAT_IP6_ADDRS; k++) {
            if (ex.ip6_shown_len[k] && memcmp(in->addr[j], ex.ip6_shown[k], 16) == 0)
                shown = 1;
            if (!ex.ip6_shown_len[k] && free_k < 0)
                free_k = (int)k;
        }
        if (shown || free_k < 0)
            continue;
        memcpy(ex.ip6_shown[free_k], in->addr[j], 16);
        ex.ip6_shown_len[free_k] = in->prefix[j] ? in->prefix[j] : 128;
        printf("address %s/%u %s\n", moat_ip6_format(in->addr[j], a), in->prefix[j],
               in->origin[j] <= MOAT_IP6_SLAAC ? origin[in->origin[j]] : "");
    }
    fflush(stdout);
}

void ex_link_finish(struct moat_config *cfg)
{
    char why[256];

    /* Neither --ip nor --dhcp: IPv6 only (docs/ipv6.md). */
    if (!ex.have_ip && !ex.dhcp)
        cfg->ifs[0].ip6_only = 1;
    if (ex.n_links != 1)
        ex_usage("give exactly one of --tap IFNAME or --wire PATH");
    why[0] = '\0';
    if (moat_config_check(cfg, why, sizeof why) != 0)
        ex_usage(why[0] ? why : "invalid configuration");
    ex.max_sockets = cfg->max_sockets;
}

uint64_t ex_parse_num(const char *opt, const char *text, uint64_t min,
                      uint64_t max, int suffixes)
{
    char *end = NULL;
    uint64_t v, mul = 1;
    char what[96];

    errno = 0;
    if (text[0] < '0' || text[0] > '9')
        goto bad;
    v = strtoull(text, &end, 10);
    if (errno != 0 || end == text)
        goto bad;
    if (suffixes && *end != '\0' && end[1] == '\0') {
        switch (*end) {
        case 'k': case 'K': mul = 1ull << 10; break;
        case 'm': case 'M': mul = 1ull << 20; break;
        case 'g': case 'G': mul = 1ull << 30; break;
        default: goto bad;
        }
        end++;
    }
    if (*end != '\0' || v > UINT64_MAX / mul)
        goto bad;
    v *= mul;
    if (v < min || v > max)
        goto bad;
    return v;
bad:
    snprintf(what, sizeof what, "expected a number in %llu..%llu%s",
             (unsigned long long)min, (unsigned long long)max,
             suffixes ? " (K, M, G suffixes allowed)" : "");
    ex_bad_value(opt, text, what);
}

double ex_parse_seconds(const char *opt, const char *text)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v) || v <= 0 || v > 86400.0)
        ex_bad_value(opt, text, "expected seconds, more than 0 and at most 86400");
    return v;
}

struct moat_stack *ex_open(const struct moat_config *cfg)
{
    struct moat_stack *st = NULL;
    int rc = moat_stack_open(cfg, &st);

    if (rc != 0) {
        const char *dev = cfg->ifs[0].dev[0] ? cfg->ifs[0].dev : "the stack";
        fprintf(stderr, "%s: cannot open %s: %s\n", ex.prog, dev, moat_strerror(rc));
        exit(1);
    }
    return st;
}

static void ex_on_signal(int sig)
{
    (void)sig;
    ex_stop = 1;
}

void ex_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ex_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;            /* no SA_RESTART: blocking calls return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* Writes to a closed kernel socket (ttcp --kernel) must be errors,
     * not a silent death. */
    signal(SIGPIPE, SIG_IGN);
}

void ex_print_stats(struct moat_stack *st)
{
    struct moat_stats s;

    if (!st || moat_stack_stats(st, &s) != 0)
        return;
    fprintf(stderr,
            "%s: stats: backend=%s frames_in=%llu frames_out=%llu bytes_in=%llu bytes_out=%llu "
            "arp_requests_out=%llu arp_replies_out=%llu icmp_echo_replies=%llu "
            "icmp_errors_out=%llu ip_frags_out=%llu ip_reassembled=%llu udp_in=%llu udp_out=%llu\n",
            ex.prog, moat_backend_name(),
            (unsigned long long)s.frames_in, (unsigned long long)s.frames_out,
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
            (unsigned long long)s.arp_requests_out, (unsigned long long)s.arp_replies_out,
            (unsigned long long)s.icmp_echo_replies, (unsigned long long)s.icmp_errors_out,
            (unsigned long long)s.ip_frags_out, (unsigned long long)s.ip_reassembled,
            (unsigned long long)s.udp_in, (unsigned long long)s.udp_out);
    fprintf(stderr,
            "%s: stats: tcp_segs_in=%llu tcp_segs_out=%llu tcp_retransmits=%llu "
            "tcp_fast_retransmits=%llu tcp_timeouts=%llu tcp_conns_opened=%llu "
            "tcp_conns_accepted=%llu pkt_high_water=%llu conn_state_bytes=%llu drops=%llu\n",
            ex.prog,
            (unsigned long long)s.tcp_segs_in, (unsigned long long)s.tcp_segs_out,
            (unsigned long long)s.tcp_retransmits, (unsigned long long)s.tcp_fast_retransmits,
            (unsigned long long)s.tcp_timeouts, (unsigned long long)s.tcp_conns_opened,
            (unsigned long long)s.tcp_conns_accepted, (unsigned long long)s.pkt_high_water,
            (unsigned long long)s.conn_state_bytes,
            (unsigned long long)moat_stats_drops_total(&s));
    fprintf(stderr,
            "%s: stats: tcp_ecn_conns=%llu tcp_ecn_ce_rcvd=%llu tcp_ecn_ece_rcvd=%llu "
            "tcp_ecn_reductions=%llu\n",
            ex.prog, (unsigned long long)s.tcp_ecn_conns, (unsigned long long)s.tcp_ecn_ce_rcvd,
            (unsigned long long)s.tcp_ecn_ece_rcvd, (unsigned long long)s.tcp_ecn_reductions);
    /* Loss recovery (RACK-TLP, D-SACK, undo): what a lossy path cost. */
    fprintf(stderr, "%s: stats: tcp_tlp_probes=%llu tcp_dsacks_in=%llu tcp_undos=%llu\n",
            ex.prog, (unsigned long long)s.tcp_tlp_probes, (unsigned long long)s.tcp_dsacks_in,
            (unsigned long long)s.tcp_undos);
    /* The DHCP client, when an interface runs one (docs/dhcp-dns.md). */
    if (s.dhcp_discovers != 0)
        fprintf(stderr, "%s: stats: dhcp_discovers=%llu dhcp_requests=%llu dhcp_acks=%llu "
                        "dhcp_renewals=%llu dhcp_naks=%llu dhcp_declines=%llu "
                        "dhcp_expiries=%llu\n",
                ex.prog, (unsigned long long)s.dhcp_discovers,
                (unsigned long long)s.dhcp_requests, (unsigned long long)s.dhcp_acks,
                (unsigned long long)s.dhcp_renewals, (unsigned long long)s.dhcp_naks,
                (unsigned long long)s.dhcp_declines, (unsigned long long)s.dhcp_expiries);
    /* IPv6 (docs/ipv6.md), when it was used. */
    if (s.nd_solicits_out + s.icmp6_echo_replies + s.nd_ra_in != 0)
        fprintf(stderr, "%s: stats: ip6_frags_out=%llu ip6_reassembled=%llu "
                        "icmp6_echo_replies=%llu icmp6_errors_out=%llu nd_solicits_out=%llu "
                        "nd_adverts_out=%llu nd_rs_out=%llu nd_ra_in=%llu mld_reports_out=%llu "
                        "dad_conflicts=%llu\n",
                ex.prog, (unsigned long long)s.ip6_frags_out,
                (unsigned long long)s.ip6_reassembled, (unsigned long long)s.icmp6_echo_replies,
                (unsigned long long)s.icmp6_errors_out, (unsigned long long)s.nd_solicits_out,
                (unsigned long long)s.nd_adverts_out, (unsigned long long)s.nd_rs_out,
                (unsigned long long)s.nd_ra_in, (unsigned long long)s.mld_reports_out,
                (unsigned long long)s.dad_conflicts);
    for (int r = 0; r < MOAT_DROP_COUNT; r++) {
        if (s.drops[r] != 0)
            fprintf(stderr, "%s: drop: %s=%llu (%s)\n", ex.prog, moat_drop_name(r),
                    (unsigned long long)s.drops[r], moat_drop_desc(r));
    }
}

int ex_listen(struct moat_stack *st, const struct moat_addr *addr, int backlog,
              int reuse, moat_sock_t *out)
{
    moat_sock_t s = 0;
    int rc = moat_sock_open(st, MOAT_SOCK_STREAM, &s);

    if (rc == 0)
        rc = moat_sock_setopt(st, s, MOAT_OPT_NONBLOCK, 1);
    if (rc == 0 && reuse)
        moat_sock_setopt(st, s, MOAT_OPT_REUSEADDR, 1);
    if (rc == 0)
        rc = moat_sock_bind(st, s, addr);
    /* The listen backlog grows with the slots, a quarter of them up to
     * 4096 (Linux's somaxconn): a server given 10,000 slots gets bursts
     * of that many handshakes, and a small accept queue would turn them
     * into dropped SYNs and, for SYN-cookie connections, resets. */
    if (backlog > 0 && ex.max_sockets / 4u > (uint32_t)backlog)
        backlog = ex.max_sockets / 4u > 4096u ? 4096 : (int)(ex.max_sockets / 4u);
    if (rc == 0)
        rc = moat_sock_listen(st, s, backlog);
    if (rc != 0) {
        if (s)
            moat_sock_close(st, s);
        return rc;
    }
    *out = s;
    return 0;
}

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ex_ready(void)
{
    fputs("ready\n", stdout);
    fflush(stdout);
}
