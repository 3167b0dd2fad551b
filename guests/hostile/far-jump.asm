; far-jump.asm -- jumps to F000:FFF0, the reset vector, where a PC has its BIOS ROM and
; picovmm's default machine has nothing: the CPU cannot fetch an instruction there.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT jumping
    jmp 0xF000:0xFFF0

DEBUGCON_PRINT_ROUTINE

jumping: db "jumping to f000:fff0", 10, 0

BOOT_SIGNATURE
