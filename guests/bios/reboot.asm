; reboot.asm -- counts its boots on its own disk (the first word of sector 2, read and written
; back with int 13h), prints "boot N" on the screen and the debug console, and resets the
; machine through the i8042 (command 0xFE) until it has booted three times; then halts. Run
; with `--reboot` it boots three times; without, the first reset ends the run.
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

BUFFER    equ 0x8000
BOOTS     equ 3
DEBUGCON  equ 0xE9

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    mov ax, 0x0201              ; read sector 2
    mov cx, 0x0002
    xor dh, dh
    mov bx, BUFFER
    int 0x13
    jc .failed
    inc word [BUFFER]
    mov ax, 0x0301              ; write it back
    mov cx, 0x0002
    mov dl, [drive]
    xor dh, dh
    mov bx, BUFFER
    int 0x13
    jc .failed
    TTY booted
    mov ax, [BUFFER]
    push ax
    call tty_number
    TTY crlf
    pop ax
    add al, '0'
    mov si, booted
.name:
    mov ah, al
    lodsb
    test al, al
    jz .count
    out DEBUGCON, al
    mov al, ah
    jmp .name
.count:
    mov al, ah
    out DEBUGCON, al
    mov al, 10
    out DEBUGCON, al
    cmp word [BUFFER], BOOTS
    jae .done
    mov al, 0xFE                ; pulse the reset line
    out 0x64, al
    jmp $
.failed:
    TTY failed
.done:
    cli
    hlt

TTY_PRINT_ROUTINE

drive   db 0
booted  db "boot ", 0
failed  db "disk error", 13, 10, 0
crlf    db 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
