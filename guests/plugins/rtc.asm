; rtc.asm -- reads the CMOS real-time clock (the cmos-rtc plugin at ports 0x70/0x71) and prints
; the date and time on the debug console as YYYY-MM-DDTHH:MM:SS, then halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

RTC_INDEX equ 0x70
RTC_DATA  equ 0x71
END_OF_FIELDS equ 0xFF

start:
    xor ax, ax
    mov ds, ax
    mov si, fields
.field:
    lodsb                       ; register number
    cmp al, END_OF_FIELDS
    je .done
    out RTC_INDEX, al
    in al, RTC_DATA             ; two BCD digits
    mov ah, al
    shr al, 4
    add al, '0'
    out DEBUGCON_PORT, al
    mov al, ah
    and al, 0x0F
    add al, '0'
    out DEBUGCON_PORT, al
    lodsb                       ; what follows the field (0: nothing)
    test al, al
    jz .field
    out DEBUGCON_PORT, al
    jmp .field
.done:
    hlt
    jmp .done

; (register, separator): century, year, month, day, hours, minutes, seconds
fields:
    db 0x32, 0, 0x09, '-', 0x08, '-', 0x07, 'T', 0x04, ':', 0x02, ':', 0x00, 10
    db END_OF_FIELDS

BOOT_SIGNATURE
