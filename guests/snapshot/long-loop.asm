; long-loop.asm -- entered in 64-bit long mode (--mode long), counts RCX down from 3,000,000
; (a few seconds of emulated ring-0 code on the kvm_pvm host), checks that paging is still on
; and RBX still holds its marker, and exits with 0x2a (0x01 when something was lost). The
; snapshot tests stop it midway and restore it.
%include "picovmm.inc"

[BITS 64]
[ORG 0x7C00]

start:
    mov rbx, 0x1122334455667788
    mov rcx, 3000000
.count:
    dec rcx
    jnz .count
    mov rax, cr0
    bt rax, 31                  ; paging still on: the page tables survived
    jnc .lost
    mov rax, 0x1122334455667788
    cmp rbx, rax
    jne .lost
    mov al, 0x2a
    out DEBUG_EXIT_PORT, al
    hlt
.lost:
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt
