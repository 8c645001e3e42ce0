/*
 * lazymig-stub: the process restore turns into the checkpointed one. It is started stopped
 * under ptrace and never runs on its own past a pause() loop: no libc, no TLS, no rseq, so
 * nothing in it competes with the address space restore rebuilds by injected syscalls.
 */
#include <sys/syscall.h>

    .text
    .globl _start
_start:
1:  mov     $SYS_pause, %eax
    syscall
    jmp     1b

    .section .note.GNU-stack, "", @progbits
