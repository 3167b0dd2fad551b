; far-jump.asm -- jumps to FFFF:0010, 1 MiB, where picovmm's default machine (640 KiB, the
; A20 gate on) has nothing: the CPU cannot fetch an instruction there.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT jumping
    jmp 0xFFFF:0x0010

DEBUGCON_PRINT_ROUTINE

jumping: db "jumping to ffff:0010", 10, 0

BOOT_SIGNATURE
