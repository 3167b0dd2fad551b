; port-sweep.asm -- writes and then reads every port from 0x0000 to 0xFFFF, except the default
; machine's devices: the debug console (0xE9), isa-debug-exit (0xF4-0xF7) and COM1
; (0x3F8-0x3FF). Every unclaimed read must give 0xFF. Reports on the debug console and exits
; with 0x10 (all 0xFF) or 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    xor bx, bx                  ; reads that were not 0xFF
    xor dx, dx                  ; the port
.port:
    cmp dx, DEBUGCON_PORT
    je .next
    mov ax, dx
    and ax, 0xFFFC
    cmp ax, DEBUG_EXIT_PORT
    je .next
    mov ax, dx
    and ax, 0xFFF8
    cmp ax, COM1_PORT
    je .next
    mov al, 0x5A
    out dx, al
    in al, dx
    cmp al, 0xFF
    je .next
    inc bx
.next:
    inc dx
    jnz .port                   ; until DX wraps to 0
    test bx, bx
    jnz .bad
    PRINT good
    EXIT 0x10
.bad:
    PRINT bad
    EXIT 0x11

DEBUGCON_PRINT_ROUTINE

good: db "all 65523 ports swept; unclaimed reads gave 0xff", 10, 0
bad:  db "an unclaimed port read did not give 0xff", 10, 0

BOOT_SIGNATURE
