; latch.asm -- writes 0x5A to port 0x60 and reads it back (the faulty test plugin is a latch
; there), printing "latched" or "not latched" on the debug console, then halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

LATCH_PORT equ 0x60

start:
    xor ax, ax
    mov ds, ax
    mov al, 0x5A
    out LATCH_PORT, al
    in al, LATCH_PORT
    cmp al, 0x5A
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
