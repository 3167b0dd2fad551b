; keyboard-irq.asm -- reads keys from the i8042 by IRQ 1: the handler reads each scancode
; (set 1), turns presses of letters, digits and space into ASCII on the debug console, and
; ends at Enter (exit 0x10). The main loop only halts.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x09, keyboard_isr
    UNMASK 1
    sti
.idle:
    hlt
    cmp byte [done], 0
    je .idle
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10

keyboard_isr:
    push ax
    push bx
    in al, KBC_DATA
    test al, 0x80               ; a release
    jnz .out
    cmp al, 0x1C                ; Enter
    jne .key
    mov byte [done], 1
    jmp .out
.key:
    cmp al, ascii_end - ascii
    jae .out
    mov bx, ascii
    xlatb
    test al, al
    jz .out
    out DEBUGCON_PORT, al
.out:
    EOI
    pop bx
    pop ax
    iret

ascii:                          ; set 1 make code -> ASCII (0: not shown)
    db 0, 0, "1234567890", 0, 0, 0, 0
    db "qwertyuiop", 0, 0, 0, 0
    db "asdfghjkl", 0, 0, 0, 0, 0
    db "zxcvbnm", 0, 0, 0, 0, 0, 0, " "
ascii_end:

done: db 0

BOOT_SIGNATURE
