; console.asm -- the console plugin's guest: takes host input by interrupt (IRQ 5, from the
; plugin at ports 0x300-0x302), echoes each byte to the debug console from the handler, and
; when the input has ended prints how many interrupts it took and exits with 0x10. The main
; loop only halts: the guest never polls.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

CONSOLE_DATA    equ 0x300
CONSOLE_STATUS  equ 0x301
CONSOLE_CONTROL equ 0x302

start:
    REAL_MODE_START
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x0D, console_isr        ; IRQ 5
    UNMASK 5
    mov dx, CONSOLE_CONTROL             ; interrupt while input is waiting
    mov al, 1
    out dx, al
    sti
.idle:
    hlt
    mov dx, CONSOLE_STATUS
    in al, dx
    test al, 2                          ; the input ended (and nothing is left)
    jz .idle
    cli
    PRINT count_text
    mov al, [count + 1]
    call print_hex
    mov al, [count]
    call print_hex
    PRINT newline
    EXIT 0x10

console_isr:
    push ax
    push dx
    inc word [count]
.more:
    mov dx, CONSOLE_STATUS
    in al, dx
    test al, 1
    jz .out
    mov dx, CONSOLE_DATA
    in al, dx
    out DEBUGCON_PORT, al
    jmp .more
.out:
    EOI
    pop dx
    pop ax
    iret

DEBUGCON_PRINT_ROUTINE
PRINT_HEX_ROUTINE

count:      dw 0
count_text: db 10, "interrupts: ", 0
newline:    db 10, 0

BOOT_SIGNATURE
