; cmos.asm -- reads the date and time from the MC146818 at ports 0x70/0x71 (BCD, as a BIOS
; leaves it) and prints "rtc 20YY-MM-DD HH:MM:SS" on the debug console; then takes 32 periodic
; interrupts at 1024 Hz on IRQ 8 (its own int 70h handler reading register C to acknowledge
; each), prints "periodic 32" and exits through isa-debug-exit with 0x10.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

TICKS equ 32

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    cli
    mov si, rtc_label
    call puts
    mov al, 0x32                ; century
    call cmos_hex
    mov al, 0x09                ; year
    call cmos_hex
    mov al, '-'
    out DEBUGCON_PORT, al
    mov al, 0x08                ; month
    call cmos_hex
    mov al, '-'
    out DEBUGCON_PORT, al
    mov al, 0x07                ; day
    call cmos_hex
    mov al, ' '
    out DEBUGCON_PORT, al
    mov al, 0x04                ; hours
    call cmos_hex
    mov al, ':'
    out DEBUGCON_PORT, al
    mov al, 0x02                ; minutes
    call cmos_hex
    mov al, ':'
    out DEBUGCON_PORT, al
    mov al, 0x00                ; seconds
    call cmos_hex
    mov al, 10
    out DEBUGCON_PORT, al
    ; The periodic interrupt: our handler at int 70h, IRQ 8 and the cascade unmasked.
    mov word [0x70 * 4], rtc_irq
    mov word [0x70 * 4 + 2], 0
    in al, 0xA1
    and al, 0xFE
    out 0xA1, al
    in al, 0x21
    and al, 0xFB
    out 0x21, al
    mov al, 0x0A                ; register A: 32.768 kHz, rate 6 = 1024 Hz
    out 0x70, al
    mov al, 0x26
    out 0x71, al
    mov al, 0x0B                ; register B: periodic interrupts on
    out 0x70, al
    in al, 0x71
    or al, 0x40
    mov ah, al
    mov al, 0x0B
    out 0x70, al
    mov al, ah
    out 0x71, al
    sti
.wait:
    hlt
    cmp word [count], TICKS
    jb .wait
    cli
    mov si, periodic
    call puts
    mov al, '3'                 ; TICKS, in decimal
    out DEBUGCON_PORT, al
    mov al, '2'
    out DEBUGCON_PORT, al
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10

rtc_irq:
    push ax
    mov al, 0x0C                ; register C: which interrupt, and the acknowledgement
    out 0x70, al
    in al, 0x71
    inc word [cs:count]
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop ax
    iret

; cmos_hex: CMOS register AL, a BCD byte, as two digits.
cmos_hex:
    out 0x70, al
    in al, 0x71
    push ax
    shr al, 4
    add al, '0'
    out DEBUGCON_PORT, al
    pop ax
    and al, 0x0F
    add al, '0'
    out DEBUGCON_PORT, al
    ret

puts:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp puts
.done:
    ret

count     dw 0
rtc_label db "rtc ", 0
periodic  db "periodic ", 0

times 510 - ($ - $$) db 0
dw 0xAA55
