; teletype-loop.asm -- 4,000 int 10h AH=0Eh calls (50 screens of 80 characters, scrolling),
; then isa-debug-exit (status 1): the cost of one BIOS teletype call.
[BITS 16]
[ORG 0x7C00]

CALLS equ 4000

start:
    mov cx, CALLS
.next:
    mov ax, 0x0E00 + '#'
    xor bx, bx
    int 0x10
    loop .next
    xor al, al
    out 0xF4, al
    cli
    hlt

times 510 - ($ - $$) db 0
dw 0xAA55
