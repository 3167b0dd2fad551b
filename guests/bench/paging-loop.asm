; paging-loop.asm -- a walk over 1024 pages in 32-bit protected mode with paging on (no PAE),
; 256 times: a read-modify-write of one dword per page (262,144 accesses, each to a page the
; last 1023 accesses pushed out of a small TLB), then isa-debug-exit 0x21.
%include "picovmm.inc"
%include "paged32.inc"

[BITS 16]
[ORG 0x7C00]

start:
    PAGED32_ENTER
    mov edx, 256
.pass:
    mov edi, PAGED32_WINDOW
    mov ecx, 1024
.page:
    add [edi], edx
    add edi, 4096
    dec ecx
    jnz .page
    dec edx
    jnz .pass
    mov al, 0x21
    out DEBUG_EXIT_PORT, al
    hlt

PAGED32_GDT
BOOT_SIGNATURE
