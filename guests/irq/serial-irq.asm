; serial-irq.asm -- takes COM1 input by interrupt: IRQ 4 on received data, with the UART's IER
; and OUT2 set. Echoes each byte to the debug console from the handler and exits with 0x10
; after a newline. The main loop only halts.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x0C, serial_isr
    mov dx, COM1_PORT + 1       ; IER: received data available
    mov al, 0x01
    out dx, al
    mov dx, COM1_PORT + 4       ; MCR: DTR, RTS, OUT2 (the PC's interrupt enable)
    mov al, 0x0B
    out dx, al
    UNMASK 4
    sti
.idle:
    hlt
    cmp byte [done], 0
    je .idle
    EXIT 0x10

serial_isr:
    push ax
    push dx
.more:
    mov dx, COM1_LSR
    in al, dx
    test al, LSR_DATA_READY
    jz .out
    mov dx, COM1_PORT
    in al, dx
    out DEBUGCON_PORT, al
    cmp al, 10
    jne .more
    mov byte [done], 1
    jmp .more
.out:
    EOI
    pop dx
    pop ax
    iret

done: db 0

BOOT_SIGNATURE
