; spin.asm -- writes a line to the screen, then spins in `jmp $` forever without exiting:
; only a stop request (timeout, Ctrl-C) can end the run.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    cld
    xor ax, ax
    mov ds, ax
    mov ax, VGA_SEGMENT
    mov es, ax
    xor di, di
    mov si, message
    mov ah, 0x07
.cell:
    lodsb
    test al, al
    jz .spin
    stosw
    jmp .cell
.spin:
    jmp $

message: db "spinning in jmp $", 0

BOOT_SIGNATURE
