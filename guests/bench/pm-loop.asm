; pm-loop.asm -- a compute loop in 32-bit protected mode with paging on (no PAE): 10 million
; rounds of `add eax, ebx; dec ecx; jnz` (30 million instructions), then isa-debug-exit 0x21.
%include "picovmm.inc"
%include "paged32.inc"

[BITS 16]
[ORG 0x7C00]

start:
    PAGED32_ENTER
    mov ecx, 10000000
.loop:
    add eax, ebx
    dec ecx
    jnz .loop
    mov al, 0x21
    out DEBUG_EXIT_PORT, al
    hlt

PAGED32_GDT
BOOT_SIGNATURE
