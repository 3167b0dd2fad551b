; ticks.asm -- a text-mode game loop timed by the BIOS clock: a '*' moves one column per timer
; tick (int 1Ah AH=00h, 18.2 Hz) for 18 ticks while the loop polls the keyboard (int 16h
; AH=01h; 'q' quits early); then int 15h AH=86h waits 220 ms, which must take at least 3
; ticks. Reports with the teletype.
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0xB800
    mov es, ax
    sti
    xor ah, ah
    int 0x1A
    mov [first], dx
    mov [last], dx
    xor di, di                  ; the star's cell
.loop:
    mov ah, 0x01                ; a key?
    int 0x16
    jz .time
    xor ah, ah
    int 0x16
    cmp al, 'q'
    je .done
.time:
    xor ah, ah
    int 0x1A
    cmp dx, [last]
    je .loop
    mov [last], dx
    mov word [es:di], 0x0720    ; move the star
    add di, 2
    mov word [es:di], 0x0E2A
    mov ax, dx
    sub ax, [first]
    cmp ax, 18
    jb .loop
.done:
    mov ah, 0x02                ; cursor to row 2
    xor bh, bh
    mov dx, 0x0200
    int 0x10
    TTY moved
    mov ax, di
    shr ax, 1
    call tty_number
    TTY cells
    xor ah, ah
    int 0x1A
    mov [first], dx
    mov ah, 0x86                ; wait 220,000 us
    mov cx, 0x0003
    mov dx, 0x5B60
    int 0x15
    xor ah, ah
    int 0x1A
    sub dx, [first]
    cmp dx, 3
    jb .short
    TTY waited
    cli
    hlt
.short:
    TTY too_short
    cli
    hlt

TTY_PRINT_ROUTINE

first:     dw 0
last:      dw 0
moved:     db "moved ", 0
cells:     db " cells", 13, 10, 0
waited:    db "waited 220 ms", 13, 10, 0
too_short: db "the wait was too short", 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
