; forty.asm -- switches to 40x25 text (int 10h AH=00h AL=01h), prints "FORTY COLUMNS" and three
; full blocks with the teletype, then waits in hlt for ever: a guest to look at.
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0x0001              ; 40x25 colour text
    int 0x10
    TTY message
    sti
.wait:
    hlt
    jmp .wait

TTY_PRINT_ROUTINE

message db "FORTY COLUMNS ", 0xDB, 0xDB, 0xDB, 0

times 510 - ($ - $$) db 0
dw 0xAA55
