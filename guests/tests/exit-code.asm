; exit-code.asm -- ends the run through isa-debug-exit with value 0x2A, so picovmm exits with
; status (0x2A << 1) | 1 = 85.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT bye
    EXIT 0x2A

DEBUGCON_PRINT_ROUTINE

bye: db "exiting with 0x2a", 10, 0

BOOT_SIGNATURE
