/*
 * ptrace-target: a small dynamic glibc program for PtraceIT and ProcessMemoryIT. It prints one
 * line saying where its known strings live, then sleeps in pause() until killed:
 *   ready pid=<pid> marker=<address> rodata=<address>
 * `marker` is writable data, `rodata` sits in a read-only mapping.
 */
#include <stdio.h>
#include <unistd.h>

char marker[64] = "lazymig-ptrace-target-marker";
static const char rodata[] = "lazymig-ptrace-target-read-only";

int main(void)
{
    printf("ready pid=%d marker=%p rodata=%p\n", (int)getpid(), (void *)marker, (const void *)rodata);
    fflush(stdout);
    for (;;)
        pause();
}
