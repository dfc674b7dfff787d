/* SPDX-License-Identifier: MIT */
/*
 * Stall detection (cfg.net_stall_ms, app/client.c) must not
 * fire when the application itself was stopped, every backend. The whole
 * application process is stopped with SIGSTOP for longer than the bound
 * while one of its threads waits in recv, then continued: in the thread
 * backend the net domain (a thread) was stopped with it, in the factored
 * ones it ran on; either way the heartbeat it did not see move is no sign
 * of a stalled net domain, and the recv must end with its own timeout
 * (MOAT_E_AGAIN), not MOAT_E_DEAD. (A net domain stopped on its own is
 * tests/factored/test_netd_death.c: netd_stopped_during_blocked_recv.)
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "moat/moat.h"
#include "moat/socket.h"
#include "support/check_main.h"
#include "support/itest.h"

#define ST_IP        0xc0000201u   /* 192.0.2.1 */
#define ST_BOUND_MS  2000u         /* the least net_stall_ms allowed */
#define ST_STOP_MS   (ST_BOUND_MS + 1500u)

/* The application: a stack, one blocking recv to have looked at the
 * heartbeat, "ready", then a recv that outlasts the stop. Exit status:
 * 0 on MOAT_E_AGAIN, 10 + the error's index otherwise. */
static int st_app(int ready_fd)
{
    struct moat_config cfg;
    struct moat_stack *st = NULL;
    struct moat_addr a = { .ip = ST_IP, .port = 7 };
    moat_sock_t s;
    uint8_t buf[64];
    size_t n = 0;

    itest_config(&cfg, ST_IP, MOAT_LINK_NONE, NULL);
    cfg.net_stall_ms = ST_BOUND_MS;
    if (moat_stack_open(&cfg, &st) != 0 || moat_sock_open(st, MOAT_SOCK_DGRAM, &s) != 0 ||
        moat_sock_bind(st, s, &a) != 0 || moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, 600) != 0)
        return 2;
    if (moat_sock_recv(st, s, buf, sizeof buf, &n) != MOAT_E_AGAIN)
        return 3;
    if (moat_sock_setopt(st, s, MOAT_OPT_RCVTIMEO_MS, ST_STOP_MS + 2000) != 0)
        return 4;
    char c = 'r';
    if (write(ready_fd, &c, 1) != 1)
        return 5;
    int r = moat_sock_recv(st, s, buf, sizeof buf, &n);
    moat_stack_close(st);
    return r == MOAT_E_AGAIN ? 0 : 10 - r;
}

START_TEST(stopped_application_is_not_a_stalled_net_domain)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    pid_t app = fork();
    ck_assert_int_ge(app, 0);
    if (app == 0) {
        close(pfd[0]);
        _exit(st_app(pfd[1]));
    }
    close(pfd[1]);
    char c = 0;
    ck_assert_int_eq(read(pfd[0], &c, 1), 1);
    close(pfd[0]);
    ck_assert_int_eq(kill(app, SIGSTOP), 0);
    itest_pause_ms(ST_STOP_MS);     /* the fault itself: longer than the bound */
    ck_assert_int_eq(kill(app, SIGCONT), 0);
    int status = 0;
    ck_assert_int_eq(waitpid(app, &status, 0), app);
    ck_assert_msg(WIFEXITED(status), "status %#x", status);
    ck_assert_msg(WEXITSTATUS(status) == 0, "the recv ended with exit code %d (10 + error index)",
                  WEXITSTATUS(status));
}
END_TEST

static Suite *stall_suite(void)
{
    Suite *s = suite_create("stall");
    TCase *tc = tcase_create("stall");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, stopped_application_is_not_a_stalled_net_domain);
    suite_add_tcase(s, tc);
    return s;
}

MOAT_CHECK_MAIN(stall_suite)
