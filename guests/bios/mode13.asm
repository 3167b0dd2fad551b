; mode13.asm -- mode 13h through the BIOS: sets the mode, draws 16 colour bars (the first
; pixel of each with int 10h AH=0Ch, the rest straight into 0xA0000), writes "13h" with the
; teletype (drawn with the BIOS font), reads pixels back (AH=0Dh) and the mode (AH=0Fh), and
; reports on the debug console.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0x0013
    int 0x10
    mov ax, 0xA000
    mov es, ax
    xor bx, bx                  ; bar 0-15
.bar:
    mov ah, 0x0C                ; one pixel through the BIOS: x = 20 * bar, y = 100
    mov al, bl
    add al, 32                  ; colours 32-47: the first hue wheel
    mov cx, bx
    imul cx, cx, 20
    mov dx, 100
    push bx
    int 0x10
    pop bx
    mov di, 120 * 320           ; the rest of the bar, rows 120-199, by hand
    mov cx, bx
    imul cx, cx, 20
    add di, cx
    mov al, bl
    add al, 32
    mov dx, 80
.row:
    mov cx, 20
    push di
    rep stosb
    pop di
    add di, 320
    dec dx
    jnz .row
    inc bx
    cmp bx, 16
    jb .bar
    mov si, label               ; "13h" in colour 15 at the top left
.text:
    lodsb
    test al, al
    jz .check
    mov ah, 0x0E
    mov bx, 0x000F
    int 0x10
    jmp .text
.check:
    mov ah, 0x0D                ; read back bar 5's BIOS pixel
    mov cx, 100
    mov dx, 100
    int 0x10
    cmp al, 37
    jne .bad
    cmp byte [es:150 * 320 + 300], 32 + 15
    jne .bad
    mov ah, 0x0F
    int 0x10
    cmp al, 0x13
    jne .bad
    PRINT good
    cli
    hlt
.bad:
    PRINT bad
    cli
    hlt

DEBUGCON_PRINT_ROUTINE

label: db "13h", 0
good:  db "mode 13h drawn", 10, 0
bad:   db "mode 13h is wrong", 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
