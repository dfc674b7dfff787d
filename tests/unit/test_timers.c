/* SPDX-License-Identifier: MIT */
/*
 * Timer behaviour of the core (reference scenarios, section 13).
 *
 * moat has no general timer list: every timer is an absolute deadline on
 * the 64-bit microsecond clock the caller passes to mcore_poll, which
 * returns the earliest one; TCP keeps its connections on a min-heap keyed
 * by each connection's earliest deadline (core/tcp.c, "scheduling"). A
 * 64-bit clock does not wrap in practice, so the scenarios' 32-bit
 * wrap-around runs do not apply; the order and insert tests still run a
 * second time from t0 just below 2^32 us, so a deadline truncated to 32
 * bits anywhere would show.
 *
 * The timers used are TCP keepalives: one per connection, and periodic
 * once probing. The idle time is a stack-wide setting; the tests give
 * each connection its own by changing the core's copy of it
 * (c->cfg.tcp_keepidle_ms) just before enabling keepalive there.
 * Scenario milliseconds are milliseconds here; "not early" is checked to
 * the microsecond.
 */
#include <string.h>

#include "support/check_main.h"
#include "core/tcp_priv.h"
#include "support/tcp_fx.h"

#define MS 1000ull

static struct fx F;
static struct fx *f = &F;

static void setup(void)
{
    tfx_config(f);
    f->cfg.tcp_keepintvl_ms = 1000000;      /* no second probe in these tests */
    f->cfg.tcp_keepcnt = 9;
    tfx_start(f);
}
static void teardown(void) { tfx_teardown(f); }

/* Move the clock to @p t (polling at every deadline on the way). */
static void run_to(uint64_t t)
{
    ck_assert_uint_ge(t, f->now);
    fx_advance(f, t - f->now);
}

/* Arm connection @p k's keepalive to fire @p ms after now. */
static void arm(struct tfx_conn *k, uint32_t ms)
{
    f->core->cfg.tcp_keepidle_ms = ms;
    ck_assert_int_eq(fx_setopt(f, k->h, MOAT_OPT_KEEPALIVE, 1), 0);
}

/* The heap is ordered by due time: no entry is due before its parent. */
static void expect_heap_sorted(void)
{
    const struct tcp_state *st = f->core->tcp;
    for (uint32_t i = 1; i < st->heap_n; i++) {
        uint64_t parent = st->cbs[st->heap[(i - 1u) / 2u]].sched_t;
        ck_assert_uint_le(parent, st->cbs[st->heap[i]].sched_t);
    }
}

/* Captured TCP segments since the last clear: the count, and the time at
 * which the one from connection @p k left (0 if none; two fail). */
static uint64_t fired_at(const struct tfx_conn *k)
{
    uint64_t at = 0;
    struct tcp_repr r;
    for (unsigned i = 0; i < fx_ntx(f); i++) {
        if (!tfx_parse(f, i, &r) || r.sport != k->lport)
            continue;
        ck_assert_msg(at == 0, "connection %u fired twice", (unsigned)k->lport);
        ck_assert_uint_eq(r.len, 0);
        at = f->tx[i].t;
    }
    return at;
}

/* Three connections, established and idle, capture cleared, clock at
 * @p t0 (or later if t0 is already past). */
static uint64_t three(struct tfx_conn *a, struct tfx_conn *b, struct tfx_conn *c,
                      uint64_t t0)
{
    tfx_connect(f, a, &TFX_OPTS());
    tfx_connect(f, b, &TFX_OPTS());
    tfx_connect(f, c, &TFX_OPTS());
    if (t0 > f->now)
        run_to(t0);
    fx_tx_clear(f);
    return f->now;
}

static const uint64_t starts[] = {0, 0xfffffff0ull};

/* TMR-ORDER-1: registered A (+10), B (+20), C (+5); each fires once,
 * exactly at its due time, in due order; the next deadline reported
 * after each registration is the earliest. */
START_TEST(tmr_order)
{
    struct tfx_conn a, b, c;
    uint64_t t0 = three(&a, &b, &c, starts[_i]);
    ck_assert_uint_eq(f->next_due, MCORE_NEVER);
    arm(&a, 10);
    ck_assert_uint_eq(f->next_due, t0 + 10 * MS);
    arm(&b, 20);
    ck_assert_uint_eq(f->next_due, t0 + 10 * MS);
    arm(&c, 5);
    ck_assert_uint_eq(f->next_due, t0 + 5 * MS);
    expect_heap_sorted();

    run_to(t0 + 5 * MS - 1);                /* after 4 ms and up to 1 us early */
    ck_assert_uint_eq(fx_ntx(f), 0);
    run_to(t0 + 5 * MS);
    ck_assert_uint_eq(fired_at(&c), t0 + 5 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(f->next_due, t0 + 10 * MS);
    expect_heap_sorted();
    run_to(t0 + 10 * MS - 1);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    run_to(t0 + 10 * MS);
    ck_assert_uint_eq(fired_at(&a), t0 + 10 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    ck_assert_uint_eq(f->next_due, t0 + 20 * MS);
    expect_heap_sorted();
    run_to(t0 + 20 * MS - 1);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    run_to(t0 + 20 * MS);
    ck_assert_uint_eq(fired_at(&b), t0 + 20 * MS);
    ck_assert_uint_eq(fired_at(&c), t0 + 5 * MS);     /* each once */
    ck_assert_uint_eq(fired_at(&a), t0 + 10 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 3);
    expect_heap_sorted();
}
END_TEST

/* TMR-INSERT-1: at 50 A (+20) and C (+5); C fires at 55; at 60 B (+10);
 * A and B both fire at 70, neither early nor late. Deadlines are
 * absolute, so B's registration cannot shift A. */
START_TEST(tmr_insert_after_partial_expiry)
{
    struct tfx_conn a, b, c;
    uint64_t t0 = three(&a, &b, &c, starts[_i] + 50 * MS) - 50 * MS;
    arm(&a, 20);
    arm(&c, 5);
    run_to(t0 + 55 * MS - 1);
    ck_assert_uint_eq(fx_ntx(f), 0);
    run_to(t0 + 55 * MS);
    ck_assert_uint_eq(fired_at(&c), t0 + 55 * MS);
    fx_tx_clear(f);
    run_to(t0 + 60 * MS);
    arm(&b, 10);
    ck_assert_uint_eq(f->next_due, t0 + 70 * MS);
    ck_assert_uint_eq(fx_ntx(f), 0);
    run_to(t0 + 70 * MS - 1);
    ck_assert_uint_eq(fx_ntx(f), 0);
    run_to(t0 + 70 * MS);
    ck_assert_uint_eq(fired_at(&a), t0 + 70 * MS);
    ck_assert_uint_eq(fired_at(&b), t0 + 70 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    expect_heap_sorted();
}
END_TEST

/* TMR-CYCLIC-1, with the keepalive probe as the periodic timer (period
 * 10 ms). A handler cannot use up clock here: the core runs at the time
 * it is given. (a) Run exactly at the due time: one probe, next due =
 * that due time + period. (b) The loop first runs one and a half periods
 * late: one probe (no burst for the missed one), next due = now + period. */
START_TEST(tmr_cyclic_no_drift_no_burst)
{
    struct tfx_conn a;
    f->core->cfg.tcp_keepintvl_ms = 10;
    tfx_connect(f, &a, &TFX_OPTS());
    fx_tx_clear(f);
    uint64_t t0 = f->now;
    arm(&a, 10);
    run_to(t0 + 10 * MS);
    ck_assert_uint_eq(fired_at(&a), t0 + 10 * MS);
    ck_assert_uint_eq(f->next_due, t0 + 20 * MS);
    run_to(t0 + 20 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    ck_assert_uint_eq(f->tx[fx_ntx(f) - 1].t, t0 + 20 * MS);
    ck_assert_uint_eq(f->next_due, t0 + 30 * MS);

    /* (b) restart, then the first processing comes 25 ms after due */
    ck_assert_int_eq(fx_setopt(f, a.h, MOAT_OPT_KEEPALIVE, 0), 0);
    fx_tx_clear(f);
    const uint8_t *probes = &f->core->tcp->cbs[moat_handle_idx(a.h)].probes;
    uint64_t t1 = f->now;
    arm(&a, 10);
    ck_assert_uint_eq(f->next_due, t1 + 10 * MS);
    f->now = t1 + 35 * MS;                  /* an overloaded loop */
    fx_poll(f);
    ck_assert_uint_eq(fired_at(&a), t1 + 35 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    ck_assert_uint_eq(f->next_due, t1 + 45 * MS);
    run_to(t1 + 45 * MS - 1);
    ck_assert_uint_eq(tfx_ntcp(f), 1);
    run_to(t1 + 45 * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 2);
    /* two probes counted, not three; the count started again at 0 when
     * keepalive was turned back on (it was 2 before) */
    ck_assert_uint_eq(*probes, 2u);
}
END_TEST

/* TMR-LONG-1: a timeout of a quarter of the 32-bit millisecond range
 * (about 12.4 days, 2^48 us): the next deadline is the whole interval;
 * nothing fires at 1/8, 2/8 of the range or 1 us before; it fires
 * exactly at due. */
START_TEST(tmr_long_quarter_range)
{
    const uint32_t q = 0xffffffffu / 4u;
    struct tfx_conn a;
    tfx_connect(f, &a, &TFX_OPTS());
    fx_tx_clear(f);
    uint64_t t0 = f->now;
    arm(&a, q);
    uint64_t due = t0 + (uint64_t)q * MS;
    ck_assert_uint_eq(f->next_due, due);
    run_to(t0 + (uint64_t)(0xffffffffu / 8u) * MS);
    ck_assert_uint_eq(tfx_ntcp(f), 0);
    run_to(due - 1);
    ck_assert_uint_eq(tfx_ntcp(f), 0);
    ck_assert_uint_eq(f->next_due, due);
    run_to(due);
    ck_assert_uint_eq(fired_at(&a), due);
}
END_TEST

static Suite *timers_suite(void)
{
    Suite *s = suite_create("timers");
    TCase *tc = tcase_create("timers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, tmr_order, 0, 2);
    tcase_add_loop_test(tc, tmr_insert_after_partial_expiry, 0, 2);
    tcase_add_test(tc, tmr_cyclic_no_drift_no_burst);
    tcase_add_test(tc, tmr_long_quarter_range);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(timers_suite)
