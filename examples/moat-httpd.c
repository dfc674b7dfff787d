/* SPDX-License-Identifier: MIT */
/*
 * moat-httpd: a small HTTP/1.1 static file server on a moat stack.
 *
 *   moat-httpd [link options] [--port N] --root DIR      (default port 80)
 *
 * GET and HEAD of regular files under DIR, with Content-Length, keep-alive
 * (HTTP/1.1 default; HTTP/1.0 on request) and pipelining; "/" and paths
 * ending in "/" serve index.html. Answers 400 to malformed requests (and
 * closes), 404 to missing files, 501 to other methods, 505 to other HTTP
 * versions. No path leaves DIR: ".." segments are refused before anything
 * is opened, and the resolved path (symlinks included) must stay inside
 * the resolved DIR. Request bodies are not supported beyond being skipped
 * when a Content-Length announces them. One event loop (moat_watch and
 * moat_poll_ready) serves many connections with non-blocking sockets;
 * idle connections close after 30 s (looked for once a second).
 * Prints "ready" once listening; exits 0 on SIGINT or SIGTERM.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define H_RX_MAX 8192u         /* request line + headers */
#define H_TX_BUF 65536u        /* response headers and file chunks */
#define H_BATCH 64
#define H_EVENTS 256           /* ready sockets taken per moat_poll_ready */
#define H_IDLE_S 30.0
#define H_DRAIN_S 2.0          /* lingering close: read and discard this long */

struct hconn {
    moat_sock_t s;             /* 0: free */
    char *rx;
    size_t rxlen;
    uint8_t *tx;
    size_t txoff, txlen;       /* tx[txoff, txoff+txlen) still to send */
    int fd;                    /* file being sent, or -1 */
    uint64_t file_off, file_left;
    uint64_t discard;          /* request body bytes still to skip */
    int close_after;           /* close once the current response is sent */
    int peer_eof;
    int draining;              /* response done, our FIN sent: discarding input */
    double last;               /* last activity, for the idle timeout */
    uint16_t watched;          /* events given to moat_watch */
};

struct httpd {
    struct moat_stack *st;
    moat_sock_t lst;
    char root[PATH_MAX];       /* resolved --root */
    size_t rootlen;
    struct hconn *conns;
    unsigned max_conns;
    unsigned long long requests;
};

static void hc_close(struct httpd *h, struct hconn *c, int abort)
{
    if (abort)
        moat_sock_abort(h->st, c->s);
    else
        moat_sock_close(h->st, c->s);
    if (c->fd >= 0)
        close(c->fd);
    free(c->rx);
    free(c->tx);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}

static const char *h_reason(int code)
{
    switch (code) {
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Internal Server Error";
    }
}

static const char *h_type(const char *path)
{
    static const struct { const char *ext, *type; } types[] = {
        { ".html", "text/html; charset=utf-8" }, { ".htm", "text/html; charset=utf-8" },
        { ".txt", "text/plain; charset=utf-8" }, { ".css", "text/css" },
        { ".js", "text/javascript" }, { ".json", "application/json" },
        { ".png", "image/png" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
        { ".gif", "image/gif" }, { ".svg", "image/svg+xml" },
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
        }
    }
    return "application/octet-stream";
}

/* Start a response: status line and headers into tx. */
static void h_head(struct hconn *c, int code, const char *type, uint64_t len,
                   const char *extra)
{
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    int n;

    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    n = snprintf((char *)c->tx, H_TX_BUF,
                 "HTTP/1.1 %d %s\r\nServer: moat-httpd\r\nDate: %s\r\n"
                 "Content-Type: %s\r\nContent-Length: %llu\r\n%sConnection: %s\r\n\r\n",
                 code, h_reason(code), date, type, (unsigned long long)len,
                 extra ? extra : "", c->close_after ? "close" : "keep-alive");
    c->txoff = 0;
    c->txlen = n > 0 && (size_t)n < H_TX_BUF ? (size_t)n : 0;
}

static void h_error(struct hconn *c, int code, int head_only, const char *extra)
{
    char body[160];
    int n = snprintf(body, sizeof body, "<html><body><h1>%d %s</h1></body></html>\n",
                     code, h_reason(code));
    h_head(c, code, "text/html; charset=utf-8", (uint64_t)n, extra);
    if (!head_only && c->txlen + (size_t)n <= H_TX_BUF) {
        memcpy(c->tx + c->txlen, body, (size_t)n);
        c->txlen += (size_t)n;
    }
}

static int h_hex(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/*
 * Turn a request target into a path relative to the root, in @p rel
 * (@p cap bytes): percent-decoded, "." and empty segments dropped,
 * index.html appended to directories. Returns 0, 400 (malformed) or 404
 * (a ".." segment: refused, whatever it would resolve to).
 */
static int h_target(const char *target, size_t tlen, char *rel, size_t cap, int *dir_slash)
{
    char dec[H_RX_MAX];
    size_t n = 0, r = 0, i = 0;

    /* absolute-form (RFC 9112 3.2.2): skip scheme and authority */
    if (tlen > 7 && strncasecmp(target, "http://", 7) == 0) {
        i = 7;
        while (i < tlen && target[i] != '/')
            i++;
        if (i == tlen)
            return 400;
    }
    if (i >= tlen || target[i] != '/')
        return 400;
    for (; i < tlen && target[i] != '?' && target[i] != '#'; i++) {
        int ch = (unsigned char)target[i];
        if (ch == '%') {
            int hi = i + 2 < tlen ? h_hex(target[i + 1]) : -1;
            int lo = i + 2 < tlen ? h_hex(target[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return 400;
            ch = hi * 16 + lo;
            i += 2;
        }
        if (ch == 0 || n + 1 >= sizeof dec)
            return 400;
        dec[n++] = (char)ch;
    }
    dec[n] = '\0';
    *dir_slash = n > 0 && dec[n - 1] == '/';

    for (size_t s = 0; s < n;) {
        size_t e = s;
        while (e < n && dec[e] != '/')
            e++;
        size_t len = e - s;
        if (len == 2 && dec[s] == '.' && dec[s + 1] == '.')
            return 404;
        if (len > 0 && !(len == 1 && dec[s] == '.')) {
            if (r + len + 2 >= cap)
                return 400;
            if (r > 0)
                rel[r++] = '/';
            memcpy(rel + r, dec + s, len);
            r += len;
        }
        s = e + 1;
    }
    rel[r] = '\0';
    if (r == 0 || *dir_slash) {
        const char *idx = r == 0 ? "index.html" : "/index.html";
        if (r + strlen(idx) + 1 > cap)
            return 400;
        strcpy(rel + r, idx);
    }
    return 0;
}

/* Open @p rel under the root; 0 with *fd and *size, 301 for a directory
 * named without its slash, or 404. */
static int h_open(struct httpd *h, const char *rel, int *fd, uint64_t *size)
{
    char full[PATH_MAX], real[PATH_MAX];
    struct stat sb;
    int f;

    if ((size_t)snprintf(full, sizeof full, "%s/%s", h->root, rel) >= sizeof full)
        return 404;
    if (!realpath(full, real))
        return 404;
    /* Symlinks may point anywhere; only what resolves inside the root is served. */
    if (strncmp(real, h->root, h->rootlen) != 0 ||
        (real[h->rootlen] != '/' && h->rootlen > 1))
        return 404;
    f = open(real, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (f < 0)
        return 404;
    if (fstat(f, &sb) != 0) {
        close(f);
        return 404;
    }
    if (S_ISDIR(sb.st_mode)) {
        close(f);
        return 301;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(f);
        return 404;
    }
    *fd = f;
    *size = (uint64_t)sb.st_size;
    return 0;
}

/* Case-insensitive search for token @p tok in a comma-separated value. */
static int h_has_token(const char *v, size_t vlen, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= vlen; i++) {
        if (strncasecmp(v + i, tok, tl) == 0 &&
            (i == 0 || v[i - 1] == ',' || v[i - 1] == ' ' || v[i - 1] == '\t') &&
            (i + tl == vlen || v[i + tl] == ',' || v[i + tl] == ' ' || v[i + tl] == '\t'))
            return 1;
    }
    return 0;
}

/*
 * Parse one request from the front of c->rx, if complete, and start its
 * response. Returns the number of bytes it used, or 0 if more are needed.
 */
static size_t h_request(struct httpd *h, struct hconn *c)
{
    char *p = c->rx, *end = NULL;
    size_t used, hdr_len;

    /* The header block ends at the first empty line (CRLF or bare LF). */
    for (size_t i = 0; i < c->rxlen; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < c->rxlen && p[i + 1] == '\n') { end = p + i + 2; break; }
        if (i + 2 < c->rxlen && p[i + 1] == '\r' && p[i + 2] == '\n') { end = p + i + 3; break; }
    }
    if (!end) {
        if (c->rxlen >= H_RX_MAX) {
            c->close_after = 1;
            h_error(c, 431, 0, NULL);
            return c->rxlen;
        }
        return 0;
    }
    used = (size_t)(end - p);
    hdr_len = used;
    h->requests++;

    /* Request line: METHOD SP TARGET SP HTTP/x.y */
    char *line_end = memchr(p, '\n', hdr_len);
    size_t ll = (size_t)(line_end - p);
    if (ll > 0 && p[ll - 1] == '\r')
        ll--;
    char *sp1 = memchr(p, ' ', ll);
    char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - p)) : NULL;
    int head_only = sp1 && sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
    int is_get = sp1 && sp1 - p == 3 && memcmp(p, "GET", 3) == 0;
    if (!sp1 || !sp2 || sp1 == p || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', ll - (size_t)(sp2 + 1 - p))) {
        c->close_after = 1;
        h_error(c, 400, head_only, NULL);
        return used;
    }
    for (char *m = p; m < sp1; m++) {
        if (*m < 'A' || *m > 'Z') {
            c->close_after = 1;
            h_error(c, 400, 0, NULL);
            return used;
        }
    }
    const char *ver = sp2 + 1;
    size_t vl = ll - (size_t)(ver - p);
    int minor;
    if (vl == 8 && memcmp(ver, "HTTP/1.", 7) == 0 && (ver[7] == '0' || ver[7] == '1')) {
        minor = ver[7] - '0';
    } else if (vl >= 5 && memcmp(ver, "HTTP/", 5) == 0) {
        c->close_after = 1;
        h_error(c, 505, head_only, NULL);
        return used;
    } else {
        c->close_after = 1;
        h_error(c, 400, head_only, NULL);
        return used;
    }

    /* Headers. */
    int keep = minor == 1, have_host = 0, bad = 0;
    uint64_t clen = 0;
    for (char *l = line_end + 1; l < end;) {
        char *le = memchr(l, '\n', (size_t)(end - l));
        size_t len = (size_t)(le - l);
        char *next = le + 1;
        if (len > 0 && l[len - 1] == '\r')
            len--;
        if (len == 0)
            break;                              /* the empty line */
        char *colon = memchr(l, ':', len);
        if (!colon || colon == l || l[0] == ' ' || l[0] == '\t') {
            bad = 1;                            /* no name, or obsolete line folding */
            break;
        }
        for (char *q = l; q < colon; q++) {
            if (*q == ' ' || *q == '\t' || (unsigned char)*q < 33) {
                bad = 1;
                break;
            }
        }
        size_t nl = (size_t)(colon - l);
        char *v = colon + 1;
        size_t vlen = len - nl - 1;
        while (vlen > 0 && (*v == ' ' || *v == '\t')) { v++; vlen--; }
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
        if (nl == 4 && strncasecmp(l, "host", 4) == 0) {
            have_host++;
        } else if (nl == 10 && strncasecmp(l, "connection", 10) == 0) {
            if (h_has_token(v, vlen, "close"))
                keep = 0;
            else if (h_has_token(v, vlen, "keep-alive"))
                keep = 1;
        } else if (nl == 14 && strncasecmp(l, "content-length", 14) == 0) {
            uint64_t x = 0;
            if (vlen == 0 || vlen > 15)
                bad = 1;
            for (size_t k = 0; k < vlen && !bad; k++) {
                if (v[k] < '0' || v[k] > '9')
                    bad = 1;
                else
                    x = x * 10 + (uint64_t)(v[k] - '0');
            }
            clen = x;
        } else if (nl == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
            bad = 1;                            /* bodies we cannot frame: refuse */
        }
        if (bad)
            break;
        l = next;
    }
    /* RFC 9112 3.2: an HTTP/1.1 request without exactly one Host is bad. */
    if (bad || (minor == 1 && have_host != 1)) {
        c->close_after = 1;
        h_error(c, 400, head_only, NULL);
        return used;
    }
    c->close_after = !keep;
    c->discard = clen;

    if (!is_get && !head_only) {
        h_error(c, 501, 0, "Allow: GET, HEAD\r\n");
        return used;
    }

    char rel[PATH_MAX];
    int dir_slash = 0;
    int code = h_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), rel, sizeof rel, &dir_slash);
    if (code == 400) {
        c->close_after = 1;
        h_error(c, 400, head_only, NULL);
        return used;
    }
    int fd = -1;
    uint64_t size = 0;
    if (code == 0)
        code = h_open(h, rel, &fd, &size);
    if (code == 301) {
        char loc[H_RX_MAX + 32];
        int tl = (int)(sp2 - sp1 - 1);
        snprintf(loc, sizeof loc, "Location: %.*s/\r\n", tl < 4000 ? tl : 4000, sp1 + 1);
        h_error(c, 301, head_only, loc);
        return used;
    }
    if (code != 0) {
        h_error(c, code, head_only, NULL);
        return used;
    }
    h_head(c, 200, h_type(rel), size, NULL);
    if (head_only || size == 0) {
        close(fd);
    } else {
        c->fd = fd;
        c->file_off = 0;
        c->file_left = size;
    }
    return used;
}

/* Drive one connection until it would block. */
static void hc_serve(struct httpd *h, struct hconn *c)
{
    if (!c->draining)
        c->last = ex_now();
    for (int n = 0; n < H_BATCH; n++) {
        size_t done = 0;
        int rc;

        if (c->txlen > 0) {
            rc = moat_sock_send(h->st, c->s, c->tx + c->txoff, c->txlen, &done);
            if (rc == MOAT_E_AGAIN || (rc == 0 && done == 0))
                return;
            if (rc != 0) {
                hc_close(h, c, 1);
                return;
            }
            c->txoff += done;
            c->txlen -= done;
            if (c->txlen > 0)
                return;
            continue;
        }
        if (c->file_left > 0) {
            size_t want = c->file_left < H_TX_BUF ? (size_t)c->file_left : H_TX_BUF;
            ssize_t got = pread(c->fd, c->tx, want, (off_t)c->file_off);
            if (got <= 0) {
                /* The file shrank or failed under us: the promised length
                 * cannot be kept, so the connection must not continue. */
                hc_close(h, c, 1);
                return;
            }
            c->txoff = 0;
            c->txlen = (size_t)got;
            c->file_off += (uint64_t)got;
            c->file_left -= (uint64_t)got;
            continue;
        }
        if (c->fd >= 0) {
            close(c->fd);
            c->fd = -1;
        }
        if (c->close_after && !c->draining) {
            /* Closing with unread input would make our TCP answer with a
             * reset, which can destroy the response before the client
             * reads it (e.g. after a 431 for an oversized header). So send
             * FIN first and discard what still arrives, for a while. */
            if (c->peer_eof || moat_sock_shutdown(h->st, c->s, MOAT_SHUT_WR) != 0) {
                hc_close(h, c, 0);
                return;
            }
            c->draining = 1;
            c->last = ex_now() - H_IDLE_S + H_DRAIN_S;   /* idle check ends it */
        }
        if (c->draining) {
            rc = moat_sock_recv(h->st, c->s, c->rx, H_RX_MAX, &done);
            if (rc == MOAT_E_AGAIN)
                return;
            if (rc != 0 || done == 0) {
                hc_close(h, c, 0);
                return;
            }
            continue;
        }
        if (c->discard > 0 && c->rxlen > 0) {
            size_t k = c->discard < c->rxlen ? (size_t)c->discard : c->rxlen;
            memmove(c->rx, c->rx + k, c->rxlen - k);
            c->rxlen -= k;
            c->discard -= k;
            continue;
        }
        if (c->discard == 0 && c->rxlen > 0) {
            size_t used = h_request(h, c);
            if (used > 0) {
                memmove(c->rx, c->rx + used, c->rxlen - used);
                c->rxlen -= used;
                continue;
            }
        }
        if (c->peer_eof) {
            hc_close(h, c, 0);
            return;
        }
        rc = moat_sock_recv(h->st, c->s, c->rx + c->rxlen, H_RX_MAX - c->rxlen, &done);
        if (rc == MOAT_E_AGAIN)
            return;
        if (rc != 0) {
            hc_close(h, c, 1);
            return;
        }
        if (done == 0)
            c->peer_eof = 1;
        c->rxlen += done;
    }
}

/* Watch for what the connection waits for now (only a change costs a
 * call): room to send what it holds, else input. */
static void hc_watch(struct httpd *h, struct hconn *c)
{
    uint16_t want = c->txlen ? MOAT_POLLOUT : MOAT_POLLIN;
    if (c->s != 0 && want != c->watched && moat_watch(h->st, c->s, want, c) == 0)
        c->watched = want;
}

static void h_accept(struct httpd *h)
{
    for (int n = 0; n < H_BATCH; n++) {
        moat_sock_t ns = 0;
        struct hconn *c = NULL;

        if (moat_sock_accept(h->st, h->lst, &ns, NULL) != 0)
            return;
        for (unsigned i = 0; i < h->max_conns; i++) {
            if (h->conns[i].s == 0) {
                c = &h->conns[i];
                break;
            }
        }
        if (!c) {
            moat_sock_abort(h->st, ns);
            continue;
        }
        c->rx = malloc(H_RX_MAX);
        c->tx = malloc(H_TX_BUF);
        if (!c->rx || !c->tx) {
            free(c->rx);
            free(c->tx);
            c->rx = NULL;
            c->tx = NULL;
            moat_sock_abort(h->st, ns);
            continue;
        }
        moat_sock_setopt(h->st, ns, MOAT_OPT_NONBLOCK, 1);
        c->s = ns;
        c->fd = -1;
        c->watched = 0;
        hc_serve(h, c);
        hc_watch(h, c);
    }
}

int main(int argc, char **argv)
{
    struct moat_config cfg;
    struct httpd h;
    struct moat_addr any = { .ip = 0, .port = 80 };
    const char *root = NULL;
    struct moat_event *ev;
    double next_idle = 0;
    int rc;

    ex_init("moat-httpd", " [--port N] --root DIR");
    ex_link_defaults(&cfg);
    for (int i = 1; i < argc; i++) {
        if (ex_link_opt(&cfg, argc, argv, &i))
            continue;
        if (strcmp(argv[i], "--port") == 0)
            any.port = (uint16_t)ex_parse_num("--port", ex_optarg(argc, argv, &i), 1, 65535, 0);
        else if (strcmp(argv[i], "--root") == 0)
            root = ex_optarg(argc, argv, &i);
        else
            ex_bad_opt(argv[i]);
    }
    if (!root)
        ex_usage("--root DIR is required");
    ex_link_finish(&cfg);

    memset(&h, 0, sizeof h);
    if (!realpath(root, h.root)) {
        fprintf(stderr, "moat-httpd: --root %s: %s\n", root, strerror(errno));
        return 2;
    }
    h.rootlen = strlen(h.root);
    ex_signals();
    h.st = ex_open(&cfg);
    h.max_conns = cfg.max_sockets > 1 ? cfg.max_sockets - 1 : 1;
    h.conns = calloc(h.max_conns, sizeof *h.conns);
    ev = calloc(H_EVENTS, sizeof *ev);
    if (!h.conns || !ev) {
        fprintf(stderr, "moat-httpd: out of memory\n");
        moat_stack_close(h.st);
        return 1;
    }
    for (unsigned i = 0; i < h.max_conns; i++)
        h.conns[i].fd = -1;

    rc = ex_listen(h.st, &any, 128, 1, &h.lst);
    if (rc != 0) {
        fprintf(stderr, "moat-httpd: cannot listen on TCP port %u: %s\n", any.port,
                moat_strerror(rc));
        moat_stack_close(h.st);
        return 1;
    }
    ex_ready();

    rc = moat_watch(h.st, h.lst, MOAT_POLLIN, &h.lst);
    if (rc != 0) {
        fprintf(stderr, "moat-httpd: watch: %s\n", moat_strerror(rc));
        moat_stack_close(h.st);
        return 1;
    }
    while (!ex_stop) {
        unsigned n = 0;
        double now = ex_now();

        if (now >= next_idle) {
            for (unsigned i = 0; i < h.max_conns; i++) {
                struct hconn *c = &h.conns[i];
                if (c->s != 0 && now - c->last > H_IDLE_S)
                    hc_close(&h, c, 0);
            }
            next_idle = now + 1.0;
        }
        rc = moat_poll_ready(h.st, ev, H_EVENTS, EX_POLL_MS, &n);
        if (rc != 0) {
            fprintf(stderr, "moat-httpd: poll: %s\n", moat_strerror(rc));
            moat_stack_close(h.st);
            return 1;
        }
        for (unsigned i = 0; i < n; i++) {
            struct hconn *c = ev[i].user;
            if (ev[i].user == &h.lst) {
                h_accept(&h);
                continue;
            }
            /* Closed (or the slot reused) earlier in this batch? */
            if (c->s != ev[i].sock)
                continue;
            hc_serve(&h, c);
            hc_watch(&h, c);
        }
    }

    for (unsigned i = 0; i < h.max_conns; i++) {
        if (h.conns[i].s)
            hc_close(&h, &h.conns[i], 1);
    }
    fprintf(stderr, "moat-httpd: stopping: %llu requests served\n", h.requests);
    ex_print_stats(h.st);
    moat_stack_close(h.st);
    free(h.conns);
    free(ev);
    return 0;
}
