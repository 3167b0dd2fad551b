; storm.asm -- a guest that programs nonsense and then storms: every value into every PIC and
; PIT port (ICW4 with no ICW1, divisor 0, bad modes), EOIs by the thousand, then the PIT at a
; count of 1 (1.19 MHz asked) with a handler that only EOIs, and a spin. picovmm must neither
; panic nor hang: --timeout ends it.
%include "picovmm.inc"
%include "pc.inc"

[BITS 16]
[ORG 0x7C00]

start:
    REAL_MODE_START
    mov si, ports
.port:
    lodsw
    test ax, ax
    jz .eois
    mov dx, ax
    xor cx, cx
.value:
    mov al, cl
    out dx, al
    in al, dx
    inc cl
    jnz .value
    jmp .port
.eois:
    mov cx, 2000
.eoi:
    EOI
    loop .eoi
    PIC_INIT 0x08, 0x70
    SET_VECTOR 0x08, tick
    PIT_CHANNEL0 2, 1
    UNMASK 0
    PRINT storming
    sti
    jmp $

tick:
    push ax
    EOI
    pop ax
    iret

DEBUGCON_PRINT_ROUTINE

ports: dw PIC1_DATA, PIC1_CMD, PIC2_DATA, PIC2_CMD, 0x4D0, 0x4D1
       dw PIT_CMD, PIT_CH0, PIT_CH2, PORT_B, 0
storming: db "storming", 10, 0

BOOT_SIGNATURE
