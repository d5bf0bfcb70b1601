/* Escape probes from inside a container, for bench/probes.sh. Each prints one line
 * "NAME: ok" or "NAME: <strerror>"; none changes anything on the host even where it succeeds:
 * the kernel-knob probes only open for writing (a read-only mount refuses the open itself), the
 * device probe reads one byte, the namespace probes act on the probe's own process.
 * Usage: probe mknod|keyctl|add_key|unshare_user|mount_tmpfs|open_w PATH|ptrace PID|status KEY */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int say(const char *name, long r) {
    printf("%s: %s\n", name, r < 0 ? strerror(errno) : "ok");
    return r < 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *p = argv[1];
    if (!strcmp(p, "mknod")) {             /* the host's loop0, a block device: mknod, then read */
        unlink("/tmp/probe-blk");
        if (say("mknod", mknod("/tmp/probe-blk", S_IFBLK | 0600, makedev(7, 0)))) return 1;
        int fd = open("/tmp/probe-blk", O_RDONLY);
        char c;
        long r = fd < 0 ? -1 : read(fd, &c, 1);
        if (r == 0) r = 1;
        return say("read", r);
    }
    if (!strcmp(p, "keyctl")) return say(p, syscall(SYS_keyctl, 0, -3, 1));
    if (!strcmp(p, "add_key")) return say(p, syscall(SYS_add_key, "user", "den", "x", 1, -3));
    if (!strcmp(p, "unshare_user")) return say(p, unshare(CLONE_NEWUSER));
    if (!strcmp(p, "mount_tmpfs")) {
        long r = mount("none", "/mnt", "tmpfs", 0, NULL);
        if (r == 0) umount("/mnt");
        return say(p, r);
    }
    if (!strcmp(p, "open_w") && argc > 2) {
        int fd = open(argv[2], O_WRONLY);
        if (fd >= 0) close(fd);
        return say(argv[2], fd);
    }
    if (!strcmp(p, "ptrace") && argc > 2) {
        long r = ptrace(PTRACE_ATTACH, atoi(argv[2]), 0, 0);
        return say(p, r);
    }
    if (!strcmp(p, "status") && argc > 2) {  /* a line of /proc/self/status, e.g. Seccomp */
        char line[256];
        FILE *f = fopen("/proc/self/status", "r");
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, argv[2], strlen(argv[2])) && line[strlen(argv[2])] == ':') {
                char *v = line + strlen(argv[2]) + 1;
                while (*v == ' ' || *v == '\t') v++;
                printf("%s: %s", argv[2], v);
                return 0;
            }
        return 1;
    }
    return 2;
}
