/* SPDX-License-Identifier: MIT */
/*
 * The seccomp filter of a domain as a libseccomp context (built from the
 * tables of policy.c), and a reader of compiled filters: which system
 * calls a classic-BPF seccomp program lets through. confine.c loads the
 * context; moat-policy prints the count it compiles to; the confinement
 * tests count the calls of the filter a running domain has installed.
 *
 * The reader runs the program for one call number with the arguments
 * unknown: a load of an argument (or of the instruction pointer) yields
 * an unknown value, and a conditional jump on an unknown value follows
 * both branches. A call is allowed if some path ends in ALLOW (or LOG, in
 * a MOAT_SECCOMP_DEBUG build), unconditionally if every path does.
 * Programs only jump forward, so each path ends; the number of steps is
 * bounded all the same.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy.h"

#ifndef FUTEX_WAKE
#define FUTEX_WAKE 1
#endif
#ifndef FUTEX_PRIVATE_FLAG
#define FUTEX_PRIVATE_FLAG 128
#endif
#ifndef MADV_REMOVE
#define MADV_REMOVE 9
#endif

static int pf_add(scmp_filter_ctx ctx, uint32_t act, int nr, unsigned n, const int *vals,
                  unsigned arg)
{
    int rc = 0;
    for (unsigned i = 0; i < n && rc == 0; i++)
        rc = seccomp_rule_add(ctx, act, nr, 1,
                              SCMP_CMP(arg, SCMP_CMP_EQ, (scmp_datum_t)(int64_t)vals[i]));
    return rc;
}

static int pf_in(const int *set, unsigned n, int v)
{
    for (unsigned i = 0; i < n; i++)
        if (set[i] == v)
            return 1;
    return 0;
}

static int pf_rule(scmp_filter_ctx ctx, const struct policy_rule *r, const struct confine_fds *f)
{
    int nr = seccomp_syscall_resolve_name(r->name);
    if (nr == __NR_SCMP_ERROR)
        return 0;   /* not a call on this architecture (e.g. poll on arm64) */
    switch (r->arg) {
    case POL_ANY:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
    case POL_FD_READ:
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, f->n_rd, f->rd, 0);
    case POL_FD_WRITE:
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, f->n_wr, f->wr, 0);
    case POL_FD_OWN: {
        /* Every descriptor it may read or write, but never stdio. */
        int all[2 * CONFINE_MAX_FDS];
        unsigned n = 0;
        for (unsigned i = 0; i < f->n_rd; i++)
            if (f->rd[i] > 2 && !pf_in(all, n, f->rd[i]))
                all[n++] = f->rd[i];
        for (unsigned i = 0; i < f->n_wr; i++)
            if (f->wr[i] > 2 && !pf_in(all, n, f->wr[i]))
                all[n++] = f->wr[i];
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, n, all, 0);
    }
    case POL_PROT_NO_EXEC:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
                                SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    case POL_FUTEX_WAKE: {
        static const int ops[] = { FUTEX_WAKE, FUTEX_WAKE | FUTEX_PRIVATE_FLAG };
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, 2, ops, 1);
    }
    case POL_MADV_REMOVE: {
        static const int adv[] = { MADV_REMOVE };
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, 1, adv, 2);
    }
    case POL_PPOLL_NOMASK:
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A3(SCMP_CMP_EQ, 0));
    case POL_CLOCK: {
        static const int clocks[] = { 0 /* CLOCK_REALTIME */, 1 /* CLOCK_MONOTONIC */ };
        return pf_add(ctx, SCMP_ACT_ALLOW, nr, 2, clocks, 0);
    }
    default:
        return -EINVAL;
    }
}

static int pf_traps(scmp_filter_ctx ctx, enum domain_role role, uint32_t act)
{
    unsigned n;
    const struct policy_report *rep = policy_reported(&n);
    for (unsigned i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(rep[i].name);
        const struct policy_rule *allowed = policy_find(role, rep[i].name);
        int rc;
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (allowed && allowed->arg != POL_PROT_NO_EXEC)
            continue;   /* some uses are allowed: the rest meet the default */
        if (rep[i].exec_only || allowed)
            rc = seccomp_rule_add(ctx, act, nr, 1,
                                  SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
        else
            rc = seccomp_rule_add(ctx, act, nr, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

scmp_filter_ctx policy_filter_build(enum domain_role role, const struct confine_fds *f,
                                    uint32_t deflt, uint32_t trap, const char **failed)
{
    scmp_filter_ctx ctx = seccomp_init(deflt);
    unsigned n;
    const struct policy_rule *tab = policy_table(role, &n);
    int rc = ctx ? 0 : -ENOMEM;

    *failed = ctx ? NULL : "seccomp_init";
    for (unsigned i = 0; i < n && rc == 0; i++) {
        rc = pf_rule(ctx, &tab[i], f);
        if (rc != 0)
            *failed = tab[i].name;
    }
    /* In a debug build trap == default (LOG), and libseccomp refuses rules
     * whose action is the default one: nothing to add then. */
    if (rc == 0 && trap != deflt) {
        rc = pf_traps(ctx, role, trap);
        if (rc != 0)
            *failed = "the trapped calls";
    }
    if (rc != 0 && ctx) {
        seccomp_release(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* ---- reading a compiled filter ------------------------------------------ */

#define PF_MAX_STEPS 200000u

struct pf_val {
    uint32_t v;
    int known;
};

struct pf_run {
    const struct sock_filter *prog;
    unsigned len;
    uint32_t arch;
    uint32_t nr;
    unsigned steps;
    int allow_paths, other_paths, bad;
};

static int pf_runs(uint32_t ret)
{
    uint32_t act = ret & SECCOMP_RET_ACTION_FULL;
    return act == SECCOMP_RET_ALLOW || act == SECCOMP_RET_LOG;
}

static void pf_walk(struct pf_run *r, unsigned pc, struct pf_val a, struct pf_val x,
                    struct pf_val *mem)
{
    struct pf_val m[BPF_MEMWORDS];
    memcpy(m, mem, sizeof m);
    while (!r->bad) {
        if (pc >= r->len || ++r->steps > PF_MAX_STEPS) {
            r->bad = 1;
            return;
        }
        const struct sock_filter *in = &r->prog[pc];
        uint32_t k = in->k;
        switch (BPF_CLASS(in->code)) {
        case BPF_LD:
            if (BPF_MODE(in->code) == BPF_ABS && BPF_SIZE(in->code) == BPF_W) {
                if (k == offsetof(struct seccomp_data, nr))
                    a = (struct pf_val){ r->nr, 1 };
                else if (k == offsetof(struct seccomp_data, arch))
                    a = (struct pf_val){ r->arch, 1 };
                else
                    a = (struct pf_val){ 0, 0 };   /* ip or an argument: unknown */
            } else if (BPF_MODE(in->code) == BPF_IMM) {
                a = (struct pf_val){ k, 1 };
            } else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS) {
                a = m[k];
            } else if (BPF_MODE(in->code) == BPF_LEN) {
                a = (struct pf_val){ sizeof(struct seccomp_data), 1 };
            } else {
                r->bad = 1;
                return;
            }
            pc++;
            break;
        case BPF_LDX:
            if (BPF_MODE(in->code) == BPF_IMM)
                x = (struct pf_val){ k, 1 };
            else if (BPF_MODE(in->code) == BPF_MEM && k < BPF_MEMWORDS)
                x = m[k];
            else if (BPF_MODE(in->code) == BPF_LEN)
                x = (struct pf_val){ sizeof(struct seccomp_data), 1 };
            else {
                r->bad = 1;
                return;
            }
            pc++;
            break;
        case BPF_ST:
        case BPF_STX:
            if (k >= BPF_MEMWORDS) {
                r->bad = 1;
                return;
            }
            m[k] = BPF_CLASS(in->code) == BPF_ST ? a : x;
            pc++;
            break;
        case BPF_ALU: {
            struct pf_val s = BPF_SRC(in->code) == BPF_X ? x : (struct pf_val){ k, 1 };
            if (!a.known || !s.known) {
                a.known = 0;
            } else {
                switch (BPF_OP(in->code)) {
                case BPF_ADD: a.v += s.v; break;
                case BPF_SUB: a.v -= s.v; break;
                case BPF_MUL: a.v *= s.v; break;
                case BPF_DIV: a.v = s.v ? a.v / s.v : 0; break;
                case BPF_MOD: a.v = s.v ? a.v % s.v : 0; break;
                case BPF_AND: a.v &= s.v; break;
                case BPF_OR: a.v |= s.v; break;
                case BPF_XOR: a.v ^= s.v; break;
                case BPF_LSH: a.v = s.v < 32 ? a.v << s.v : 0; break;
                case BPF_RSH: a.v = s.v < 32 ? a.v >> s.v : 0; break;
                case BPF_NEG: a.v = -a.v; break;
                default: r->bad = 1; return;
                }
            }
            pc++;
            break;
        }
        case BPF_JMP: {
            if (BPF_OP(in->code) == BPF_JA) {
                pc += 1 + k;
                break;
            }
            struct pf_val s = BPF_SRC(in->code) == BPF_X ? x : (struct pf_val){ k, 1 };
            unsigned t = pc + 1 + in->jt, f = pc + 1 + in->jf;
            if (!a.known || !s.known) {
                pf_walk(r, t, a, x, m);     /* both ways */
                pc = f;
                break;
            }
            int c;
            switch (BPF_OP(in->code)) {
            case BPF_JEQ: c = a.v == s.v; break;
            case BPF_JGT: c = a.v > s.v; break;
            case BPF_JGE: c = a.v >= s.v; break;
            case BPF_JSET: c = (a.v & s.v) != 0; break;
            default: r->bad = 1; return;
            }
            pc = c ? t : f;
            break;
        }
        case BPF_RET: {
            uint32_t ret = BPF_RVAL(in->code) == BPF_A ? a.v : k;
            if (BPF_RVAL(in->code) == BPF_A && !a.known)
                r->bad = 1;
            else if (pf_runs(ret))
                r->allow_paths++;
            else
                r->other_paths++;
            return;
        }
        case BPF_MISC:
            if (BPF_MISCOP(in->code) == BPF_TAX)
                x = a;
            else
                a = x;
            pc++;
            break;
        default:
            r->bad = 1;
            return;
        }
    }
}

int policy_bpf_verdict(const struct sock_filter *prog, unsigned len, uint32_t arch, uint32_t nr)
{
    struct pf_run r = { .prog = prog, .len = len, .arch = arch, .nr = nr };
    struct pf_val m[BPF_MEMWORDS];
    memset(m, 0, sizeof m);
    pf_walk(&r, 0, (struct pf_val){ 0, 1 }, (struct pf_val){ 0, 1 }, m);
    if (r.bad)
        return -1;
    if (r.allow_paths == 0)
        return POLICY_REFUSED;
    return r.other_paths == 0 ? POLICY_ALLOWED : POLICY_ALLOWED_IF;
}

int policy_filter_export(scmp_filter_ctx ctx, struct sock_filter *out, unsigned max)
{
    /* libseccomp 2.5 exports to a descriptor only. */
    int fd = memfd_create("moat-filter", MFD_CLOEXEC);
    int n = -1;
    if (fd < 0)
        return -1;
    if (seccomp_export_bpf(ctx, fd) == 0) {
        ssize_t got = pread(fd, out, (size_t)max * sizeof *out, 0);
        if (got > 0 && got % (ssize_t)sizeof *out == 0)
            n = (int)(got / (ssize_t)sizeof *out);
    }
    close(fd);
    return n;
}

int policy_filter_compile(enum domain_role role, struct sock_filter *out, unsigned max,
                          const char **failed)
{
    struct confine_fds f;
    memset(&f, 0, sizeof f);
    /* Placeholders: the real numbers are only known inside the domain. */
    f.rd[f.n_rd++] = 5;
    f.wr[f.n_wr++] = 2;
    f.wr[f.n_wr++] = 8;
    scmp_filter_ctx ctx = policy_filter_build(role, &f, SCMP_ACT_KILL_PROCESS, SCMP_ACT_TRAP,
                                              failed);
    if (!ctx)
        return -1;
    int n = policy_filter_export(ctx, out, max);
    seccomp_release(ctx);
    return n;
}
