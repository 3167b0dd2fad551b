; port-loop.asm -- 100,000 one-byte `out` instructions to the debug console, then hlt:
; a benchmark of port-exit throughput (every `out` is an exit to the VMM).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

WRITES equ 100000

start:
    mov ecx, WRITES
    mov al, '.'
.loop:
    out DEBUGCON_PORT, al
    dec ecx
    jnz .loop
    mov al, 10
    out DEBUGCON_PORT, al
.halt:
    hlt
    jmp .halt

BOOT_SIGNATURE
