; cga.asm -- the CGA graphics modes through the BIOS: mode 04h (320x200, 4 colours) with
; palette 0 chosen by int 10h AH=0Bh BH=1, a background colour by BH=0, three bars of
; colours 1-3 drawn with AH=0Ch, a line of colour 3 XORed over them (colour bit 7), and text
; through the teletype; reads a pixel back with AH=0Dh and reports "pixel 02 mode 04" on the
; debug console, then exits with 0x10
; (a machine restored from a snapshot taken then halts).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov al, [mode]
    xor ah, ah
    int 0x10
    mov ah, 0x0B                ; palette 0: green, red, brown
    mov bx, 0x0100
    int 0x10
    mov ah, 0x0B                ; background: blue
    mov bx, 0x0001
    int 0x10
    ; Bars of colours 1, 2, 3: 40 pixels wide, rows 40-99, from x = 40.
    mov dx, 40
.row:
    mov cx, 40
.pixel:
    mov ax, cx
    sub ax, 40
    push dx
    xor dx, dx
    mov bx, 40
    div bx                      ; AX = bar
    pop dx
    inc al                      ; colour 1-3
    mov ah, 0x0C
    xor bh, bh
    int 0x10
    inc cx
    cmp cx, 160
    jb .pixel
    inc dx
    cmp dx, 100
    jb .row
    ; A line of colour 3 XORed across the bars at row 70.
    mov cx, 40
.xor:
    mov ax, 0x0C83
    mov dx, 70
    int 0x10
    inc cx
    cmp cx, 160
    jb .xor
    mov ah, 0x0D                ; bar 1 (colour 2) XOR 3 = 1; bar 1 off the line: 2
    mov cx, 100
    mov dx, 50
    int 0x10
    mov [pixel], al
    mov si, text
.text:
    lodsb
    test al, al
    jz .report
    mov ah, 0x0E
    mov bx, 0x0003
    int 0x10
    jmp .text
.report:
    mov si, pixel_label
    call puts
    mov al, [pixel]
    call hex
    mov si, mode_label
    call puts
    mov ah, 0x0F
    int 0x10
    call hex
    mov al, 10
    out DEBUGCON_PORT, al
    EXIT 0x10
    cli                         ; a snapshot taken at the exit goes on here
    hlt

hex:
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

pixel       db 0
text        db "CGA", 13, 10, "mode 4", 0
pixel_label db "pixel ", 0
mode_label  db " mode ", 0

    times 509 - ($ - $$) db 0
mode        db 0x04             ; the mode to set
    dw 0xAA55
