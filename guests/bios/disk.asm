; disk.asm -- a boot sector that keeps a boot count on its own disk: reads sector 2 (CHS
; 0/0/2) with int 13h AH=02h, adds one to the count in its first word, writes it back with
; AH=03h, and prints "boot N" (or the BIOS's error status). It also asks for the drive's
; geometry (AH=08h) and reads the sector again through the extensions (AH=41h, 42h).
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

BUFFER equ 0x8000

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    mov ax, 0x0201              ; read 1 sector
    mov cx, 0x0002              ; cylinder 0, sector 2
    xor dh, dh                  ; head 0
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
    call tty_number
    TTY crlf
    mov ah, 0x08                ; geometry: sectors per track in CL
    mov dl, [drive]
    int 0x13
    jc .failed
    and cx, 0x3F
    TTY spt
    mov ax, cx
    call tty_number
    TTY crlf
    mov ah, 0x41                ; extensions present?
    mov bx, 0x55AA
    mov dl, [drive]
    int 0x13
    jc .failed
    mov word [BUFFER], 0
    mov ah, 0x42                ; read LBA 1 again through a packet
    mov si, packet
    mov dl, [drive]
    int 0x13
    jc .failed
    TTY again
    mov ax, [BUFFER]
    call tty_number
    TTY crlf
    cli
    hlt
.failed:
    push ax
    TTY error
    pop ax
    mov al, ah
    xor ah, ah
    call tty_number
    TTY crlf
    cli
    hlt

TTY_PRINT_ROUTINE

drive:  db 0
packet: db 0x10, 0
        dw 1, BUFFER, 0
        dq 1
booted: db "boot ", 0
spt:    db "sectors per track ", 0
again:  db "read by LBA ", 0
error:  db "disk error ", 0
crlf:   db 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
