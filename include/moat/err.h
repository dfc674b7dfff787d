/* SPDX-License-Identifier: MIT */
/*
 * moat error codes: one list, always compiled in.
 *
 * Every fallible moat function returns 0 (MOAT_OK) or one of the negative
 * MOAT_E_* codes below; results come back through out-parameters. The names
 * follow their POSIX counterparts where one exists so that a user who knows
 * sockets knows what they mean. The messages say what was wrong and, where
 * there is something to do about it, what.
 */
#ifndef MOAT_ERR_H
#define MOAT_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, message) */
#define MOAT_ERRORS(X)                                                        \
    X(NOMEM, "out of memory or pool space; raise the pool sizes in moat_config") \
    X(AGAIN, "operation would block; retry when poll reports readiness")      \
    X(INVAL, "invalid argument")                                              \
    X(BADHANDLE, "stale or unknown socket handle")                            \
    X(PEER, "peer domain violated the boundary protocol; channel closed")     \
    X(STATE, "operation not valid in the current socket state")               \
    X(ADDRINUSE, "address already in use")                                    \
    X(ADDRNOTAVAIL, "address not available on any interface of this stack")   \
    X(NOTCONN, "socket is not connected")                                     \
    X(ISCONN, "socket is already connected")                                  \
    X(CONNREFUSED, "connection refused by the peer")                          \
    X(CONNRESET, "connection reset by the peer")                              \
    X(CONNABORTED, "connection aborted")                                      \
    X(TIMEDOUT, "operation timed out")                                        \
    X(HOSTUNREACH, "no route to host, or the next hop did not answer ARP")    \
    X(NETUNREACH, "network unreachable: no interface or gateway for it")      \
    X(MSGSIZE, "message too long for this socket or stack")                   \
    X(NOBUFS, "no buffer space: the socket's ring is full")                   \
    X(PIPE, "socket was shut down for writing")                               \
    X(NOTSUP, "operation not supported by this socket type or backend")       \
    X(INPROGRESS, "operation in progress; poll for its completion")           \
    X(ALREADY, "an operation of this kind is already in progress")            \
    X(MFILE, "no free socket slot; raise max_sockets in moat_config")         \
    X(NODEV, "network device not found; create it first (ip tuntap add dev IFNAME mode tap)") \
    X(PERM, "permission denied; opening a TAP device needs root or CAP_NET_ADMIN") \
    X(IO, "input/output error on the device or host call")                    \
    X(DEAD, "the network domain is gone; close the stack and open a new one") \
    X(CLOSED, "the stack or socket has been closed")                          \
    X(RANGE, "value out of range")                                            \
    X(NONAME, "host name not found: the DNS server says it does not exist")   \
    X(NODATA, "the host name has no address of the requested family")

/* Codes count down from -1 in list order: MOAT_E_NOMEM == -1, ... */
enum moat_err_index_ {
    MOAT_ERRI_NONE_ = 0,
#define MOAT_ERR_IDX_(name, msg) MOAT_ERRI_##name,
    MOAT_ERRORS(MOAT_ERR_IDX_)
#undef MOAT_ERR_IDX_
    MOAT_ERRI_COUNT_
};

enum moat_err {
    MOAT_OK = 0,
#define MOAT_ERR_ENUM_(name, msg) MOAT_E_##name = -MOAT_ERRI_##name,
    MOAT_ERRORS(MOAT_ERR_ENUM_)
#undef MOAT_ERR_ENUM_
    MOAT_E_MIN_ = -MOAT_ERRI_COUNT_ /* one past the last code; not an error */
};

/* Message for a code (0 included); never NULL; unknown codes say so. */
const char *moat_strerror(int err);
/* Symbolic name ("MOAT_E_AGAIN"); never NULL. */
const char *moat_errname(int err);

#ifdef __cplusplus
}
#endif
#endif
