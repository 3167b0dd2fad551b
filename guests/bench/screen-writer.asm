; screen-writer.asm -- rewrites the whole 80x25 text screen 500 times, each time with another
; character and colour, then leaves through isa-debug-exit (status 1): the guest's speed with
; and without the live display watching.
[BITS 16]
[ORG 0x7C00]

FRAMES equ 500

start:
    mov ax, 0xB800
    mov es, ax
    mov bp, FRAMES
.frame:
    xor di, di
    mov ax, bp
    and ax, 0x0F3F
    add ax, 0x0121              ; a printable character, a colour
    mov cx, 80 * 25
    rep stosw
    dec bp
    jnz .frame
    xor al, al
    out 0xF4, al
    cli
    hlt

times 510 - ($ - $$) db 0
dw 0xAA55
