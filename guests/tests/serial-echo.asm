; serial-echo.asm -- prints "serial ready" on COM1, then echoes what it receives there in
; upper case until a newline, and exits through isa-debug-exit with 0x10.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov si, ready
    call serial_print
.next:
    call serial_getc
    cmp al, 10
    je .done
    cmp al, 'a'
    jb .echo
    cmp al, 'z'
    ja .echo
    sub al, 'a' - 'A'
.echo:
    call serial_putc
    jmp .next
.done:
    call serial_putc
    EXIT 0x10

SERIAL_ROUTINES

ready: db "serial ready", 10, 0

BOOT_SIGNATURE
