; palette.asm -- mode 13h's 256 default colours as a 16x16 grid of 20x12 tiles, a title drawn
; with the BIOS's teletype, then idles in `sti; hlt` until the run is ended (--timeout, the
; display's Ctrl-a x). For the live display's tests and its documentation.
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
    xor bx, bx                  ; colour 0..255
.tile:
    ; top-left: x = 20 * (colour % 16), y = 8 + 12 * (colour / 16)
    mov al, bl
    shr al, 4
    mov cl, 12
    mul cl
    add ax, 8
    mov cx, 320
    mul cx
    mov di, ax
    mov al, bl
    and al, 0x0F
    mov cl, 20
    mul cl
    add di, ax
    mov al, bl
    mov dx, 11                  ; 11 rows of 19 pixels: a 1-pixel gap between tiles
.row:
    mov cx, 19
    push di
    rep stosb
    pop di
    add di, 320
    dec dx
    jnz .row
    inc bl
    jnz .tile
    mov si, title
.text:
    lodsb
    test al, al
    jz .idle
    mov ah, 0x0E
    mov bx, 0x000F
    int 0x10
    jmp .text
.idle:
    sti
    hlt
    jmp .idle

title: db "picovmm: mode 13h's 256 colours", 0

times 510 - ($ - $$) db 0
dw 0xAA55
