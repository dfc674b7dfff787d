/* SPDX-License-Identifier: MIT */
/*
 * Defence in depth under the seccomp filter: the optional layers a domain
 * puts on when the host allows them, each tried on its own, none fatal
 * (the filter alone already refuses every call that reaches a file, a
 * socket or another process; these layers are what is left if the filter
 * had a hole):
 *
 *  - an empty file system view: a new mount namespace whose root is an
 *    empty, read-only tmpfs (pivot_root; the old tree is detached), so no
 *    path names anything; as root without mount namespaces, chroot into
 *    an empty directory removed beforehand;
 *  - an unprivileged id: as root, setgroups(0) + setresgid/setresuid to
 *    65534 (nobody). Started unprivileged, the domain is already as
 *    unprivileged as the application, and runs in a user namespace of its
 *    own (which is what lets it make the other namespaces) with every
 *    capability dropped afterwards;
 *  - moat-netd only: an empty network namespace (no interface but a
 *    down loopback): it needs no host networking, the link domain holds
 *    the device.
 *
 * Runs inside confine_domain after the descriptors are cut down (which
 * reads /proc/self/fd) and before the limits, no_new_privs and the
 * filter. Everything the domain needs is open or mapped by then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends/process/domain_priv.h"
#include "sandbox.h"

#define SANDBOX_NOBODY 65534u

/* Write @p text to a /proc file (uid_map, gid_map, setgroups). */
static int sandbox_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* In a fresh user namespace: map our own ids to themselves, so files and
 * signals keep working as before (the supervisor, same uid, can still
 * kill us). */
static int sandbox_map_ids(uid_t uid, gid_t gid)
{
    char m[64];
    if (sandbox_write("/proc/self/setgroups", "deny") != 0)
        return -1;
    snprintf(m, sizeof m, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
    if (sandbox_write("/proc/self/uid_map", m) != 0)
        return -1;
    snprintf(m, sizeof m, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
    return sandbox_write("/proc/self/gid_map", m);
}

/* In a fresh mount namespace: make the root an empty read-only tmpfs. */
static int sandbox_empty_root(void)
{
    static const char *const where[] = { "/tmp", "/mnt", "/dev" };
    /* Nothing we do here may propagate back to the host's mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return -1;
    for (unsigned i = 0; i < sizeof where / sizeof where[0]; i++) {
        if (mount("moat-empty", where[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=4k,nr_inodes=1,mode=0555") != 0)
            continue;
        /* pivot_root(".", "."): the new root is stacked over the old
         * one, which is then detached from under it. */
        if (chdir(where[i]) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
            umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
            return -1;
        return mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     NULL);
    }
    return -1;
}

/* Without a mount namespace, as root: chroot into an empty directory that
 * is removed before we enter it (a deleted directory cannot gain
 * entries), so nothing is left behind on the host either. */
static int sandbox_chroot_empty(void)
{
    char dir[] = "/tmp/moat-root-XXXXXX";
    if (!mkdtemp(dir))
        return -1;
    int ok = chdir(dir) == 0;
    if (rmdir(dir) != 0 || !ok)
        return -1;
    return chroot(".") == 0 && chdir("/") == 0 ? 0 : -1;
}

/* Drop every capability (we hold them all in our own user namespace). */
static void sandbox_drop_caps(void)
{
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    (void)syscall(SYS_capset, &h, d);
}

unsigned sandbox_enter(enum domain_role role, unsigned boot_flags)
{
    unsigned layers = 0;
    uid_t uid = getuid();
    gid_t gid = getgid();
    int root = geteuid() == 0;

    if (boot_flags & DOMAIN_BOOT_NO_SANDBOX)
        return 0;
    int flags = CLONE_NEWNS | (role == DOMAIN_NET ? CLONE_NEWNET : 0) | (root ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0) {
        /* The others may still be allowed without a network namespace. */
        flags = (flags & CLONE_NEWNET) && unshare(flags & ~CLONE_NEWNET) == 0
              ? flags & ~CLONE_NEWNET : 0;
    }
    /* Ids that stay unmapped only show as the overflow id inside: the
     * namespaces themselves are in place all the same. */
    if (flags & CLONE_NEWUSER)
        (void)sandbox_map_ids(uid, gid);
    if (flags & CLONE_NEWUSER)
        layers |= DOMAIN_LAYER_USERNS;
    if (flags & CLONE_NEWNET)
        layers |= DOMAIN_LAYER_NETNS;
    if ((flags & CLONE_NEWNS) && sandbox_empty_root() == 0)
        layers |= DOMAIN_LAYER_EMPTY_ROOT;
    else if (root && sandbox_chroot_empty() == 0)
        layers |= DOMAIN_LAYER_CHROOT;
    if (root && setgroups(0, NULL) == 0 && setresgid(SANDBOX_NOBODY, SANDBOX_NOBODY,
                                                     SANDBOX_NOBODY) == 0 &&
        setresuid(SANDBOX_NOBODY, SANDBOX_NOBODY, SANDBOX_NOBODY) == 0)
        layers |= DOMAIN_LAYER_UID;
    if (flags & CLONE_NEWUSER)
        sandbox_drop_caps();
    return layers;
}
