; far-jump.asm -- jumps to C000:0000, where a PC may have an option ROM and picovmm's default
; machine has nothing: the CPU cannot fetch an instruction there.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT jumping
    jmp 0xC000:0x0000

DEBUGCON_PRINT_ROUTINE

jumping: db "jumping to c000:0000", 10, 0

BOOT_SIGNATURE
