; tutorial.asm -- the boot sector every OS tutorial starts with: print a string with int 10h
; AH=0Eh, wait for a key with int 16h, print it, and hang in `jmp $` (picovmm's --timeout, or a
; key, ends it: this one halts after the key so tests need no time limit).
[BITS 16]
[ORG 0x7C00]

start:
    mov si, hello
.print:
    lodsb
    or al, al
    jz .wait
    mov ah, 0x0E
    int 0x10
    jmp .print
.wait:
    mov ah, 0x00
    int 0x16
    mov ah, 0x0E
    int 0x10
    cli
    hlt

hello: db "Hello, World! Press a key: ", 0

times 510 - ($ - $$) db 0
dw 0xAA55
