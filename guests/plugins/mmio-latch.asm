; mmio-latch.asm -- writes 0x5A to MMIO 0xD0000 and reads it back (the faulty test plugin is a
; latch there), printing "latched" or "not latched" on the debug console, then halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

LATCH_SEGMENT equ 0xD000

start:
    xor ax, ax
    mov ds, ax
    mov ax, LATCH_SEGMENT
    mov es, ax
    mov byte [es:0], 0x5A
    cmp byte [es:0], 0x5A
    jne .wrong
    PRINT latched
    jmp .halt
.wrong:
    PRINT not_latched
.halt:
    hlt
    jmp .halt

DEBUGCON_PRINT_ROUTINE

latched:     db "latched", 10, 0
not_latched: db "not latched", 10, 0

BOOT_SIGNATURE
