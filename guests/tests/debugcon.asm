; debugcon.asm -- writes to the debug console, checks that reading its port returns 0xE9
; (the Bochs presence check), and halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    PRINT hello
    in al, DEBUGCON_PORT
    cmp al, 0xE9
    jne .absent
    PRINT present
    jmp .halt
.absent:
    PRINT absent
.halt:
    hlt
    jmp .halt

DEBUGCON_PRINT_ROUTINE

hello:   db "hello from the debug console", 10, 0
present: db "port 0xe9 reads 0xe9", 10, 0
absent:  db "port 0xe9 does not read 0xe9", 10, 0

BOOT_SIGNATURE
