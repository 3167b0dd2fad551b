; teletype.asm -- prints 30 numbered lines with int 10h AH=0Eh, so the BIOS scrolls the
; screen: rows 0-23 end up showing lines 7-30 and the cursor waits on row 24.
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov di, 1
.line:
    TTY text
    mov ax, di
    call tty_number
    TTY crlf
    inc di
    cmp di, 30
    jbe .line
    cli
    hlt

TTY_PRINT_ROUTINE

text: db "line ", 0
crlf: db 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
