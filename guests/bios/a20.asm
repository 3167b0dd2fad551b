; a20.asm -- switches the A20 gate off and on in each of the three ways a PC has (port 0x92,
; the keyboard controller's output port, int 15h AX=2400h/2401h) and looks for the wrap each
; time: with the gate off, FFFF:0610 is 0000:0600; with it on, FFFF:0610 is 1 MiB + 0x600.
; Prints on the debug console, per way, "off wraps, on apart" when the gate does what it
; should, plus what the output port and int 15h AX=2402h/2403h report; exits with 0x10.
; Run it with memory above 1 MiB (-m 2M); without, the gate on shows nothing there.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0xFFFF
    mov es, ax
    cli
    ; port 0x92
    mov si, port92_label
    call puts
    in al, 0x92
    and al, 0xFC                ; gate off (bit 0 stays clear: it would reset)
    out 0x92, al
    call report_off
    in al, 0x92
    or al, 0x02
    and al, 0xFE
    out 0x92, al
    call report_on
    ; the i8042's output port (0xD1, then read back with 0xD0)
    mov si, kbc_label
    call puts
    mov ah, 0xDD                ; reset line high, A20 low
    call kbc_output
    call report_off
    call kbc_read
    call print_hex
    mov ah, 0xDF
    call kbc_output
    call report_on
    call kbc_read
    call print_hex
    ; 0xDD / 0xDF, the short commands some controllers have
    mov si, short_label
    call puts
    mov al, 0xDD
    call kbc_command
    call report_off
    mov al, 0xDF
    call kbc_command
    call report_on
    ; int 15h
    mov si, int15_label
    call puts
    mov ax, 0x2400
    int 0x15
    call report_off
    mov ax, 0x2402
    int 0x15
    call print_hex
    mov ax, 0x2401
    int 0x15
    call report_on
    mov ax, 0x2402
    int 0x15
    call print_hex
    mov ax, 0x2403
    int 0x15
    mov al, bl
    call print_hex
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10

; report_off / report_on: " off " or " on " and what the probe saw.
report_off:
    mov si, off_label
    jmp report
report_on:
    mov si, on_label
report:
    call puts
    mov byte [0x600], 0x11
    mov byte [es:0x610], 0x22   ; 0x100600, or 0x000600 when the gate is off
    mov si, apart
    cmp byte [0x600], 0x22
    jne .print
    mov si, wraps
.print:
    call puts
    mov byte [0x600], 0
    ret

; kbc_output: AH to the i8042's output port.
kbc_output:
    mov al, 0xD1
    call kbc_command
    call kbc_wait_input
    mov al, ah
    out 0x60, al
    ret

; kbc_command: AL to the i8042's command port.
kbc_command:
    call kbc_wait_input
    out 0x64, al
    ret

; kbc_read: the output port into AL.
kbc_read:
    mov al, 0xD0
    call kbc_command
.wait:
    in al, 0x64
    test al, 0x01
    jz .wait
    in al, 0x60
    ret

kbc_wait_input:
    push ax
.wait:
    in al, 0x64
    test al, 0x02
    jnz .wait
    pop ax
    ret

; print_hex: " " and AL as two hex digits.
print_hex:
    push ax
    mov al, ' '
    out DEBUGCON_PORT, al
    pop ax
    push ax
    shr al, 4
    call .digit
    pop ax
    and al, 0x0F
.digit:
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
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

port92_label db "port 0x92:", 0
kbc_label    db 10, "i8042 0xd1:", 0
short_label  db 10, "i8042 0xdd/0xdf:", 0
int15_label  db 10, "int 15h:", 0
off_label    db " off", 0
on_label     db ",", " on", 0
wraps        db " wraps", 0
apart        db " apart", 0

    times 510 - ($ - $$) db 0
    dw 0xAA55
