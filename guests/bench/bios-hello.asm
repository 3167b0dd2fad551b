; bios-hello.asm -- a BIOS boot sector to its first screen: prints a line with int 10h
; AH=0Eh, then leaves through isa-debug-exit (so that QEMU ends too; status 1).
[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov si, hello
.print:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    xor bx, bx
    int 0x10
    jmp .print
.done:
    xor al, al
    out 0xF4, al
    cli
    hlt

hello: db "Hello from a BIOS boot sector", 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
