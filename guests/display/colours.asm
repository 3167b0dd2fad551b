; colours.asm -- every text attribute once: a 16x16 table of cells, background by row and
; foreground by column (blink bit off: the BIOS sets bright backgrounds with int 10h
; AX=1003h BL=0), each cell showing its attribute in hex, and a title; then halts.
; For the display's golden screenshot.
[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ax, 0x1003              ; attribute bit 7: bright background, not blink
    xor bl, bl
    int 0x10
    mov ax, 0xB800
    mov es, ax
    mov si, title
    xor di, di
.title:
    lodsb
    test al, al
    jz .table
    mov ah, 0x0F
    stosw
    jmp .title
.table:
    xor bx, bx                  ; BL = attribute 0..255
.cell:
    ; row 2 + attr / 16, column 8 + 4 * (attr % 16)
    mov al, bl
    shr al, 4
    add al, 2
    mov cl, 80
    mul cl
    mov di, ax
    mov al, bl
    and al, 0x0F
    shl al, 2
    add al, 8
    xor ah, ah
    add di, ax
    shl di, 1
    mov ah, bl                  ; the attribute
    mov al, ' '
    stosw
    mov al, bl
    shr al, 4
    call hex
    stosw
    mov al, bl
    and al, 0x0F
    call hex
    stosw
    mov al, ' '
    stosw
    inc bl
    jnz .cell
    cli
    hlt

; AL = nibble -> AL = its hex digit
hex:
    add al, '0'
    cmp al, '9'
    jbe .done
    add al, 7
.done:
    ret

title: db "picovmm: the 256 text attributes (background by row, foreground by column)", 0

times 510 - ($ - $$) db 0
dw 0xAA55
